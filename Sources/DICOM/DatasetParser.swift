/// Reads data elements, sequences and encapsulated pixel data from a buffer.
///
/// Recursion is bounded by `options.maxDepth`; every length is validated
/// against the enclosing bound before use, so nothing is allocated or
/// skipped on the strength of a declared length alone.
struct DatasetParser {
    let bytes: [UInt8]
    let options: DICOMParseOptions
    /// Header mode: stop at top-level pixel data without reading its value.
    let stopAtPixelData: Bool
    private(set) var pixelDataHeader: PixelDataHeader?

    init(bytes: [UInt8], options: DICOMParseOptions, stopAtPixelData: Bool = false) {
        self.bytes = bytes
        self.options = options
        self.stopAtPixelData = stopAtPixelData
    }

    static let undefinedLength: UInt32 = 0xFFFF_FFFF

    /// Parses elements from `start` until `end`, or until an item
    /// delimitation item when `untilItemDelimiter` is set. Returns the
    /// dataset and the position just after what was consumed.
    mutating func parseDataset(
        start: Int, end: Int, encoding: Encoding,
        characterSet inherited: SpecificCharacterSet,
        depth: Int, untilItemDelimiter: Bool = false,
        topLevel: Bool = false
    ) throws -> (DataSet, Int) {
        var cursor = ByteCursor(bytes: bytes, position: start, end: end)
        var elements: [DataElement] = []
        var characterSet = inherited
        var pixelRepresentation = 0
        let little = encoding.littleEndian
        while true {
            if cursor.isAtEnd {
                if untilItemDelimiter {
                    throw DICOMError.truncated("an undefined-length item (no item delimiter)", at: cursor.position)
                }
                break
            }
            let headerOffset = cursor.position
            let tag = try cursor.readTag(littleEndian: little)
            if tag.group == 0xFFFE {
                _ = try cursor.readUInt32(littleEndian: little, "a delimiter length")
                if tag == .itemDelimitation && untilItemDelimiter { break }
                throw DICOMError(
                    code: DICOMError.malformedSequence,
                    detail: "unexpected \(tag) inside a dataset", offset: headerOffset)
            }
            var (vr, rawLength) = try readHeader(tag: tag, cursor: &cursor, encoding: encoding)
            vr = DatasetParser.refineVR(
                vr, tag: tag, encoding: encoding, rawLength: rawLength,
                pixelRepresentation: pixelRepresentation)
            if topLevel && stopAtPixelData && tag.isPixelData {
                pixelDataHeader = PixelDataHeader(
                    tag: tag, vr: vr, headerOffset: headerOffset, valueOffset: cursor.position,
                    length: rawLength == DatasetParser.undefinedLength ? nil : Int(rawLength))
                break
            }
            let element = try readValue(
                tag: tag, vr: vr, rawLength: rawLength, headerOffset: headerOffset,
                cursor: &cursor, encoding: encoding,
                characterSet: characterSet, depth: depth)
            if tag == .specificCharacterSet, let value = bytes.slice(element.valueRange) {
                characterSet = SpecificCharacterSet(encodedValue: value, fallback: options.fallbackCharacterSet)
            }
            if tag == .pixelRepresentation, element.vr == .US, element.length >= 2 {
                pixelRepresentation = Int(
                    ByteCursor.uint16(bytes, at: element.valueRange.lowerBound, littleEndian: little))
            }
            elements.append(element)
        }
        let dataset = DataSet(elements: elements, encoding: encoding, characterSet: characterSet, buffer: bytes)
        return (dataset, cursor.position)
    }

    /// Reads the VR (explicit, or from the dictionary) and the raw length.
    private func readHeader(tag: DICOMTag, cursor: inout ByteCursor, encoding: Encoding) throws -> (VR, UInt32) {
        let little = encoding.littleEndian
        guard encoding.explicitVR else {
            let length = try cursor.readUInt32(littleEndian: little, "the length of \(tag)")
            return (ImplicitVRDictionary.vr(for: tag), length)
        }
        let vrOffset = cursor.position
        let b0 = try cursor.readUInt8("the VR of \(tag)")
        let b1 = try cursor.readUInt8("the VR of \(tag)")
        guard let vr = VR(byte0: b0, byte1: b1) else {
            throw DICOMError(
                code: DICOMError.badVR,
                detail: "invalid VR bytes 0x\(hex2(b0))\(hex2(b1)) for \(tag)", offset: vrOffset)
        }
        if vr.hasLongLength {
            try cursor.skip(2, "the reserved bytes of \(tag)")
            return (vr, try cursor.readUInt32(littleEndian: little, "the length of \(tag)"))
        }
        return (vr, UInt32(try cursor.readUInt16(littleEndian: little, "the length of \(tag)")))
    }

