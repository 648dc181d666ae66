/// A parsed DICOM Part 10 file: file meta information, dataset and summary.
public struct DICOMFile: Sendable {
    /// The file meta information group (0002,xxxx), always Explicit VR LE.
    public let meta: DataSet
    /// The main dataset. Its `buffer` is the input itself, except for
    /// deflated transfer syntaxes where it is the inflated stream.
    public let dataset: DataSet
    /// The transfer syntax from (0002,0010).
    public let transferSyntax: TransferSyntax
    /// Key attributes extracted from `dataset`.
    public let summary: DICOMSummary
    /// Offset of the first dataset byte in the input (just after the meta group).
    public let datasetOffset: Int
    /// Bytes of input examined: the whole input for `parse`, the prefix that
    /// was actually read from disk for `parseHeader`.
    public let bytesRead: Int
    /// True when parsing stopped before the top-level pixel data, whose value
    /// is then not in `dataset` (see `summary.pixelDataRange`).
    public let isHeaderOnly: Bool

    /// Parses a complete Part 10 file held in memory. Accepts `[UInt8]`,
    /// `Data`, `UnsafeRawBufferPointer` or any other collection of bytes.
    ///
    /// Throws `DICOMError` for anything malformed; never traps on hostile input.
    public static func parse(
        _ bytes: some Collection<UInt8>,
        options: DICOMParseOptions = .default
    ) throws(DICOMError) -> DICOMFile {
        let input = Array(bytes)
        var state = ParseState()
        return try guarded { try parseCore(input, options: options, headerMode: false, state: &state) }
    }

    /// Like `parse`, but stops before the top-level pixel data (7FE0,0010)
    /// and does not require the pixel data value to be present.
    public static func parseHeader(
        _ bytes: some Collection<UInt8>,
        options: DICOMParseOptions = .default
    ) throws(DICOMError) -> DICOMFile {
        let input = Array(bytes)
        var state = ParseState()
        state.inputIsComplete = false
        return try guarded { try parseCore(input, options: options, headerMode: true, state: &state) }
    }

    /// Funnels everything into `DICOMError`; the parser itself throws only
    /// `DICOMError`, so the fallback is a safety net for the typed API.
    static func guarded<T>(_ body: () throws -> T) throws(DICOMError) -> T {
        do {
            return try body()
        } catch let error as DICOMError {
            throw error
        } catch {
            throw DICOMError(code: "internal", detail: "\(error)")
        }
    }

    /// Facts the header reader needs to decide whether reading more would help.
    struct ParseState {
        var inputIsComplete = true
        var bodyIsComplete = true
        var inflateHitLimit = false
        var pixelDataHeader: PixelDataHeader?
        var inflateLimit: Int?
    }

    static func parseCore(
        _ input: [UInt8], options: DICOMParseOptions, headerMode: Bool,
        state: inout ParseState
    ) throws -> DICOMFile {
        let (meta, metaEnd) = try FileMetaReader.read(input, options: options)
        guard let uidBytes = meta.bytes(.transferSyntaxUID) else {
            throw DICOMError(
                code: DICOMError.missingMeta, detail: "no Transfer Syntax UID (0002,0010) in the meta group",
                offset: 132)
        }
        let uid = String(decoding: uidBytes, as: UTF8.self)
        guard let syntax = TransferSyntax(uid: uid) else {
            throw DICOMError(
                code: DICOMError.unsupportedTransferSyntax,
                detail: "transfer syntax \(TransferSyntax.clean(uid)) is not supported", offset: metaEnd)
        }

        guard syntax.isDeflated else {
            state.bodyIsComplete = state.inputIsComplete
            return try parseBody(
                input, from: metaEnd, meta: meta, syntax: syntax, options: options, state: &state,
                headerMode: headerMode, datasetOffset: metaEnd, bytesRead: input.count)
        }
        let limit = state.inflateLimit.map { min($0, options.maxInflatedSize) } ?? options.maxInflatedSize
        guard headerMode else {
            let result = try Inflate.raw(input[metaEnd...], maxOutput: limit)
            if result.hitLimit {
                throw DICOMError(
                    code: DICOMError.inflateFailed,
                    detail: "inflated dataset exceeds \(limit) bytes", offset: metaEnd)
            }
            if !result.complete && state.inputIsComplete {
                throw DICOMError.truncated("the deflate stream", at: input.count)
            }
            state.bodyIsComplete = result.complete
            return try parseBody(
                result.bytes, from: 0, meta: meta, syntax: syntax, options: options, state: &state,
                headerMode: headerMode, datasetOffset: metaEnd, bytesRead: input.count)
        }
        // The header is read from a prefix of the inflated stream that grows until it holds the header: what lies
        // past it (the pixel data, say) is never inflated into memory.
        var keep = min(1 << 20, limit)
        while true {
            let result = try Inflate.raw(input[metaEnd...], maxOutput: keep)
            state.inflateHitLimit = result.hitLimit
            state.bodyIsComplete = result.complete
            let mayGrow = result.hitLimit && keep < limit
            do {
                let parsed = try parseBody(
                    result.bytes, from: 0, meta: meta, syntax: syntax, options: options, state: &state,
                    headerMode: headerMode, datasetOffset: metaEnd, bytesRead: input.count)
                if state.pixelDataHeader != nil || result.complete || !mayGrow { return parsed }
            } catch let error as DICOMError
                where mayGrow && (error.code == DICOMError.truncated || error.code == DICOMError.lengthPastEnd)
            {}
            keep = min(keep * 8, limit)
        }
    }

    static func parseBody(
        _ body: [UInt8], from bodyStart: Int, meta: DataSet, syntax: TransferSyntax, options: DICOMParseOptions,
        state: inout ParseState, headerMode: Bool, datasetOffset: Int, bytesRead: Int
    ) throws -> DICOMFile {
        var encoding = syntax.encoding
        if options.detectVRMismatch {
            encoding = EncodingSniffer.actualEncoding(body, at: bodyStart, declared: encoding)
        }
        let fallbackSet = SpecificCharacterSet(terms: [], fallback: options.fallbackCharacterSet)
        var parser = DatasetParser(bytes: body, options: options, stopAtPixelData: headerMode)
        let (dataset, _) = try parser.parseDataset(
            start: bodyStart, end: body.count, encoding: encoding,
            characterSet: fallbackSet, depth: 0, topLevel: true)
        state.pixelDataHeader = parser.pixelDataHeader

        var pixelRange: Range<Int>? = nil
        if !syntax.isDeflated {
            if let header = parser.pixelDataHeader, let length = header.length {
                pixelRange = header.valueOffset..<(header.valueOffset + length)
            } else if let element = dataset[.pixelData] {
                pixelRange = element.valueRange
            }
        }
        let summary = DICOMSummary(meta: meta, dataset: dataset, transferSyntax: syntax, pixelDataRange: pixelRange)
        return DICOMFile(
            meta: meta, dataset: dataset, transferSyntax: syntax, summary: summary,
            datasetOffset: datasetOffset, bytesRead: bytesRead,
            isHeaderOnly: parser.pixelDataHeader != nil)
    }

    /// A copy with the summary and read count replaced (used by the file
    /// header reader once it has measured the pixel data on disk).
    func with(summary: DICOMSummary, bytesRead: Int) -> DICOMFile {
        DICOMFile(
            meta: meta, dataset: dataset, transferSyntax: transferSyntax, summary: summary,
            datasetOffset: datasetOffset, bytesRead: bytesRead, isHeaderOnly: isHeaderOnly)
    }
}
