/// A DIMSE command set (PS3.7 section 9.3 and 10.3): the group 0000 elements that say what a message asks or answers,
/// always encoded in Implicit VR Little Endian.
public struct Command: Sendable, Equatable {
    /// (0000,0100) Command Field.
    public enum Field: UInt16, Sendable {
        case cStoreRequest = 0x0001
        case cStoreResponse = 0x8001
        case cGetRequest = 0x0010
        case cGetResponse = 0x8010
        case cFindRequest = 0x0020
        case cFindResponse = 0x8020
        case cMoveRequest = 0x0021
        case cMoveResponse = 0x8021
        case cEchoRequest = 0x0030
        case cEchoResponse = 0x8030
        case nEventReportRequest = 0x0100
        case nEventReportResponse = 0x8100
        case nGetRequest = 0x0110
        case nGetResponse = 0x8110
        case nSetRequest = 0x0120
        case nSetResponse = 0x8120
        case nActionRequest = 0x0130
        case nActionResponse = 0x8130
        case nCreateRequest = 0x0140
        case nCreateResponse = 0x8140
        case nDeleteRequest = 0x0150
        case nDeleteResponse = 0x8150
        case cCancelRequest = 0x0FFF

        public var isRequest: Bool { rawValue & 0x8000 == 0 }

        /// The response field of a request (C-FIND-RSP for C-FIND-RQ, ...); nil for C-CANCEL-RQ, which has none.
        public var response: Field? { isRequest ? Field(rawValue: rawValue | 0x8000) : nil }
    }

    /// (0000,0800) value meaning no data set follows.
    static let noDataSet: UInt16 = 0x0101

    public var field: Field
    /// (0000,0110) Message ID, on requests.
    public var messageID: UInt16?
    /// (0000,0120) Message ID Being Responded To, on responses.
    public var respondingTo: UInt16?
    /// (0000,0002) Affected SOP Class UID.
    public var affectedSOPClassUID: String?
    /// (0000,1000) Affected SOP Instance UID.
    public var affectedSOPInstanceUID: String?
    /// (0000,0003) Requested SOP Class UID.
    public var requestedSOPClassUID: String?
    /// (0000,1001) Requested SOP Instance UID.
    public var requestedSOPInstanceUID: String?
    /// (0000,0700) Priority: 0 medium, 1 high, 2 low.
    public var priority: UInt16?
    /// Whether a data set follows ((0000,0800) other than 0101H).
    public var hasDataSet: Bool
    /// (0000,0900) Status, on responses.
    public var status: UInt16?
    /// (0000,0902) Error Comment.
    public var errorComment: String?
    /// (0000,0600) Move Destination.
    public var moveDestination: String?
    /// (0000,1030) Move Originator Application Entity Title.
    public var moveOriginatorAETitle: String?
    /// (0000,1031) Move Originator Message ID.
    public var moveOriginatorMessageID: UInt16?
    /// (0000,1002) Event Type ID.
    public var eventTypeID: UInt16?
    /// (0000,1008) Action Type ID.
    public var actionTypeID: UInt16?
    /// (0000,1020) to (0000,1023): remaining, completed, failed and warning sub-operations.
    public var remaining: UInt16?
    public var completed: UInt16?
    public var failed: UInt16?
    public var warning: UInt16?

    public init(
        field: Field, messageID: UInt16? = nil, respondingTo: UInt16? = nil, affectedSOPClassUID: String? = nil,
        affectedSOPInstanceUID: String? = nil, priority: UInt16? = nil, hasDataSet: Bool = false,
        status: UInt16? = nil
    ) {
        self.field = field
        self.messageID = messageID
        self.respondingTo = respondingTo
        self.affectedSOPClassUID = affectedSOPClassUID
        self.affectedSOPInstanceUID = affectedSOPInstanceUID
        self.priority = priority
        self.hasDataSet = hasDataSet
        self.status = status
    }

