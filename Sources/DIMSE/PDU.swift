/// The protocol data units of the DICOM upper layer (PS3.8 section 9.3), as values, with their encoding.
public enum PDU: Sendable, Equatable {
    case associateRequest(AssociateRequest)
    case associateAccept(AssociateAccept)
    case associateReject(AssociateReject)
    case data([PDV])
    case releaseRequest
    case releaseResponse
    case abort(Abort)

    /// The PDU type byte.
    public enum Kind: UInt8, Sendable {
        case associateRequest = 0x01
        case associateAccept = 0x02
        case associateReject = 0x03
        case data = 0x04
        case releaseRequest = 0x05
        case releaseResponse = 0x06
        case abort = 0x07
    }

    public var kind: Kind {
        switch self {
        case .associateRequest: .associateRequest
        case .associateAccept: .associateAccept
        case .associateReject: .associateReject
        case .data: .data
        case .releaseRequest: .releaseRequest
        case .releaseResponse: .releaseResponse
        case .abort: .abort
        }
    }
}

/// The DICOM Application Context Name, the only one there is (PS3.7 Annex A.2.1).
public let dicomApplicationContext = "1.2.840.10008.3.1.1.1"

/// An A-ASSOCIATE-RQ: who calls whom, and what they propose to do.
public struct AssociateRequest: Sendable, Equatable {
    public var calledAETitle: String
    public var callingAETitle: String
    public var applicationContext: String
    public var presentationContexts: [ProposedContext]
    public var userInformation: UserInformation

    public init(
        calledAETitle: String, callingAETitle: String, applicationContext: String = dicomApplicationContext,
        presentationContexts: [ProposedContext], userInformation: UserInformation
    ) {
        self.calledAETitle = calledAETitle
        self.callingAETitle = callingAETitle
        self.applicationContext = applicationContext
        self.presentationContexts = presentationContexts
        self.userInformation = userInformation
    }
}

/// A presentation context as proposed: an odd id, one abstract syntax (a SOP class), transfer syntaxes in the
/// requester's order of preference.
public struct ProposedContext: Sendable, Equatable {
    public var id: UInt8
    public var abstractSyntax: String
    public var transferSyntaxes: [String]

    public init(id: UInt8, abstractSyntax: String, transferSyntaxes: [String]) {
        self.id = id
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
    }
}

/// An A-ASSOCIATE-AC: the contexts accepted (each with one transfer syntax) or refused, and the acceptor's limits.
public struct AssociateAccept: Sendable, Equatable {
    public var calledAETitle: String
    public var callingAETitle: String
    public var applicationContext: String
    public var presentationContexts: [AcceptedContext]
    public var userInformation: UserInformation

    public init(
        calledAETitle: String, callingAETitle: String, applicationContext: String = dicomApplicationContext,
        presentationContexts: [AcceptedContext], userInformation: UserInformation
    ) {
        self.calledAETitle = calledAETitle
        self.callingAETitle = callingAETitle
        self.applicationContext = applicationContext
        self.presentationContexts = presentationContexts
        self.userInformation = userInformation
    }
}

/// The answer to one proposed presentation context.
public struct AcceptedContext: Sendable, Equatable {
    /// PS3.8 Table 9-18.
    public enum Result: UInt8, Sendable {
        case acceptance = 0
        case userRejection = 1
        case noReason = 2
        case abstractSyntaxNotSupported = 3
        case transferSyntaxesNotSupported = 4
    }

    public var id: UInt8
    public var result: Result
    /// The transfer syntax chosen; for a refused context, the field is still sent and ignored.
    public var transferSyntax: String

    public init(id: UInt8, result: Result, transferSyntax: String) {
        self.id = id
        self.result = result
        self.transferSyntax = transferSyntax
    }
}

/// The user information item (PS3.7 Annex D.3.3): limits and the implementation's name.
public struct UserInformation: Sendable, Equatable {
    /// The largest P-DATA-TF PDU the sender of this item can receive (the length field's value); 0 means no limit.
    public var maximumLength: UInt32
    public var implementationClassUID: String
    public var implementationVersionName: String?
    /// Operations the sender may invoke and perform at once (PS3.7 D.3.3.3); nil when not negotiated (one each).
    public var asynchronousOperations: OperationsWindow?
    /// SCP/SCU role selections, by SOP class UID.
    public var roles: [RoleSelection]
    /// Sub-items this implementation does not interpret, kept as received (type and value).
    public var other: [UnknownItem]

