/// The values of an incoming message's header (MSH) that an acknowledgement echoes.
///
/// Taken from a parsed message, or read with `scan(_:)` from bytes that could not be parsed as a whole, so that
/// even a refused message can be answered with its control ID.
public struct HL7MessageHeader: Sendable, Hashable {
    /// The incoming message's delimiters (MSH-1 and MSH-2), which the acknowledgement uses too.
    public var encodingCharacters: HL7EncodingCharacters
    /// MSH-3, the sending application, whole.
    public var sendingApplication: HL7Field
    /// MSH-4, the sending facility, whole.
    public var sendingFacility: HL7Field
    /// MSH-9, the message type, whole.
    public var messageType: HL7Field
    /// MSH-10, the message control ID.
    public var controlID: String?
    /// MSH-11, the processing ID, whole.
    public var processingID: HL7Field
    /// MSH-12, the version ID, whole.
    public var version: HL7Field
    /// MSH-18's first repetition as sent (e.g. `GB 18030`), or nil when empty.
    public var characterSet: String?

    /// A header from its values.
    public init(
        encodingCharacters: HL7EncodingCharacters = .standard, sendingApplication: HL7Field = HL7Field(),
        sendingFacility: HL7Field = HL7Field(), messageType: HL7Field = HL7Field(), controlID: String? = nil,
        processingID: HL7Field = HL7Field(), version: HL7Field = HL7Field(), characterSet: String? = nil
    ) {
        self.encodingCharacters = encodingCharacters
        self.sendingApplication = sendingApplication
        self.sendingFacility = sendingFacility
        self.messageType = messageType
        self.controlID = controlID
        self.processingID = processingID
        self.version = version
        self.characterSet = characterSet
    }

    /// The header of `message` (all values empty when it has no MSH).
    public init(_ message: HL7Message) {
        self.init(message.header ?? HL7Segment(id: "MSH"), encodingCharacters: message.encodingCharacters)
    }

    init(_ msh: HL7Segment, encodingCharacters: HL7EncodingCharacters) {
        self.init(
            encodingCharacters: encodingCharacters, sendingApplication: msh[3], sendingFacility: msh[4],
            messageType: msh[9], controlID: msh.value(10), processingID: msh[11], version: msh[12],
            characterSet: msh.value(18))
    }

    /// The trigger event, MSH-9.2.
    public var event: String? { messageType.value(component: 2) }
    /// The version ID, MSH-12.1.
    public var versionID: String? { version.value() }

    /// Reads only the first segment of `bytes`, for answering a message that `HL7Message.parse(_:)` refused; nil
    /// when not even the MSH delimiters can be read.
    ///
    /// The first segment is decoded in the character set MSH-18 declares; when that fails (or the set is unknown)
    /// it is read as UTF-8 with invalid bytes replaced, which is good enough to echo codes and the control ID.
    public static func scan(_ bytes: [UInt8]) -> HL7MessageHeader? {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < bytes.count, bytes[start] == 0x0D || bytes[start] == 0x0A { start += 1 }
        let body = bytes[start...]
        guard let delimiters = try? HL7EncodingCharacters.read(fromHeader: body) else { return nil }
        let line = body[..<(body.firstIndex { $0 == 0x0D || $0 == 0x0A } ?? body.endIndex)]
        let declaration = HL7Message.characterSetDeclaration(inFirstSegmentOf: line, delimiters)
        let charset = HL7CharacterSet(declaration: declaration) ?? .utf8
        let text = charset.decode(line) ?? Array(String(decoding: line, as: UTF8.self).utf8)
        let reader = HL7SegmentReader(delimiters: delimiters, charset: charset)
        guard let msh = try? reader.segment(text[...], number: 1) else { return nil }
        return HL7MessageHeader(msh, encodingCharacters: delimiters)
    }
}