    /// The response to `request` with `status` (and why, for a failure), naming what it affected: the request's
    /// affected SOP class and instance, or the requested ones of an N-ACTION, N-GET, N-SET or N-DELETE, whose
    /// action type it echoes.
    public static func response(
        to request: Command, field: Field, status: UInt16, errorComment: String? = nil, hasDataSet: Bool = false
    ) -> Command {
        var response = Command(
            field: field, respondingTo: request.messageID,
            affectedSOPClassUID: request.affectedSOPClassUID ?? request.requestedSOPClassUID,
            affectedSOPInstanceUID: request.affectedSOPInstanceUID ?? request.requestedSOPInstanceUID,
            hasDataSet: hasDataSet, status: status)
        response.errorComment = errorComment
        response.actionTypeID = request.actionTypeID
        if field == .cFindResponse || field == .cMoveResponse || field == .cGetResponse {
            response.affectedSOPInstanceUID = nil
        }
        return response
    }

    // MARK: Encoding

    /// The command set's bytes, with its group length first.
    public func encoded() -> [UInt8] {
        var body = CommandWriter()
        body.uid(0x0002, affectedSOPClassUID)
        body.uid(0x0003, requestedSOPClassUID)
        body.us(0x0100, field.rawValue)
        body.us(0x0110, messageID)
        body.us(0x0120, respondingTo)
        body.text(0x0600, moveDestination, padding: 0x20)
        body.us(0x0700, priority)
        body.us(0x0800, hasDataSet ? 0x0000 : Self.noDataSet)
        body.us(0x0900, status)
        body.text(0x0902, errorComment.map { String($0.prefix(64)) }, padding: 0x20)
        body.uid(0x1000, affectedSOPInstanceUID)
        body.uid(0x1001, requestedSOPInstanceUID)
        body.us(0x1002, eventTypeID)
        body.us(0x1008, actionTypeID)
        body.us(0x1020, remaining)
        body.us(0x1021, completed)
        body.us(0x1022, failed)
        body.us(0x1023, warning)
        body.text(0x1030, moveOriginatorAETitle, padding: 0x20)
        body.us(0x1031, moveOriginatorMessageID)
        var out = CommandWriter()
        out.ul(0x0000, UInt32(body.out.count))
        return out.out + body.out
    }

    /// The command in `bytes`; elements it does not know are skipped.
    public static func decode(_ bytes: [UInt8]) throws(PDUError) -> Command {
        var fields: [UInt16: ArraySlice<UInt8>] = [:]
        var index = 0
        while index < bytes.count {
            guard bytes.count - index >= 8 else { throw PDUError.invalid("a command element cut short") }
            let group = UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8
            let element = UInt16(bytes[index + 2]) | UInt16(bytes[index + 3]) << 8
            let length = Int(
                UInt32(bytes[index + 4]) | UInt32(bytes[index + 5]) << 8 | UInt32(bytes[index + 6]) << 16
                    | UInt32(bytes[index + 7]) << 24)
            index += 8
            guard group == 0x0000 else {
                throw PDUError.invalid("a command element of group \(group), not 0000")
            }
            guard length <= bytes.count - index else {
                throw PDUError.invalid("command element (0000,\(element)) of \(length) bytes past the end")
            }
            fields[element] = bytes[index..<index + length]
            index += length
        }
        func us(_ element: UInt16) throws(PDUError) -> UInt16? {
            guard let value = fields[element] else { return nil }
            guard value.count == 2 else { throw PDUError.invalid("command element (0000,\(element)) is not US") }
            return UInt16(value[value.startIndex]) | UInt16(value[value.startIndex + 1]) << 8
        }
        func text(_ element: UInt16) -> String? {
            fields[element].map { AETitle.trimmed($0) }
        }
        guard let raw = try us(0x0100) else { throw PDUError.invalid("a command without its Command Field") }
        guard let field = Field(rawValue: raw) else {
            throw PDUError.invalid("Command Field \(raw) is not a DIMSE command")
        }
        var command = Command(field: field, hasDataSet: (try us(0x0800) ?? noDataSet) != noDataSet)
        command.messageID = try us(0x0110)
        command.respondingTo = try us(0x0120)
        command.affectedSOPClassUID = text(0x0002)
        command.requestedSOPClassUID = text(0x0003)
        command.moveDestination = text(0x0600)
        command.priority = try us(0x0700)
        command.status = try us(0x0900)
        command.errorComment = text(0x0902)
        command.affectedSOPInstanceUID = text(0x1000)
        command.requestedSOPInstanceUID = text(0x1001)
        command.eventTypeID = try us(0x1002)
        command.actionTypeID = try us(0x1008)
        command.remaining = try us(0x1020)
        command.completed = try us(0x1021)
        command.failed = try us(0x1022)
        command.warning = try us(0x1023)
        command.moveOriginatorAETitle = text(0x1030)
        command.moveOriginatorMessageID = try us(0x1031)
        return command
    }
}