    private mutating func readValue(
        tag: DICOMTag, vr: VR, rawLength: UInt32, headerOffset: Int,
        cursor: inout ByteCursor, encoding: Encoding,
        characterSet: SpecificCharacterSet, depth: Int
    ) throws -> DataElement {
        let valueStart = cursor.position
        if rawLength == DatasetParser.undefinedLength {
            let isFragmented = (vr == .OB || vr == .OW) || (!encoding.explicitVR && tag.isPixelData)
            if isFragmented {
                let (fragments, endPos) = try parseFragments(
                    start: valueStart, end: cursor.end,
                    littleEndian: encoding.littleEndian, tag: tag)
                cursor.position = endPos
                return DataElement(
                    tag: tag, vr: vr, headerOffset: headerOffset, valueRange: valueStart..<endPos,
                    hasUndefinedLength: true, fragments: fragments)
            }
            guard vr == .SQ || vr == .UN || !encoding.explicitVR else {
                throw DICOMError(
                    code: DICOMError.malformedSequence,
                    detail: "undefined length is not allowed for \(tag) with VR \(vr.rawValue)",
                    offset: headerOffset)
            }
            // PS3.5 6.2.2: an undefined-length UN holds a sequence in Implicit VR Little Endian.
            let itemEncoding = (vr == .UN && encoding.explicitVR) ? Encoding.implicitLittle : encoding
            let (items, endPos) = try parseSequence(
                start: valueStart, definedEnd: nil, limit: cursor.end,
                encoding: itemEncoding, characterSet: characterSet,
                depth: depth + 1, tag: tag)
            cursor.position = endPos
            return DataElement(
                tag: tag, vr: vr == .UN ? .SQ : vr, headerOffset: headerOffset,
                valueRange: valueStart..<endPos, hasUndefinedLength: true, items: items)
        }
        let length = try checkedLength(rawLength, tag: tag, at: headerOffset, available: cursor.remaining)
        let valueEnd = valueStart + length
        cursor.position = valueEnd
        if vr == .UN && encoding.explicitVR && !tag.isPrivate && ImplicitVRDictionary.vr(for: tag) == .SQ {
            // A known sequence re-encoded as UN (e.g. by an anonymiser) is a
            // sequence in Implicit VR LE. If it does not parse as one, keep it opaque.
            var probe = self
            if let (items, _) = try? probe.parseSequence(
                start: valueStart, definedEnd: valueEnd, limit: valueEnd,
                encoding: .implicitLittle, characterSet: characterSet,
                depth: depth + 1, tag: tag)
            {
                return DataElement(
                    tag: tag, vr: .SQ, headerOffset: headerOffset,
                    valueRange: valueStart..<valueEnd, items: items)
            }
        }
        if vr == .SQ {
            let (items, _) = try parseSequence(
                start: valueStart, definedEnd: valueEnd, limit: valueEnd,
                encoding: encoding, characterSet: characterSet,
                depth: depth + 1, tag: tag)
            return DataElement(
                tag: tag, vr: vr, headerOffset: headerOffset,
                valueRange: valueStart..<valueEnd, items: items)
        }
        return DataElement(tag: tag, vr: vr, headerOffset: headerOffset, valueRange: valueStart..<valueEnd)
    }

    /// Tags whose VR is "US or SS" depending on Pixel Representation (PS3.6).
    static let pixelValueTags: Set<UInt32> = [
        0x0028_0104, 0x0028_0105, 0x0028_0106, 0x0028_0107, 0x0028_0108, 0x0028_0109,
        0x0028_0110, 0x0028_0111, 0x0028_0120, 0x0028_0121, 0x0018_9810, 0x0022_1452, 0x0028_0071,
    ]

    /// Resolves VRs the stream does not state reliably: implicit "US or SS"
    /// pixel values, and public elements that an explicit writer labelled UN
    /// although the dictionary knows them (values of UN are little endian,
    /// so this is only done for little endian datasets).
    static func refineVR(
        _ vr: VR, tag: DICOMTag, encoding: Encoding, rawLength: UInt32,
        pixelRepresentation: Int
    ) -> VR {
        var vr = vr
        var fromDictionary = !encoding.explicitVR
        if vr == .UN && encoding.explicitVR && encoding.littleEndian && !tag.isPrivate && rawLength != undefinedLength {
            let known = ImplicitVRDictionary.vr(for: tag)
            if known != .SQ { vr = known; fromDictionary = true }
        }
        if fromDictionary && vr == .US && pixelRepresentation == 1 && pixelValueTags.contains(tag.value) {
            return .SS
        }
        return vr
    }

