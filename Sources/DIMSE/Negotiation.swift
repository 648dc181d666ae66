/// Well-known SOP classes and the families of them an acceptor recognizes.
public enum SOPClass {
    public static let verification = "1.2.840.10008.1.1"
    /// Storage Commitment Push Model (PS3.4 J) and its well-known SOP instance.
    public static let storageCommitment = "1.2.840.10008.1.20.1"
    public static let storageCommitmentInstance = "1.2.840.10008.1.20.1.1"
    /// Modality Worklist Information Model - FIND (PS3.4 K.6.1).
    public static let modalityWorklistFind = "1.2.840.10008.5.1.4.31"
    /// Query/Retrieve information models (PS3.4 C.6): Patient Root and Study Root, FIND, MOVE and GET.
    public static let patientRootFind = "1.2.840.10008.5.1.4.1.2.1.1"
    public static let patientRootMove = "1.2.840.10008.5.1.4.1.2.1.2"
    public static let patientRootGet = "1.2.840.10008.5.1.4.1.2.1.3"
    public static let studyRootFind = "1.2.840.10008.5.1.4.1.2.2.1"
    public static let studyRootMove = "1.2.840.10008.5.1.4.1.2.2.2"
    public static let studyRootGet = "1.2.840.10008.5.1.4.1.2.2.3"

    /// The Query/Retrieve FIND models.
    public static let queryFind: Set<String> = [patientRootFind, studyRootFind]
    /// The Query/Retrieve MOVE and GET models.
    public static let retrieveMove: Set<String> = [patientRootMove, studyRootMove]
    public static let retrieveGet: Set<String> = [patientRootGet, studyRootGet]
    /// Every storage SOP class of PS3.4 Annex B is under this root (CT, MR, CR, DX, US, SR, KOS, ECG waveforms,
    /// whole-slide images, encapsulated PDF, ...).
    public static let storageRoot = "1.2.840.10008.5.1.4.1.1."

    public static func isStorage(_ uid: String) -> Bool {
        uid.hasPrefix(storageRoot) && uid.count > storageRoot.count
            && uid.dropFirst(storageRoot.count).allSatisfy { $0 == "." || ($0.isASCII && $0.isNumber) }
    }
}

/// What an acceptor agrees to on one association.
public struct AssociationTerms: Sendable, Equatable {
    /// An accepted presentation context: its abstract syntax and the transfer syntax chosen.
    public struct Context: Sendable, Equatable {
        public var abstractSyntax: String
        public var transferSyntax: String
        /// The requester takes the SCP role on this context (role selection, PS3.7 D.3.3.4): this side sends it
        /// C-STORE sub-operations, as for a C-GET.
        public var requesterIsSCP: Bool = false
    }

    /// The accepted presentation contexts, by id.
    public var contexts: [UInt8: Context]
    /// The largest P-DATA-TF PDU the requester can receive (0: no limit).
    public var peerMaximumLength: UInt32

    public init(contexts: [UInt8: Context], peerMaximumLength: UInt32) {
        self.contexts = contexts
        self.peerMaximumLength = peerMaximumLength
    }
}

/// The acceptor's side of presentation-context negotiation (PS3.8 section 7.1.1.13).
public struct Negotiation: Sendable {
    /// This side's implementation, as the A-ASSOCIATE-AC names it.
    public var implementationClassUID: String
    public var implementationVersionName: String
    /// The largest P-DATA-TF PDU this side receives.
    public var maximumLength: UInt32
    /// Whether this side takes an abstract syntax at all.
    public var supports: @Sendable (String) -> Bool
    /// Whether this side takes a transfer syntax for a supported abstract syntax.
    public var takes: @Sendable (_ abstractSyntax: String, _ transferSyntax: String) -> Bool
    /// Whether this side acts as SCU on an abstract syntax for which the requester asks the SCP role (storage, for
    /// the C-STORE sub-operations of a C-GET). Such a context takes the requester's first transfer syntax that
    /// `takes` allows.
    public var sendsTo: @Sendable (String) -> Bool = { _ in false }

    public init(
        implementationClassUID: String, implementationVersionName: String, maximumLength: UInt32,
        supports: @escaping @Sendable (String) -> Bool,
        takes: @escaping @Sendable (_ abstractSyntax: String, _ transferSyntax: String) -> Bool
    ) {
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
        self.maximumLength = maximumLength
        self.supports = supports
        self.takes = takes
    }

