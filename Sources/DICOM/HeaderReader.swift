#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension DICOMFile {
    /// Reads just enough of the file at `path` to parse everything before the
    /// top-level pixel data, so multi-gigabyte files can be checked in small
    /// memory. Pixel data is never loaded; its extent is measured on disk
    /// (for encapsulated data by walking the 8-byte item headers).
    ///
    /// Reading starts with 64 KiB and grows geometrically while the header is
    /// incomplete, up to `maxBytes` (then `header_too_large`). `bytesRead` on
    /// the result says how much was read.
    public static func parseHeader(
        fileAt path: String, maxBytes: Int = 64 << 20,
        options: DICOMParseOptions = .default
    ) throws(DICOMError) -> DICOMFile {
        let file = try ReadOnlyFile(path: path)
        defer { file.close() }
        let fileSize = file.size
        var buffer: [UInt8] = []
        var want = min(64 << 10, fileSize, max(maxBytes, 0))
        while true {
            try file.fill(&buffer, upTo: want)
            var state = ParseState()
            state.inputIsComplete = buffer.count >= fileSize
            state.inflateLimit = maxBytes
            var failure: DICOMError? = nil
            do {
                let parsed = try guarded { try parseCore(buffer, options: options, headerMode: true, state: &state) }
                // Without pixel data in sight, a prefix may end between elements.
                if state.pixelDataHeader != nil || state.bodyIsComplete {
                    return try finish(parsed, state: state, file: file)
                }
            } catch let error {
                let recoverable = error.code == DICOMError.truncated || error.code == DICOMError.lengthPastEnd
                guard recoverable && !state.bodyIsComplete else { throw error }
                failure = error
            }
            if state.inputIsComplete {
                throw failure ?? DICOMError.truncated("the dataset", at: buffer.count)
            }
            if buffer.count >= maxBytes || state.inflateHitLimit {
                throw DICOMError(
                    code: DICOMError.headerTooLarge,
                    detail: "no complete header within the first \(maxBytes) bytes of \(path)",
                    offset: buffer.count)
            }
            want = min(max(buffer.count * 4, 64 << 10), maxBytes, fileSize)
        }
    }

    /// Fills in the on-disk pixel data range that a header parse cannot see.
    private static func finish(
        _ parsed: DICOMFile, state: ParseState,
        file: ReadOnlyFile
    ) throws(DICOMError) -> DICOMFile {
        guard let header = state.pixelDataHeader, !parsed.transferSyntax.isDeflated else {
            return parsed.with(summary: parsed.summary, bytesRead: file.bytesRead)
        }
        var summary = parsed.summary
        let end: Int
        if let length = header.length {
            end = header.valueOffset + length
            if end > file.size {
                throw DICOMError(
                    code: DICOMError.lengthPastEnd,
                    detail: "\(header.tag) declares \(length) bytes but the file ends at \(file.size)",
                    offset: header.headerOffset)
            }
        } else {
            end = try scanFragments(
                file, from: header.valueOffset,
                littleEndian: parsed.dataset.encoding.littleEndian)
        }
        summary.pixelDataRange = header.valueOffset..<end
        return parsed.with(summary: summary, bytesRead: file.bytesRead)
    }

    /// Walks encapsulated items on disk, reading only their 8-byte headers.
    private static func scanFragments(
        _ file: ReadOnlyFile, from start: Int,
        littleEndian: Bool
    ) throws(DICOMError) -> Int {
        var position = start
        while true {
            let header = try file.read(at: position, count: 8)
            guard header.count == 8 else { throw DICOMError.truncated("encapsulated pixel data", at: position) }
            let tag = DICOMTag(
                ByteCursor.uint16(header, at: 0, littleEndian: littleEndian),
                ByteCursor.uint16(header, at: 2, littleEndian: littleEndian))
            let raw = ByteCursor.uint32(header, at: 4, littleEndian: littleEndian)
            position += 8
            if tag == .sequenceDelimitation { return position }
            guard tag == .item, raw != DatasetParser.undefinedLength else {
                throw DICOMError(
                    code: DICOMError.malformedSequence,
                    detail: "expected a fragment item, found \(tag)", offset: position - 8)
            }
            let length = Int(raw)
            if length > file.size - position {
                throw DICOMError(
                    code: DICOMError.lengthPastEnd,
                    detail: "fragment of \(length) bytes runs past the end of the file",
                    offset: position - 8)
            }
            position += length
        }
    }
}