    /// Validates a defined length: first against the sanity cap (so the
    /// error says "absurd" rather than "past end"), then against the input.
    func checkedLength(_ raw: UInt32, tag: DICOMTag, at offset: Int, available: Int) throws -> Int {
        // Int(exactly:) rather than Int(_:) so a 32-bit platform refuses instead of trapping.
        guard let length = Int(exactly: raw), length <= options.maxValueLength else {
            throw DICOMError(
                code: DICOMError.absurdLength,
                detail: "\(tag) declares length \(raw), above the limit \(options.maxValueLength)",
                offset: offset)
        }
        if length > available {
            throw DICOMError(
                code: DICOMError.lengthPastEnd,
                detail: "\(tag) declares length \(length) but only \(available) bytes remain",
                offset: offset)
        }
        return length
    }

    /// Reads sequence items until `definedEnd`, or until a sequence
    /// delimitation item when the sequence has undefined length.
    private mutating func parseSequence(
        start: Int, definedEnd: Int?, limit: Int, encoding: Encoding,
        characterSet: SpecificCharacterSet, depth: Int,
        tag: DICOMTag
    ) throws -> ([DataSet], Int) {
        if depth > options.maxDepth {
            throw DICOMError(
                code: DICOMError.malformedSequence,
                detail: "sequences nested deeper than \(options.maxDepth) at \(tag)", offset: start)
        }
        var cursor = ByteCursor(bytes: bytes, position: start, end: definedEnd ?? limit)
        var items: [DataSet] = []
        let little = encoding.littleEndian
        while true {
            if cursor.isAtEnd {
                if definedEnd != nil { break }
                throw DICOMError.truncated("sequence \(tag) (no sequence delimiter)", at: cursor.position)
            }
            let itemOffset = cursor.position
            let itemTag = try cursor.readTag(littleEndian: little)
            let rawLength = try cursor.readUInt32(littleEndian: little, "an item length in \(tag)")
            if itemTag == .sequenceDelimitation && definedEnd == nil { break }
            guard itemTag == .item else {
                throw DICOMError(
                    code: DICOMError.malformedSequence,
                    detail: "expected an item in sequence \(tag), found \(itemTag)", offset: itemOffset)
            }
            if rawLength == DatasetParser.undefinedLength {
                let (item, endPos) = try parseDataset(
                    start: cursor.position, end: cursor.end, encoding: encoding,
                    characterSet: characterSet, depth: depth,
                    untilItemDelimiter: true)
                items.append(item)
                cursor.position = endPos
            } else {
                let length = try checkedLength(rawLength, tag: itemTag, at: itemOffset, available: cursor.remaining)
                let itemEnd = cursor.position + length
                let (item, _) = try parseDataset(
                    start: cursor.position, end: itemEnd, encoding: encoding,
                    characterSet: characterSet, depth: depth)
                items.append(item)
                cursor.position = itemEnd
            }
        }
        return (items, cursor.position)
    }

    /// Encapsulated pixel data (PS3.5 A.4): items holding the Basic Offset
    /// Table and compressed fragments, ended by a sequence delimiter. The
    /// fragments are recorded, never decoded, and never scanned for
    /// delimiter bytes (compressed data may contain them).
    private func parseFragments(
        start: Int, end: Int, littleEndian: Bool,
        tag: DICOMTag
    ) throws -> ([Range<Int>], Int) {
        var cursor = ByteCursor(bytes: bytes, position: start, end: end)
        var fragments: [Range<Int>] = []
        while true {
            let itemOffset = cursor.position
            let itemTag = try cursor.readTag(littleEndian: littleEndian)
            let rawLength = try cursor.readUInt32(littleEndian: littleEndian, "a fragment length in \(tag)")
            if itemTag == .sequenceDelimitation { break }
            guard itemTag == .item, rawLength != DatasetParser.undefinedLength else {
                throw DICOMError(
                    code: DICOMError.malformedSequence,
                    detail: "expected a defined-length fragment item in \(tag), found \(itemTag)",
                    offset: itemOffset)
            }
            let length = try checkedLength(rawLength, tag: itemTag, at: itemOffset, available: cursor.remaining)
            fragments.append(cursor.position..<(cursor.position + length))
            cursor.position += length
        }
        return (fragments, cursor.position)
    }
}