    /// Answers each proposed context: accepted with the first transfer syntax in the requester's order that this side
    /// reads (compressed data is taken as sent, never transcoded), or refused with the reason.
    public func accept(_ request: AssociateRequest) -> (AssociateAccept, AssociationTerms) {
        var answers: [AcceptedContext] = []
        var roles: [RoleSelection] = []
        var terms = AssociationTerms(contexts: [:], peerMaximumLength: request.userInformation.maximumLength)
        for context in request.presentationContexts {
            let proposed = request.userInformation.roles.first { $0.sopClassUID == context.abstractSyntax }
            if proposed?.scp == true && sendsTo(context.abstractSyntax),
                let chosen = context.transferSyntaxes.first(where: { takes(context.abstractSyntax, $0) })
            {
                answers.append(AcceptedContext(id: context.id, result: .acceptance, transferSyntax: chosen))
                let received = supports(context.abstractSyntax) && proposed?.scu != false
                terms.contexts[context.id] = AssociationTerms.Context(
                    abstractSyntax: context.abstractSyntax, transferSyntax: chosen, requesterIsSCP: true)
                if !roles.contains(where: { $0.sopClassUID == context.abstractSyntax }) {
                    roles.append(RoleSelection(sopClassUID: context.abstractSyntax, scu: received, scp: true))
                }
            } else if !supports(context.abstractSyntax) {
                answers.append(
                    AcceptedContext(
                        id: context.id, result: .abstractSyntaxNotSupported,
                        transferSyntax: context.transferSyntaxes.first ?? ""))
            } else if let chosen = context.transferSyntaxes.first(where: { takes(context.abstractSyntax, $0) }) {
                answers.append(AcceptedContext(id: context.id, result: .acceptance, transferSyntax: chosen))
                terms.contexts[context.id] = AssociationTerms.Context(
                    abstractSyntax: context.abstractSyntax, transferSyntax: chosen)
            } else {
                answers.append(
                    AcceptedContext(
                        id: context.id, result: .transferSyntaxesNotSupported,
                        transferSyntax: context.transferSyntaxes.first ?? ""))
            }
        }
        let accept = AssociateAccept(
            calledAETitle: request.calledAETitle, callingAETitle: request.callingAETitle,
            presentationContexts: answers,
            userInformation: UserInformation(
                maximumLength: maximumLength, implementationClassUID: implementationClassUID,
                implementationVersionName: implementationVersionName, roles: roles))
        return (accept, terms)
    }
}

/// The requester's side of negotiation: the contexts it proposes, and what the acceptor's answer leaves of them.
public struct Proposal: Sendable {
    public var request: AssociateRequest

    /// Proposes one context per abstract syntax and transfer syntax pair, with odd ids from 1 (PS3.8 9.3.2.2): at most
    /// 128 pairs.
    public init(
        calling: String, called: String, pairs: [(abstractSyntax: String, transferSyntax: String)],
        maximumLength: UInt32, implementationClassUID: String, implementationVersionName: String
    ) {
        let contexts = pairs.prefix(128).enumerated().map { index, pair in
            ProposedContext(
                id: UInt8(index * 2 + 1), abstractSyntax: pair.abstractSyntax, transferSyntaxes: [pair.transferSyntax])
        }
        request = AssociateRequest(
            calledAETitle: called, callingAETitle: calling, presentationContexts: contexts,
            userInformation: UserInformation(
                maximumLength: maximumLength, implementationClassUID: implementationClassUID,
                implementationVersionName: implementationVersionName))
    }

    /// The contexts the acceptor accepted, with the abstract syntax each was proposed for.
    public func terms(of accept: AssociateAccept) -> AssociationTerms {
        var terms = AssociationTerms(contexts: [:], peerMaximumLength: accept.userInformation.maximumLength)
        for answer in accept.presentationContexts where answer.result == .acceptance {
            guard let proposed = request.presentationContexts.first(where: { $0.id == answer.id }) else { continue }
            terms.contexts[answer.id] = AssociationTerms.Context(
                abstractSyntax: proposed.abstractSyntax, transferSyntax: answer.transferSyntax)
        }
        return terms
    }
}