/// A file descriptor opened for reading with `pread`, counting what it reads.
final class ReadOnlyFile {
    private let fd: Int32
    let size: Int
    private(set) var bytesRead = 0

    init(path: String) throws(DICOMError) {
        fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw DICOMError(code: DICOMError.ioError, detail: "cannot open \(path): errno \(errno)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let err = errno
            closeDescriptor(fd)
            throw DICOMError(code: DICOMError.ioError, detail: "cannot stat \(path): errno \(err)")
        }
        size = Int(info.st_size)
    }

    func close() { closeDescriptor(fd) }

    /// Extends `buffer` (a prefix of the file) to `count` bytes or EOF.
    func fill(_ buffer: inout [UInt8], upTo count: Int) throws(DICOMError) {
        guard count > buffer.count else { return }
        let more = try read(at: buffer.count, count: count - buffer.count)
        buffer.append(contentsOf: more)
    }

    func read(at offset: Int, count: Int) throws(DICOMError) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = result.withUnsafeMutableBytes { buf in
                pread(fd, buf.baseAddress! + done, count - done, off_t(offset + done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw DICOMError(code: DICOMError.ioError, detail: "read failed: errno \(errno)", offset: offset + done)
            }
            if n == 0 { break }
            done += n
        }
        bytesRead += done
        result.removeSubrange(done...)
        return result
    }
}

private func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
        _ = Glibc.close(fd)
    #elseif canImport(Musl)
        _ = Musl.close(fd)
    #elseif canImport(Darwin)
        _ = Darwin.close(fd)
    #endif
}

extension DICOMFile {
    /// For a Deflated Explicit VR Little Endian instance, inflates its whole dataset as a stream, 64 KiB at a time
    /// and keeping none of it, and throws `inflated_too_large` as soon as it passes `limit` bytes (a deflate bomb:
    /// a few megabytes that inflate to gigabytes). Returns the inflated size, or nil for another transfer syntax.
    @discardableResult
    public static func checkInflatedSize(
        _ bytes: [UInt8], limit: Int, options: DICOMParseOptions = .default
    ) throws(DICOMError) -> Int? {
        try guarded {
            guard let start = try deflatedDatasetStart(bytes, options: options) else { return nil }
            var done = false
            let (size, complete) = try Inflate.size(limit: limit) {
                defer { done = true }
                return done ? [] : bytes[start...]
            }
            if !complete { throw DICOMError.truncated("the deflate stream", at: bytes.count) }
            return size
        }
    }

    /// `checkInflatedSize` for a file, read 1 MiB at a time.
    @discardableResult
    public static func checkInflatedSize(
        fileAt path: String, limit: Int, options: DICOMParseOptions = .default
    ) throws(DICOMError) -> Int? {
        let file = try ReadOnlyFile(path: path)
        defer { file.close() }
        return try guarded {
            // The meta group comes first and is small; a file whose meta group does not fit is refused as usual.
            let head = try file.read(at: 0, count: min(file.size, 1 << 20))
            guard let start = try deflatedDatasetStart(head, options: options) else { return nil }
            var position = start
            let (size, complete) = try Inflate.size(limit: limit) {
                let chunk = try file.read(at: position, count: min(1 << 20, max(file.size - position, 0)))
                position += chunk.count
                return chunk[...]
            }
            if !complete { throw DICOMError.truncated("the deflate stream", at: file.size) }
            return size
        }
    }

    /// Where the deflated dataset starts, or nil when the transfer syntax is not deflated.
    private static func deflatedDatasetStart(_ bytes: [UInt8], options: DICOMParseOptions) throws -> Int? {
        let (meta, metaEnd) = try FileMetaReader.read(bytes, options: options)
        guard let uid = meta.bytes(.transferSyntaxUID),
            let syntax = TransferSyntax(uid: String(decoding: uid, as: UTF8.self)), syntax.isDeflated
        else { return nil }
        return metaEnd
    }
}
