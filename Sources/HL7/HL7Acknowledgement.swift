/// An HL7 v2 error code of table 0357 ("Message error condition codes"), as sent in ERR-3.
public enum HL7ErrorCode: Int, Sendable, Hashable, CaseIterable {
    /// 0: Message accepted.
    case messageAccepted = 0
    /// 100: Segment sequence error.
    case segmentSequenceError = 100
    /// 101: Required field missing.
    case requiredFieldMissing = 101
    /// 102: Data type error.
    case dataTypeError = 102
    /// 103: Table value not found.
    case tableValueNotFound = 103
    /// 200: Unsupported message type.
    case unsupportedMessageType = 200
    /// 201: Unsupported event code.
    case unsupportedEventCode = 201
    /// 202: Unsupported processing id.
    case unsupportedProcessingID = 202
    /// 203: Unsupported version id.
    case unsupportedVersionID = 203
    /// 204: Unknown key identifier.
    case unknownKeyIdentifier = 204
    /// 205: Duplicate key identifier.
    case duplicateKeyIdentifier = 205
    /// 206: Application record locked.
    case applicationRecordLocked = 206
    /// 207: Application internal error.
    case applicationInternalError = 207

    /// The code as sent, e.g. `101`.
    public var code: String { String(rawValue) }

    /// The table's description of the code, e.g. `Required field missing`.
    public var text: String {
        switch self {
        case .messageAccepted: return "Message accepted"
        case .segmentSequenceError: return "Segment sequence error"
        case .requiredFieldMissing: return "Required field missing"
        case .dataTypeError: return "Data type error"
        case .tableValueNotFound: return "Table value not found"
        case .unsupportedMessageType: return "Unsupported message type"
        case .unsupportedEventCode: return "Unsupported event code"
        case .unsupportedProcessingID: return "Unsupported processing id"
        case .unsupportedVersionID: return "Unsupported version id"
        case .unknownKeyIdentifier: return "Unknown key identifier"
        case .duplicateKeyIdentifier: return "Duplicate key identifier"
        case .applicationRecordLocked: return "Application record locked"
        case .applicationInternalError: return "Application internal error"
        }
    }

    /// The name of the coding system, `HL70357`.
    public static let codingSystem = "HL70357"
}

/// How severe an error reported in ERR-4 is (table 0516).
public enum HL7ErrorSeverity: String, Sendable, Hashable, CaseIterable {
    /// `E`: the message, or part of it, was not processed.
    case error = "E"
    /// `W`: processed, with a warning.
    case warning = "W"
    /// `I`: information only.
    case information = "I"
}

/// Where in a message an error is: the ERL data type of ERR-2, numbered from 1 as in the standard.
public struct HL7ErrorLocation: Sendable, Hashable {
    /// The ID of the segment, e.g. `PID`.
    public var segmentID: String
    /// Which occurrence of that segment in the message, from 1.
    public var segmentSequence: Int
    /// The field number, when the error is in a field.
    public var field: Int?
    /// The repetition of the field, from 1, when known.
    public var fieldRepetition: Int?
    /// The component number, when the error is in a component.
    public var component: Int?
    /// The subcomponent number, when the error is in a subcomponent.
    public var subcomponent: Int?

    /// A location from its parts; leave out the finer parts for an error in a whole segment or field.
    public init(
        segmentID: String, segmentSequence: Int = 1, field: Int? = nil, fieldRepetition: Int? = nil,
        component: Int? = nil, subcomponent: Int? = nil
    ) {
        self.segmentID = segmentID
        self.segmentSequence = segmentSequence
        self.field = field
        self.fieldRepetition = fieldRepetition
        self.component = component
        self.subcomponent = subcomponent
    }

    /// ERR-2: `segment^sequence^field^repetition^component^subcomponent`.
    var erl: HL7Field {
        let numbers = [segmentSequence, field, fieldRepetition, component, subcomponent].map {
            $0.map(String.init) ?? ""
        }
        return HL7Field(components: [segmentID] + numbers)
    }
}

/// One error (or warning, or note) an acknowledgement reports in an ERR segment.
public struct HL7ErrorReport: Sendable, Hashable {
    /// The HL7 error code (ERR-3).
    public var code: HL7ErrorCode
    /// The severity (ERR-4).
    public var severity: HL7ErrorSeverity
    /// Where the error is (ERR-2), when it concerns a particular place.
    public var location: HL7ErrorLocation?
    /// A text for the sender's users (ERR-8), e.g. `PID-3: no identifier the hub accepts`.
    public var userMessage: String?
    /// Technical details for the sender's support staff (ERR-7).
    public var diagnosticInformation: String?

    /// A report from its parts.
    public init(
        code: HL7ErrorCode, severity: HL7ErrorSeverity = .error, location: HL7ErrorLocation? = nil,
        userMessage: String? = nil, diagnosticInformation: String? = nil
    ) {
        self.code = code
        self.severity = severity
        self.location = location
        self.userMessage = userMessage
        self.diagnosticInformation = diagnosticInformation
    }

    /// The ERR segment. ERR-1 (the ELD of v2.3 and v2.4, kept in v2.5 for backward compatibility only) is filled
    /// when `legacy`: `segment^sequence^field^code&text&HL70357`.
    func segment(legacy: Bool) -> HL7Segment {
        var err = HL7Segment(id: "ERR")
        let codeComponents = [code.code, code.text, HL7ErrorCode.codingSystem]
        if legacy {
            let place = [
                location?.segmentID, location.map { String($0.segmentSequence) }, location?.field.map(String.init),
            ]
            let components = place.map { HL7Component($0 ?? "") } + [HL7Component(subcomponents: codeComponents)]
            err[1] = HL7Field(repetitions: [HL7Repetition(components: components)])
        }
        if let location { err[2] = location.erl }
        err[3] = HL7Field(components: codeComponents)
        err[4] = HL7Field(severity.rawValue)
        if let diagnosticInformation { err[7] = HL7Field(diagnosticInformation) }
        if let userMessage { err[8] = HL7Field(userMessage) }
        return err
    }
}