    public init(
        maximumLength: UInt32, implementationClassUID: String, implementationVersionName: String? = nil,
        asynchronousOperations: OperationsWindow? = nil, roles: [RoleSelection] = [],
        other: [UnknownItem] = []
    ) {
        self.maximumLength = maximumLength
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
        self.asynchronousOperations = asynchronousOperations
        self.roles = roles
        self.other = other
    }
}

/// The asynchronous operations window sub-item (PS3.7 D.3.3.3).
public struct OperationsWindow: Sendable, Equatable {
    public var invoked: UInt16
    public var performed: UInt16

    public init(invoked: UInt16, performed: UInt16) {
        self.invoked = invoked
        self.performed = performed
    }
}

/// An SCP/SCU role selection sub-item (PS3.7 D.3.3.4).
public struct RoleSelection: Sendable, Equatable {
    public var sopClassUID: String
    public var scu: Bool
    public var scp: Bool

    public init(sopClassUID: String, scu: Bool, scp: Bool) {
        self.sopClassUID = sopClassUID
        self.scu = scu
        self.scp = scp
    }
}

/// A sub-item kept as received.
public struct UnknownItem: Sendable, Equatable {
    public var type: UInt8
    public var value: [UInt8]

    public init(type: UInt8, value: [UInt8]) {
        self.type = type
        self.value = value
    }
}

/// An A-ASSOCIATE-RJ (PS3.8 Table 9-21).
public struct AssociateReject: Sendable, Equatable {
    public enum Result: UInt8, Sendable {
        case permanent = 1
        case transient = 2
    }

    /// Who rejects, and why, as the standard numbers them.
    public enum Reason: Sendable, Equatable {
        case serviceUser(UserReason)
        /// ACSE related: 1 no reason given, 2 protocol version not supported.
        case serviceProviderACSE(UInt8)
        /// Presentation related: 1 temporary congestion, 2 local limit exceeded.
        case serviceProviderPresentation(UInt8)

        public var source: UInt8 {
            switch self {
            case .serviceUser: 1
            case .serviceProviderACSE: 2
            case .serviceProviderPresentation: 3
            }
        }

        public var code: UInt8 {
            switch self {
            case .serviceUser(let reason): reason.rawValue
            case .serviceProviderACSE(let code), .serviceProviderPresentation(let code): code
            }
        }

        public static let protocolVersionNotSupported = Reason.serviceProviderACSE(2)
        public static let temporaryCongestion = Reason.serviceProviderPresentation(1)
        public static let localLimitExceeded = Reason.serviceProviderPresentation(2)
    }

    /// Reasons of the service user (source 1).
    public enum UserReason: UInt8, Sendable {
        case noReasonGiven = 1
        case applicationContextNotSupported = 2
        case callingAETitleNotRecognized = 3
        case calledAETitleNotRecognized = 7
    }

    public var result: Result
    public var reason: Reason

    public init(result: Result, reason: Reason) {
        self.result = result
        self.reason = reason
    }
}

/// An A-ABORT (PS3.8 Table 9-26).
public struct Abort: Sendable, Equatable {
    /// 0: the service user; 2: the service provider (the upper layer itself).
    public var source: UInt8
    /// For the provider: 0 not specified, 1 unrecognized PDU, 2 unexpected PDU, 4 unrecognized PDU parameter,
    /// 5 unexpected PDU parameter, 6 invalid PDU parameter value.
    public var reason: UInt8

    public init(source: UInt8, reason: UInt8) {
        self.source = source
        self.reason = reason
    }

    public static let unrecognizedPDU = Abort(source: 2, reason: 1)
    public static let unexpectedPDU = Abort(source: 2, reason: 2)
    public static let invalidParameter = Abort(source: 2, reason: 6)
    public static let byUser = Abort(source: 0, reason: 0)
}

/// One presentation data value of a P-DATA-TF: a fragment of a command or of a data set, on one context.
public struct PDV: Sendable, Equatable {
    public var contextID: UInt8
    /// A fragment of the command set (else of the data set).
    public var isCommand: Bool
    /// The last fragment of its command or data set.
    public var isLast: Bool
    public var bytes: [UInt8]

    public init(contextID: UInt8, isCommand: Bool, isLast: Bool, bytes: [UInt8]) {
        self.contextID = contextID
        self.isCommand = isCommand
        self.isLast = isLast
        self.bytes = bytes
    }
}
