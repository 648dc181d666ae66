/// Reads the 128-byte preamble, the "DICM" prefix and the file meta group.
enum FileMetaReader {
    static let preambleLength = 128
    static let magic: [UInt8] = Array("DICM".utf8)

    /// Returns the meta group and the offset of the first dataset byte.
    ///
    /// The meta group's extent is found by walking element headers while the
    /// group is 0002 rather than trusting (0002,0000): writers get that
    /// group length wrong often enough that readers commonly ignore it.
    static func read(_ input: [UInt8], options: DICOMParseOptions) throws -> (DataSet, Int) {
        let start = preambleLength + magic.count
        guard input.count >= start else {
            throw DICOMError(
                code: DICOMError.notDICOM,
                detail: "only \(input.count) bytes; a Part 10 file has a 128-byte preamble and \"DICM\"",
                offset: 0)
        }
        guard input[preambleLength..<start].elementsEqual(magic) else {
            throw DICOMError(
                code: DICOMError.notDICOM, detail: "no \"DICM\" prefix after the 128-byte preamble",
                offset: preambleLength)
        }
        var cursor = ByteCursor(bytes: input, position: start)
        var end = start
        let checker = DatasetParser(bytes: input, options: options)
        while cursor.remaining >= 2 {
            let group = ByteCursor.uint16(input, at: cursor.position, littleEndian: true)
            if group != 0x0002 { break }
            let headerOffset = cursor.position
            let tag = try cursor.readTag(littleEndian: true)
            let b0 = try cursor.readUInt8("the VR of \(tag)")
            let b1 = try cursor.readUInt8("the VR of \(tag)")
            guard let vr = VR(byte0: b0, byte1: b1) else {
                throw DICOMError(
                    code: DICOMError.badVR,
                    detail: "invalid VR bytes 0x\(hex2(b0))\(hex2(b1)) for meta element \(tag)",
                    offset: headerOffset + 4)
            }
            let raw: UInt32
            if vr.hasLongLength {
                try cursor.skip(2, "the reserved bytes of \(tag)")
                raw = try cursor.readUInt32(littleEndian: true, "the length of \(tag)")
            } else {
                raw = UInt32(try cursor.readUInt16(littleEndian: true, "the length of \(tag)"))
            }
            if raw == DatasetParser.undefinedLength {
                throw DICOMError(
                    code: DICOMError.malformedSequence,
                    detail: "undefined length in meta element \(tag)", offset: headerOffset)
            }
            let length = try checker.checkedLength(raw, tag: tag, at: headerOffset, available: cursor.remaining)
            cursor.position += length
            end = cursor.position
        }
        if end == start {
            if cursor.remaining < 2 { throw DICOMError.truncated("the file meta information", at: start) }
            throw DICOMError(
                code: DICOMError.missingMeta, detail: "no group 0002 elements after \"DICM\"",
                offset: start)
        }
        var parser = DatasetParser(bytes: input, options: options)
        let (meta, _) = try parser.parseDataset(
            start: start, end: end, encoding: .explicitLittle,
            characterSet: .default, depth: 0)
        return (meta, end)
    }
}