/// Implicit VR Little Endian elements of group 0000.
struct CommandWriter {
    var out: [UInt8] = []

    private mutating func header(_ element: UInt16, length: Int) {
        out += [0, 0, UInt8(truncatingIfNeeded: element), UInt8(element >> 8)]
        let l = UInt32(length)
        out += [
            UInt8(truncatingIfNeeded: l), UInt8(truncatingIfNeeded: l >> 8), UInt8(truncatingIfNeeded: l >> 16),
            UInt8(truncatingIfNeeded: l >> 24),
        ]
    }

    mutating func us(_ element: UInt16, _ value: UInt16?) {
        guard let value else { return }
        header(element, length: 2)
        out += [UInt8(truncatingIfNeeded: value), UInt8(value >> 8)]
    }

    mutating func ul(_ element: UInt16, _ value: UInt32) {
        header(element, length: 4)
        out += [
            UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
            UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24),
        ]
    }

    /// A UID, NUL padded to even length.
    mutating func uid(_ element: UInt16, _ value: String?) { text(element, value, padding: 0) }

    mutating func text(_ element: UInt16, _ value: String?, padding: UInt8) {
        guard let value else { return }
        var bytes = Array(value.utf8)
        if bytes.count % 2 == 1 { bytes.append(padding) }
        header(element, length: bytes.count)
        out += bytes
    }
}

/// DIMSE status codes (PS3.7 Annex C, PS3.4 for each service).
public enum Status {
    public static let success: UInt16 = 0x0000
    public static let pending: UInt16 = 0xFF00
    public static let cancel: UInt16 = 0xFE00
    /// A processing failure (0110H).
    public static let processingFailure: UInt16 = 0x0110
    /// Duplicate SOP Instance (0111H).
    public static let duplicateInstance: UInt16 = 0x0111
    /// No Such SOP Class (0118H).
    public static let noSuchSOPClass: UInt16 = 0x0118
    /// SOP Class Not Supported (0122H).
    public static let sopClassNotSupported: UInt16 = 0x0122
    /// No Such SOP Instance (0112H).
    public static let noSuchSOPInstance: UInt16 = 0x0112
    /// Missing Attribute (0120H).
    public static let missingAttribute: UInt16 = 0x0120
    /// No Such Action Type (0123H).
    public static let noSuchAction: UInt16 = 0x0123
    /// Not Authorized (0124H).
    public static let notAuthorized: UInt16 = 0x0124
    /// Unrecognized Operation (0211H).
    public static let unrecognizedOperation: UInt16 = 0x0211
    /// C-STORE: Refused, Out of Resources (A700H).
    public static let outOfResources: UInt16 = 0xA700
    /// C-STORE: Error, Data Set Does Not Match SOP Class (A900H).
    public static let dataSetDoesNotMatchSOPClass: UInt16 = 0xA900
    /// C-STORE: Error, Cannot Understand (C000H); C-FIND, C-MOVE, C-GET: Unable to Process (C000H).
    public static let cannotUnderstand: UInt16 = 0xC000
    /// C-FIND, C-MOVE, C-GET: Identifier Does Not Match SOP Class (A900H).
    public static let identifierDoesNotMatchSOPClass: UInt16 = 0xA900
    /// C-MOVE, C-GET: Refused, Out of Resources, unable to perform sub-operations (A702H).
    public static let outOfResourcesForSubOperations: UInt16 = 0xA702
    /// C-MOVE: Refused, Move Destination Unknown (A801H).
    public static let moveDestinationUnknown: UInt16 = 0xA801
    /// C-MOVE, C-GET: Warning, sub-operations complete with one or more failures or warnings (B000H).
    public static let subOperationsFailed: UInt16 = 0xB000
}
