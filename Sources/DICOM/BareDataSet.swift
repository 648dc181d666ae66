/// Data sets without a Part 10 header: the identifiers of DIMSE queries and the answers to them.
extension DataSet {
    /// Parses a data set encoded in `syntax` with no preamble or meta group, as DIMSE carries it. Throws
    /// `DICOMError` for anything malformed; never traps on hostile input.
    public static func parse(
        _ bytes: some Collection<UInt8>, transferSyntax syntax: TransferSyntax, options: DICOMParseOptions = .default
    ) throws(DICOMError) -> DataSet {
        let input = Array(bytes)
        return try DICOMFile.guarded {
            var body = input
            if syntax.isDeflated {
                let inflated = try Inflate.raw(input[...], maxOutput: options.maxInflatedSize)
                guard inflated.complete, !inflated.hitLimit else {
                    throw DICOMError(
                        code: DICOMError.inflateFailed, detail: "the deflated data set is cut short or too large",
                        offset: 0)
                }
                body = inflated.bytes
            }
            var parser = DatasetParser(bytes: body, options: options)
            let (dataset, _) = try parser.parseDataset(
                start: 0, end: body.count, encoding: syntax.encoding,
                characterSet: SpecificCharacterSet(terms: [], fallback: options.fallbackCharacterSet), depth: 0,
                topLevel: true)
            return dataset
        }
    }
}

extension DICOMWriter {
    /// Encodes `elements`, sorted by tag, as a bare data set in Implicit or Explicit VR Little Endian.
    public static func dataSet(_ elements: [Element], explicitVR: Bool) throws(DICOMError) -> [UInt8] {
        var out: [UInt8] = []
        for element in elements.sorted(by: { $0.tag < $1.tag }) {
            try encode(element, explicitVR: explicitVR, into: &out)
        }
        return out
    }
}

/// Text in a DICOM character set, for answers written in the set a query asked for.
public enum DICOMText {
    /// The defined terms of (0008,0005) the hub writes in, best first: UTF-8, then the Chinese national set.
    public static let writable = ["ISO_IR 192", "GB18030"]

    /// The first of `terms` (a query's (0008,0005)) that the hub writes, spelled as in `writable`; UTF-8 when none.
    public static func answerTerm(for terms: [String]) -> String {
        terms.lazy.compactMap { term in
            writable.first { SpecificCharacterSet.normalize($0) == SpecificCharacterSet.normalize(term) }
        }.first ?? writable[0]
    }

    /// `text` in the character set named by `term`; nil when the set cannot hold it.
    public static func encode(_ text: String, in term: String) -> [UInt8]? {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return Array(text.utf8) }
        guard let name = SpecificCharacterSet.iconvName(forTerm: term) else { return nil }
        if name == "UTF-8" { return Array(text.utf8) }
        return Iconv.convert(Array(text.utf8), from: "UTF-8", to: name, strict: true)
    }
}

extension DICOMFile {
    /// The file meta group of a Part 10 file read from its first bytes (a few kilobytes hold it), and the offset
    /// where the data set starts: what sending a stored file over DIMSE needs, without reading the rest.
    public static func meta(
        _ prefix: some Collection<UInt8>, options: DICOMParseOptions = .default
    ) throws(DICOMError) -> (meta: DataSet, dataSetOffset: Int) {
        let input = Array(prefix)
        return try guarded { try FileMetaReader.read(input, options: options) }
    }
}
