extension HL7Message {
    /// The message as bytes in the character set its MSH-18 declares (UTF-8 when MSH-18 is empty), segments each
    /// followed by `\r`, ready to be framed for MLLP.
    ///
    /// Every value is escaped (`|` as `\F\`, `^` as `\S\`, `&` as `\T\`, `~` as `\R\`, `\` as `\E\`, the truncation
    /// character as `\P\`, a line break as `\.br\`, other control characters but tab as `\Xhh\`), so text is never
    /// taken as structure. Trailing empty fields, repetitions, components and subcomponents are left out. MSH-1 and
    /// MSH-2 are written from `encodingCharacters`. Throws when the first segment is not MSH, a later one is,
    /// a segment ID is invalid, MSH-18 names an unknown set, or the text does not fit the declared set.
    public func encoded() throws(HL7EncodeError) -> [UInt8] {
        guard let header else { throw .missingHeader }
        var charset = HL7CharacterSet.utf8
        if let declaration = header.value(18) {
            guard let declared = HL7CharacterSet(declaration: declaration) else {
                throw .unknownCharacterSet(declaration)
            }
            charset = declared
        }
        guard let bytes = charset.encode(try utf8Text()) else { throw .unrepresentableText(charset) }
        return bytes
    }

    /// The message as text (segments each followed by `\r`), escaped as by `encoded()` but not converted to a
    /// character set; for logs and tests.
    public func text() throws(HL7EncodeError) -> String {
        String(decoding: try utf8Text(), as: UTF8.self)
    }

    private func utf8Text() throws(HL7EncodeError) -> [UInt8] {
        guard header != nil else { throw .missingHeader }
        let writer = HL7SegmentWriter(delimiters: encodingCharacters)
        var out: [UInt8] = []
        for (offset, segment) in segments.enumerated() {
            guard HL7Segment.isValidID(segment.id.utf8) else { throw .invalidSegmentID(segment.id) }
            if offset > 0, segment.id == "MSH" { throw .repeatedHeader(segment: offset + 1) }
            writer.write(segment, into: &out)
            out.append(0x0D)
        }
        return out
    }
}

/// Writes segments as escaped UTF-8 text with one message's delimiters.
struct HL7SegmentWriter {
    let delimiters: HL7EncodingCharacters
    let escaping: HL7Escaping

    init(delimiters: HL7EncodingCharacters) {
        self.delimiters = delimiters
        escaping = HL7Escaping(delimiters: delimiters, charset: .utf8)
    }

    /// Appends `segment` (without its terminator) to `out`.
    func write(_ segment: HL7Segment, into out: inout [UInt8]) {
        out.append(contentsOf: segment.id.utf8)
        var fields = segment.fields[...]
        if segment.id == "MSH" {
            out.append(delimiters.fieldByte)
            out.append(contentsOf: delimiters.encodingBytes)
            fields = fields.dropFirst(2)
        }
        // Each field is preceded by a separator; separators of trailing empty fields are never written.
        var pending = 0
        for field in fields {
            pending += 1
            if field.isEmpty { continue }
            out.append(contentsOf: repeatElement(delimiters.fieldByte, count: pending))
            pending = 0
            write(field, into: &out)
        }
    }

    private func write(_ field: HL7Field, into out: inout [UInt8]) {
        join(field.repetitions, delimiters.repetitionByte, into: &out, isEmpty: \.isEmpty) { repetition, out in
            join(repetition.components, delimiters.componentByte, into: &out, isEmpty: \.isEmpty) { component, out in
                join(component.subcomponents, delimiters.subcomponentByte, into: &out, isEmpty: \.isEmpty) {
                    text, out in escaping.escape(text, into: &out)
                }
            }
        }
    }

    /// Writes `items` separated by `separator`, leaving out trailing empty items.
    private func join<Item>(
        _ items: [Item], _ separator: UInt8, into out: inout [UInt8], isEmpty: (Item) -> Bool,
        write: (Item, inout [UInt8]) -> Void
    ) {
        var pending = 0
        for (offset, item) in items.enumerated() {
            if offset > 0 { pending += 1 }
            if isEmpty(item) { continue }
            out.append(contentsOf: repeatElement(separator, count: pending))
            pending = 0
            write(item, &out)
        }
    }
}

/// Builds an HL7 v2 message segment by segment.
///
/// ```swift
/// var builder = HL7Builder()
/// builder.append(HL7Segment(id: "MSH", fields: [3: "HUB", 9: HL7Field(components: ["ACK", "R01", "ACK"])]))
/// builder.append("MSA", "AA", "MSG00001")
/// let bytes = try builder.encoded()
/// ```
public struct HL7Builder: Sendable, Hashable {
    /// The delimiters the message is written with.
    public var encodingCharacters: HL7EncodingCharacters
    /// The segments appended so far.
    public var segments: [HL7Segment]

    /// An empty builder writing with the given delimiters.
    public init(encodingCharacters: HL7EncodingCharacters = .standard) {
        self.encodingCharacters = encodingCharacters
        segments = []
    }

    /// Appends a segment.
    public mutating func append(_ segment: HL7Segment) {
        segments.append(segment)
    }

    /// Appends a segment with the given ID and fields, the first being field 1. For MSH, give empty fields 1 and 2
    /// (they are written from the delimiters), or use `HL7Segment(id:fields:)` with field numbers.
    public mutating func append(_ id: String, _ fields: HL7Field...) {
        segments.append(HL7Segment(id: id, fields: fields))
    }

    /// The message built so far.
    public var message: HL7Message {
        HL7Message(segments: segments, encodingCharacters: encodingCharacters)
    }

    /// The message's bytes, as by `HL7Message.encoded()`.
    public func encoded() throws(HL7EncodeError) -> [UInt8] {
        try message.encoded()
    }
}