/// An acknowledgement (ACK) answering an incoming message, in original acknowledgement mode.
///
/// The message it builds has:
/// - MSH with the incoming message's delimiters; MSH-3/4 the hub's application and facility; MSH-5/6 the incoming
///   MSH-3/4 whole; MSH-7 `timestamp`; MSH-9 `ACK^<incoming event>^ACK`; MSH-10 `controlID`; MSH-11 and MSH-12 the
///   incoming ones whole (empty when the incoming message had none); MSH-18 the incoming MSH-18 when it names a
///   supported set, else empty (the ACK is then UTF-8).
/// - MSA: MSA-1 the code, MSA-2 the incoming MSH-10, MSA-3 `text`.
/// - One ERR per error in the v2.5 form (ERR-2 location, ERR-3 code, ERR-4 severity, ERR-7 diagnostics, ERR-8 user
///   message). For an incoming version below 2.5 (2.3, 2.3.1, 2.4) ERR-1 is filled as well, in the ELD form those
///   versions define; receivers of those versions ignore the later fields. ERR-1 is left empty otherwise,
///   including when the version is unknown.
///
/// The clock is never read: the caller gives the time.
public struct HL7Acknowledgement: Sendable, Hashable {
    /// An acknowledgement code (table 0008), MSA-1.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// `AA`: application accept.
        case accept = "AA"
        /// `AE`: application error.
        case error = "AE"
        /// `AR`: application reject.
        case reject = "AR"
        /// `CA`: commit accept (enhanced mode).
        case commitAccept = "CA"
        /// `CE`: commit error (enhanced mode).
        case commitError = "CE"
        /// `CR`: commit reject (enhanced mode).
        case commitReject = "CR"
    }

    /// The header of the message answered.
    public var incoming: HL7MessageHeader
    /// The acknowledgement code, MSA-1.
    public var code: Code
    /// The text message, MSA-3.
    public var text: String?
    /// The hub's application, MSH-3.
    public var application: HL7Field
    /// The hub's facility, MSH-4.
    public var facility: HL7Field
    /// The acknowledgement's own control ID, MSH-10.
    public var controlID: String
    /// The time of the acknowledgement, MSH-7.
    public var timestamp: HL7DateTime
    /// The errors reported, one ERR segment each.
    public var errors: [HL7ErrorReport]

    /// An acknowledgement of the message whose header is `incoming`.
    public init(
        responding incoming: HL7MessageHeader, code: Code, text: String? = nil, application: HL7Field,
        facility: HL7Field, controlID: String, timestamp: HL7DateTime, errors: [HL7ErrorReport] = []
    ) {
        self.incoming = incoming
        self.code = code
        self.text = text
        self.application = application
        self.facility = facility
        self.controlID = controlID
        self.timestamp = timestamp
        self.errors = errors
    }

    /// An acknowledgement of `message`.
    public init(
        responding message: HL7Message, code: Code, text: String? = nil, application: HL7Field, facility: HL7Field,
        controlID: String, timestamp: HL7DateTime, errors: [HL7ErrorReport] = []
    ) {
        self.init(
            responding: HL7MessageHeader(message), code: code, text: text, application: application,
            facility: facility, controlID: controlID, timestamp: timestamp, errors: errors)
    }

    /// The acknowledgement message.
    public var message: HL7Message {
        var msh = HL7Segment(id: "MSH")
        msh[3] = application
        msh[4] = facility
        msh[5] = incoming.sendingApplication
        msh[6] = incoming.sendingFacility
        msh[7] = HL7Field(timestamp.format())
        msh[9] = HL7Field(components: ["ACK", incoming.event ?? "", "ACK"])
        msh[10] = HL7Field(controlID)
        msh[11] = incoming.processingID
        msh[12] = incoming.version
        if let declaration = incoming.characterSet, HL7CharacterSet(declaration: declaration) != nil {
            msh[18] = HL7Field(declaration)
        }
        var msa = HL7Segment(id: "MSA")
        msa[1] = HL7Field(code.rawValue)
        msa[2] = HL7Field(incoming.controlID ?? "")
        msa[3] = HL7Field(text ?? "")
        let legacy = Self.isBefore25(incoming.versionID)
        let segments = [msh, msa] + errors.map { $0.segment(legacy: legacy) }
        return HL7Message(segments: segments, encodingCharacters: incoming.encodingCharacters)
    }

    /// The acknowledgement's bytes, in the incoming message's character set (see `HL7Message.encoded()`). Throws
    /// `.unrepresentableText` when a text given holds characters that set cannot represent (non-ASCII text for an
    /// ASCII sender).
    public func encoded() throws(HL7EncodeError) -> [UInt8] {
        try message.encoded()
    }

    /// Whether a version ID such as `2.3.1` is a version before 2.5; false when it cannot be read.
    static func isBefore25(_ version: String?) -> Bool {
        guard let version else { return false }
        let parts = version.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count >= 2, let major = parts[0], let minor = parts[1] else { return false }
        return major < 2 || (major == 2 && minor < 5)
    }
}
