/// Why bytes are not a PDU, with the A-ABORT the upper layer answers it with.
public struct PDUError: Error, Sendable, Equatable, CustomStringConvertible {
    public var abort: Abort
    public var detail: String

    public init(_ abort: Abort, _ detail: String) {
        self.abort = abort
        self.detail = detail
    }

    public var description: String { detail }

    static func invalid(_ detail: String) -> PDUError { PDUError(.invalidParameter, detail) }
}

extension PDU {
    /// The PDU's bytes: its 6-byte header (type, reserved, big-endian length) and body.
    public func encoded() -> [UInt8] {
        var body = BigEndianWriter()
        switch self {
        case .associateRequest(let rq):
            body.associateHeader(called: rq.calledAETitle, calling: rq.callingAETitle)
            body.item(0x10, ascii: rq.applicationContext)
            for context in rq.presentationContexts {
                var item = BigEndianWriter()
                item.bytes([context.id, 0, 0, 0])
                item.item(0x30, ascii: context.abstractSyntax)
                for syntax in context.transferSyntaxes { item.item(0x40, ascii: syntax) }
                body.item(0x20, item.out)
            }
            body.item(0x50, rq.userInformation.encoded())
        case .associateAccept(let ac):
            body.associateHeader(called: ac.calledAETitle, calling: ac.callingAETitle)
            body.item(0x10, ascii: ac.applicationContext)
            for context in ac.presentationContexts {
                var item = BigEndianWriter()
                item.bytes([context.id, 0, context.result.rawValue, 0])
                item.item(0x40, ascii: context.transferSyntax)
                body.item(0x21, item.out)
            }
            body.item(0x50, ac.userInformation.encoded())
        case .associateReject(let rj):
            body.bytes([0, rj.result.rawValue, rj.reason.source, rj.reason.code])
        case .data(let values):
            for value in values {
                body.uint32(UInt32(value.bytes.count + 2))
                body.bytes([value.contextID, (value.isCommand ? 1 : 0) | (value.isLast ? 2 : 0)])
                body.bytes(value.bytes)
            }
        case .releaseRequest, .releaseResponse:
            body.bytes([0, 0, 0, 0])
        case .abort(let abort):
            body.bytes([0, 0, abort.source, abort.reason])
        }
        var out: [UInt8] = []
        out.reserveCapacity(body.out.count + 6)
        out.append(kind.rawValue)
        out.append(0)
        let length = UInt32(body.out.count)
        out += [
            UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8),
            UInt8(truncatingIfNeeded: length),
        ]
        out += body.out
        return out
    }

    /// The PDU of type `type` whose body (the bytes after the 6-byte header) is `body`.
    public static func decode(type: UInt8, body: ArraySlice<UInt8>) throws(PDUError) -> PDU {
        guard let kind = Kind(rawValue: type) else {
            throw PDUError(.unrecognizedPDU, "PDU type \(hex(type)) is not one of PS3.8's")
        }
        var r = BigEndianReader(body)
        switch kind {
        case .associateRequest, .associateAccept:
            let version = try r.uint16("protocol version")
            guard version & 1 == 1 else {
                throw PDUError.invalid("protocol version \(version) lacks version 1")
            }
            try r.skip(2, "reserved")
            let called = try r.aeTitle("called AE title")
            let calling = try r.aeTitle("calling AE title")
            try r.skip(32, "reserved")
            var applicationContext: String?
            var proposed: [ProposedContext] = []
            var accepted: [AcceptedContext] = []
            var user: UserInformation?
            while !r.isAtEnd {
                let (itemType, value) = try r.item16()
                var v = BigEndianReader(value)
                switch itemType {
                case 0x10:
                    applicationContext = try v.asciiRest()
                case 0x20 where kind == .associateRequest:
                    let id = try v.uint8("presentation context id")
                    try v.skip(3, "reserved")
                    var abstract: String?
                    var syntaxes: [String] = []
                    while !v.isAtEnd {
                        let (subType, subValue) = try v.item16()
                        var s = BigEndianReader(subValue)
                        switch subType {
                        case 0x30: abstract = try s.asciiRest()
                        case 0x40: syntaxes.append(try s.asciiRest())
                        default: throw PDUError.invalid("presentation context sub-item \(hex(subType))")
                        }
                    }
                    guard let abstract, !syntaxes.isEmpty else {
                        throw PDUError.invalid("presentation context \(id) lacks its abstract or transfer syntax")
                    }
                    proposed.append(ProposedContext(id: id, abstractSyntax: abstract, transferSyntaxes: syntaxes))
                case 0x21 where kind == .associateAccept:
                    let id = try v.uint8("presentation context id")
                    try v.skip(1, "reserved")
                    let resultByte = try v.uint8("result")
                    try v.skip(1, "reserved")
                    var syntax = ""
                    while !v.isAtEnd {
                        let (subType, subValue) = try v.item16()
                        var s = BigEndianReader(subValue)
                        if subType == 0x40 { syntax = try s.asciiRest() }
                    }
                    guard let result = AcceptedContext.Result(rawValue: resultByte) else {
                        throw PDUError.invalid("presentation context result \(resultByte)")
                    }
                    accepted.append(AcceptedContext(id: id, result: result, transferSyntax: syntax))
                case 0x50:
                    user = try UserInformation.decode(value)
                default:
                    throw PDUError.invalid("A-ASSOCIATE item type \(hex(itemType))")
                }
            }
            guard let applicationContext else { throw PDUError.invalid("no application context item") }
            guard let user else { throw PDUError.invalid("no user information item") }
            if kind == .associateRequest {
                return .associateRequest(
                    AssociateRequest(
                        calledAETitle: called, callingAETitle: calling, applicationContext: applicationContext,
                        presentationContexts: proposed, userInformation: user))
            }
            return .associateAccept(
                AssociateAccept(
                    calledAETitle: called, callingAETitle: calling, applicationContext: applicationContext,
                    presentationContexts: accepted, userInformation: user))
        case .associateReject:
            try r.skip(1, "reserved")
            let resultByte = try r.uint8("result")
            let source = try r.uint8("source")
            let code = try r.uint8("reason")
            guard let result = AssociateReject.Result(rawValue: resultByte) else {
                throw PDUError.invalid("A-ASSOCIATE-RJ result \(resultByte)")
            }
            let reason: AssociateReject.Reason
            switch source {
            case 1:
                reason = .serviceUser(AssociateReject.UserReason(rawValue: code) ?? .noReasonGiven)
            case 2: reason = .serviceProviderACSE(code)
            case 3: reason = .serviceProviderPresentation(code)
            default: throw PDUError.invalid("A-ASSOCIATE-RJ source \(source)")
            }
            return .associateReject(AssociateReject(result: result, reason: reason))
        case .data:
            var values: [PDV] = []
            while !r.isAtEnd {
                let length = Int(try r.uint32("PDV item length"))
                guard length >= 2, length <= r.remaining else {
                    throw PDUError.invalid("a PDV item of \(length) bytes in \(r.remaining) left")
                }
                let id = try r.uint8("presentation context id")
                let header = try r.uint8("message control header")
                guard header & 0xFC == 0 else {
                    throw PDUError.invalid("message control header \(hex(header))")
                }
                values.append(
                    PDV(
                        contextID: id, isCommand: header & 1 == 1, isLast: header & 2 == 2,
                        bytes: Array(try r.bytes(length - 2, "PDV value"))))
            }
            guard !values.isEmpty else { throw PDUError.invalid("a P-DATA-TF without a PDV") }
            return .data(values)
        case .releaseRequest:
            return .releaseRequest
        case .releaseResponse:
            return .releaseResponse
        case .abort:
            try r.skip(2, "reserved")
            return .abort(Abort(source: try r.uint8("source"), reason: try r.uint8("reason")))
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x" + String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}

extension UserInformation {
    func encoded() -> [UInt8] {
        var w = BigEndianWriter()
        var length = BigEndianWriter()
        length.uint32(maximumLength)
        w.item(0x51, length.out)
        w.item(0x52, ascii: implementationClassUID)
        if let window = asynchronousOperations {
            var value = BigEndianWriter()
            value.uint16(window.invoked)
            value.uint16(window.performed)
            w.item(0x53, value.out)
        }
        for role in roles {
            var value = BigEndianWriter()
            value.uint16(UInt16(role.sopClassUID.utf8.count))
            value.bytes(Array(role.sopClassUID.utf8))
            value.bytes([role.scu ? 1 : 0, role.scp ? 1 : 0])
            w.item(0x54, value.out)
        }
        if let name = implementationVersionName { w.item(0x55, ascii: name) }
        for item in other { w.item(item.type, item.value) }
        return w.out
    }

    static func decode(_ bytes: ArraySlice<UInt8>) throws(PDUError) -> UserInformation {
        var r = BigEndianReader(bytes)
        var maximum: UInt32?
        var classUID: String?
        var info = UserInformation(maximumLength: 0, implementationClassUID: "")
        while !r.isAtEnd {
            let (type, value) = try r.item16()
            var v = BigEndianReader(value)
            switch type {
            case 0x51: maximum = try v.uint32("maximum length")
            case 0x52: classUID = try v.asciiRest()
            case 0x53:
                info.asynchronousOperations = OperationsWindow(
                    invoked: try v.uint16("operations invoked"), performed: try v.uint16("operations performed"))
            case 0x54:
                let length = Int(try v.uint16("role UID length"))
                let uid = String(decoding: try v.bytes(length, "role UID"), as: UTF8.self)
                info.roles.append(
                    RoleSelection(
                        sopClassUID: uid, scu: try v.uint8("SCU role") == 1, scp: try v.uint8("SCP role") == 1))
            case 0x55: info.implementationVersionName = try v.asciiRest()
            default: info.other.append(UnknownItem(type: type, value: Array(value)))
            }
        }
        guard let maximum else { throw PDUError.invalid("no maximum length sub-item") }
        info.maximumLength = maximum
        info.implementationClassUID = classUID ?? ""
        return info
    }
}

/// Big-endian fields, as the upper layer writes them (DIMSE messages inside are little endian).
struct BigEndianWriter {
    var out: [UInt8] = []

    mutating func bytes(_ b: [UInt8]) { out += b }
    mutating func uint16(_ v: UInt16) { out += [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }
    mutating func uint32(_ v: UInt32) {
        out += [
            UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
            UInt8(truncatingIfNeeded: v),
        ]
    }

    /// An item or sub-item: type, reserved byte, 16-bit length, value.
    mutating func item(_ type: UInt8, _ value: [UInt8]) {
        out += [type, 0]
        uint16(UInt16(clamping: value.count))
        out += value.prefix(0xFFFF)
    }

    mutating func item(_ type: UInt8, ascii: String) { item(type, Array(ascii.utf8)) }

    /// Protocol version 1, reserved, the two AE titles (16 bytes each, space padded), 32 reserved bytes.
    mutating func associateHeader(called: String, calling: String) {
        uint16(1)
        out += [0, 0]
        out += AETitle.field(called)
        out += AETitle.field(calling)
        out += [UInt8](repeating: 0, count: 32)
    }
}

struct BigEndianReader {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var isAtEnd: Bool { index >= bytes.endIndex }
    var remaining: Int { bytes.endIndex - index }

    mutating func bytes(_ count: Int, _ what: String) throws(PDUError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw PDUError.invalid("\(what): \(count) bytes wanted, \(remaining) left")
        }
        defer { index += count }
        return bytes[index..<index + count]
    }

    mutating func skip(_ count: Int, _ what: String) throws(PDUError) { _ = try bytes(count, what) }

    mutating func uint8(_ what: String) throws(PDUError) -> UInt8 { try bytes(1, what).first! }

    mutating func uint16(_ what: String) throws(PDUError) -> UInt16 {
        let b = try bytes(2, what)
        return UInt16(b[b.startIndex]) << 8 | UInt16(b[b.startIndex + 1])
    }

    mutating func uint32(_ what: String) throws(PDUError) -> UInt32 {
        let b = try bytes(4, what)
        return b.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// An item with a 16-bit length: its type and value.
    mutating func item16() throws(PDUError) -> (UInt8, ArraySlice<UInt8>) {
        let type = try uint8("item type")
        try skip(1, "reserved")
        let length = Int(try uint16("item length"))
        return (type, try bytes(length, "item \(PDU.hex(type))"))
    }

    /// The rest as text: a UID or a name, with trailing NUL and space padding dropped.
    mutating func asciiRest() throws(PDUError) -> String {
        let rest = try bytes(remaining, "text")
        return AETitle.trimmed(rest)
    }

    mutating func aeTitle(_ what: String) throws(PDUError) -> String {
        AETitle.trimmed(try bytes(16, what))
    }
}

/// Application Entity titles in PDUs: 16-byte fields, space padded; leading and trailing spaces are not significant.
enum AETitle {
    /// The title as a 16-byte field, space padded.
    static func field(_ title: String) -> [UInt8] {
        let bytes = Array(title.utf8.prefix(16))
        return bytes + [UInt8](repeating: 0x20, count: 16 - bytes.count)
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        var slice = bytes
        while let last = slice.last, last == 0x20 || last == 0 { slice = slice.dropLast() }
        while let first = slice.first, first == 0x20 { slice = slice.dropFirst() }
        return String(decoding: slice, as: UTF8.self)
    }
}

/// Cuts a byte stream into PDUs: each starts with a 6-byte header whose length field says how many bytes follow.
public enum PDUFraming {
    public static let headerLength = 6

    /// The largest non-data PDU taken (an A-ASSOCIATE-RQ proposing every presentation context there can be is well
    /// under it).
    public static let maximumControlLength = 256 * 1024

    /// The PDU type and body length in the 6 header bytes at the start of `bytes`; a length past what this side takes
    /// (`maximumDataLength` for a P-DATA-TF, which it announced, `maximumControlLength` for the others) throws before
    /// any of the body is read.
    public static func header(
        _ bytes: some Collection<UInt8>, maximumDataLength: UInt32
    ) throws(PDUError) -> (type: UInt8, length: Int) {
        let b = Array(bytes.prefix(headerLength))
        guard b.count == headerLength else { throw PDUError.invalid("a PDU header cut short") }
        guard PDU.Kind(rawValue: b[0]) != nil else {
            throw PDUError(.unrecognizedPDU, "PDU type \(PDU.hex(b[0])) is not one of PS3.8's")
        }
        let length = Int(b[2...5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        let limit = b[0] == PDU.Kind.data.rawValue ? Int(maximumDataLength) : maximumControlLength
        guard length <= limit else {
            throw PDUError.invalid("a PDU of type \(PDU.hex(b[0])) of \(length) bytes, past the \(limit) taken")
        }
        return (b[0], length)
    }
}
