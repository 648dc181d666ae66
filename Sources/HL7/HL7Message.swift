/// An HL7 v2 message (v2.3.1 to v2.5.1 and compatible later versions): its segments in order and its delimiters.
///
/// Obtain one from bytes with `parse(_:)`, or build one with `HL7Builder` (or this type's initializer) and turn it
/// into bytes with `encoded()`.
public struct HL7Message: Sendable, Hashable {
    /// The segments in the order of the message; the first is the MSH of a parsed message.
    public var segments: [HL7Segment]
    /// The delimiters the message was read with, and is written with.
    public var encodingCharacters: HL7EncodingCharacters

    /// A message of the given segments. When the first is an MSH, its fields 1 and 2 are set to the delimiters.
    public init(segments: [HL7Segment], encodingCharacters: HL7EncodingCharacters = .standard) {
        self.segments = segments
        self.encodingCharacters = encodingCharacters
        if var header = segments.first, header.id == "MSH" {
            header[1] = HL7Field(String(encodingCharacters.field))
            header[2] = HL7Field(encodingCharacters.encodingCharactersText)
            self.segments[0] = header
        }
    }

    /// The segments with the given ID, in message order.
    public func segments(named id: String) -> [HL7Segment] {
        segments.filter { $0.id == id }
    }

    /// The `occurrence`-th (1-based) segment with the given ID, or nil when there are fewer.
    public func segment(named id: String, occurrence: Int = 1) -> HL7Segment? {
        guard occurrence >= 1 else { return nil }
        var seen = 0
        for segment in segments where segment.id == id {
            seen += 1
            if seen == occurrence { return segment }
        }
        return nil
    }

    /// The message header (MSH), the first segment; nil only for a built message that does not start with one.
    public var header: HL7Segment? {
        guard let first = segments.first, first.id == "MSH" else { return nil }
        return first
    }

    /// The message code, MSH-9.1, e.g. `ORU`.
    public var type: String? { header?.value(9, component: 1) }
    /// The trigger event, MSH-9.2, e.g. `R01`.
    public var event: String? { header?.value(9, component: 2) }
    /// The message structure, MSH-9.3, e.g. `ORU_R01` (absent before v2.3.1 and often in practice).
    public var structure: String? { header?.value(9, component: 3) }
    /// The message control ID, MSH-10, which an acknowledgement quotes in MSA-2.
    public var controlID: String? { header?.value(10) }
    /// The processing ID, MSH-11.1: `P` production, `D` debugging, `T` training.
    public var processingID: String? { header?.value(11) }
    /// The version ID, MSH-12.1, e.g. `2.5.1`.
    public var version: String? { header?.value(12) }
    /// The sending application, MSH-3.1 (the namespace ID).
    public var sendingApplication: String? { header?.value(3) }
    /// The sending facility, MSH-4.1 (the namespace ID).
    public var sendingFacility: String? { header?.value(4) }
    /// The receiving application, MSH-5.1 (the namespace ID).
    public var receivingApplication: String? { header?.value(5) }
    /// The receiving facility, MSH-6.1 (the namespace ID).
    public var receivingFacility: String? { header?.value(6) }

    /// The character set MSH-18 declares (its first repetition), or nil when MSH-18 is empty or names a set this
    /// module does not know (which `parse(_:)` refuses).
    public var declaredCharset: HL7CharacterSet? {
        header?.value(18).flatMap(HL7CharacterSet.init(declaration:))
    }

    /// The character set of the message's text: the one MSH-18 declares, UTF-8 when MSH-18 is empty.
    public var charset: HL7CharacterSet { declaredCharset ?? .utf8 }
}
