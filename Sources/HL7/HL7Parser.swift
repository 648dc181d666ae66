private let carriageReturn: UInt8 = 0x0D
private let lineFeed: UInt8 = 0x0A

extension HL7Message {
    /// Parses an HL7 v2 message from its bytes as received (without MLLP framing).
    ///
    /// - Segments may end in `\r`, `\n` or `\r\n`; blank lines, a trailing separator and a leading UTF-8 byte order
    ///   mark are ignored.
    /// - The delimiters are MSH-1 (the fourth byte) and MSH-2 (four characters, or five with the truncation
    ///   character of v2.7).
    /// - The character set is the first repetition of MSH-18 (`UNICODE UTF-8`/`UTF-8`, `GB 18030`/`GB18030`,
    ///   `ASCII`; empty means UTF-8). MSH-18 is found in the raw bytes of the first segment, which assumes that
    ///   MSH-3 to MSH-17 are ASCII, as they are codes in practice; the whole message is then decoded and only the
    ///   decoded text is split, because GB 18030 multi-byte characters may contain the bytes of `\ ^ | ~`. A message
    ///   whose decoded MSH-18 differs from the one read in bytes is refused.
    /// - Text that is not valid in its character set is refused, never replaced.
    ///
    /// Runs in time linear in the size of the input and never traps, whatever the bytes.
    public static func parse(_ bytes: [UInt8]) throws(HL7ParseError) -> HL7Message {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < bytes.count, bytes[start] == carriageReturn || bytes[start] == lineFeed { start += 1 }
        let body = bytes[start...]
        let delimiters = try HL7EncodingCharacters.read(fromHeader: body)
        let declaration = characterSetDeclaration(inFirstSegmentOf: body, delimiters)
        var charset = HL7CharacterSet.utf8
        if !declaration.isEmpty {
            guard let declared = HL7CharacterSet(declaration: declaration) else {
                throw .unknownCharacterSet(declaration)
            }
            charset = declared
        }
        guard let text = charset.decode(body) else { throw .invalidText(charset) }
        guard !text.contains(0x1B) else { throw .unsupportedCodeExtension }
        if charset == .gb18030, characterSetDeclaration(inFirstSegmentOf: text[...], delimiters) != declaration {
            throw .inconsistentHeader
        }
        let reader = HL7SegmentReader(delimiters: delimiters, charset: charset)
        let segments = try reader.segments(of: text)
        return HL7Message(segments: segments, encodingCharacters: delimiters)
    }

    /// The first repetition of MSH-18, trimmed of spaces, read from the bytes of the first segment.
    static func characterSetDeclaration(
        inFirstSegmentOf bytes: ArraySlice<UInt8>, _ delimiters: HL7EncodingCharacters
    ) -> String {
        let end = bytes.firstIndex { $0 == carriageReturn || $0 == lineFeed } ?? bytes.endIndex
        // The field separator after "MSH" precedes MSH-2; the 17th precedes MSH-18.
        var separators = 0
        var fieldStart: Int?
        var fieldEnd = end
        for index in bytes.startIndex..<end where bytes[index] == delimiters.fieldByte {
            separators += 1
            if separators == 17 {
                fieldStart = index + 1
            } else if separators == 18 {
                fieldEnd = index
                break
            }
        }
        guard let fieldStart else { return "" }
        var field = bytes[fieldStart..<fieldEnd]
        if let repetition = field.firstIndex(of: delimiters.repetitionByte) { field = field[..<repetition] }
        return String(decoding: field, as: UTF8.self).trimmingSpaces()
    }
}

extension String {
    /// The string without leading and trailing spaces.
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " }),
            let last = scalars.lastIndex(where: { $0 != " " })
        else { return "" }
        return String(scalars[first...last])
    }
}

/// Splits decoded message text (UTF-8) into segments, fields, repetitions, components and subcomponents.
///
/// All delimiters are ASCII and a UTF-8 multi-byte character never contains an ASCII byte, so the text can be split
/// byte by byte.
struct HL7SegmentReader {
    let delimiters: HL7EncodingCharacters
    let escaping: HL7Escaping

    init(delimiters: HL7EncodingCharacters, charset: HL7CharacterSet) {
        self.delimiters = delimiters
        escaping = HL7Escaping(delimiters: delimiters, charset: charset)
    }

    /// The segments of `text`, one per non-blank line; the first must be MSH and no other may be.
    func segments(of text: [UInt8]) throws(HL7ParseError) -> [HL7Segment] {
        var segments: [HL7Segment] = []
        var lineStart = 0
        while lineStart <= text.count {
            let lineEnd = text[lineStart...].firstIndex { $0 == carriageReturn || $0 == lineFeed } ?? text.count
            let line = text[lineStart..<lineEnd]
            lineStart = lineEnd + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            segments.append(try segment(line, number: segments.count + 1))
        }
        guard segments.first?.id == "MSH" else { throw .noMSH }
        return segments
    }

    /// One segment from its line; `number` is its 1-based position in the message.
    func segment(_ line: ArraySlice<UInt8>, number: Int) throws(HL7ParseError) -> HL7Segment {
        let parts = line.split(separator: delimiters.fieldByte, omittingEmptySubsequences: false)
        let idBytes = parts[0]
        guard HL7Segment.isValidID(idBytes) else {
            throw .invalidSegmentID(String(decoding: idBytes.prefix(16), as: UTF8.self), segment: number)
        }
        let id = String(decoding: idBytes, as: UTF8.self)
        var fields: [HL7Field] = []
        fields.reserveCapacity(parts.count)
        if id == "MSH" {
            guard number == 1 else { throw .repeatedMSH(segment: number) }
            fields.append(HL7Field(String(delimiters.field)))
            fields.append(HL7Field(parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""))
            for part in parts.dropFirst(2) { fields.append(field(part)) }
        } else {
            for part in parts.dropFirst() { fields.append(field(part)) }
        }
        return HL7Segment(id: id, fields: fields)
    }

    private func field(_ raw: ArraySlice<UInt8>) -> HL7Field {
        if raw.isEmpty { return HL7Field() }
        let parts = raw.split(separator: delimiters.repetitionByte, omittingEmptySubsequences: false)
        return HL7Field(repetitions: parts.map(repetition))
    }

    private func repetition(_ raw: ArraySlice<UInt8>) -> HL7Repetition {
        if raw.isEmpty { return HL7Repetition() }
        let parts = raw.split(separator: delimiters.componentByte, omittingEmptySubsequences: false)
        return HL7Repetition(components: parts.map(component))
    }

    private func component(_ raw: ArraySlice<UInt8>) -> HL7Component {
        if raw.isEmpty { return HL7Component() }
        let parts = raw.split(separator: delimiters.subcomponentByte, omittingEmptySubsequences: false)
        return HL7Component(subcomponents: parts.map(escaping.unescape))
    }
}
