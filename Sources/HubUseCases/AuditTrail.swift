import HubConfig
import HubCore
import HubFederation
import HubStorage

/// The hash-chained audit log, for auditors: its records, and whether the chain is intact against its last signed
/// head and against the heads the peers witnessed.
public struct AuditTrail: Sendable {
    let database: any Storage
    let headPath: String
    let identity: HubIdentity
    let witnesses: AuditWitnesses

    public init(_ env: HubEnvironment) {
        database = env.database
        headPath = env.config.auditHeadPath
        identity = env.identity
        witnesses = AuditWitnesses(
            database: env.database, client: env.peerClient, identity: env.identity,
            timeout: .milliseconds(env.config.federationPeerTimeoutMilliseconds), clock: env.clock)
    }

    /// What a listing may be narrowed to.
    public struct Query: Sendable {
        public var actor: String?
        /// A patient key, as the records carry it.
        public var patient: String?
        public var target: String?
        public var from: Timestamp?
        public var to: Timestamp?
        public var after: String?
        public var limit: Int

        public init(
            actor: String?, patient: String?, target: String?, from: Timestamp?, to: Timestamp?, after: String?,
            limit: Int
        ) {
            self.actor = actor
            self.patient = patient
            self.target = target
            self.from = from
            self.to = to
            self.after = after
            self.limit = limit
        }
    }

    /// The answer to a verification.
    public struct Verification: Encodable, Sendable {
        var intact: Bool
        var checked: Int
        var firstBroken: Int64?
        var reason: String?
        var head: Head
        var witnesses: [AuditWitnesses.Witness]

        enum CodingKeys: String, CodingKey {
            case intact, checked, reason, head, witnesses
            case firstBroken = "first_broken"
        }
    }

    /// The chain against its last signed head (see `SignedAuditHead`).
    public struct Head: Encodable, Sendable {
        var status: AuditHeadCheck.Status
        var seq: Int64?
        var hash: String?
        var signedAt: Timestamp?
        /// Records written after the head was signed.
        var since: Int64

        enum CodingKeys: String, CodingKey {
            case status, seq, hash, since
            case signedAt = "signed_at"
        }

        init(_ check: AuditHeadCheck) {
            status = check.status
            seq = check.head?.seq
            hash = check.head?.hash
            signedAt = check.head?.at
            since = check.since
        }
    }

    /// Only auditors read the audit log.
    func authorize(_ caller: Caller) throws(HubError) {
        try caller.authenticated().require(.auditor)
    }

    public func records(_ query: Query, for caller: Caller) async throws -> Page<AuditRecord> {
        try authorize(caller)
        return try await database.read { db in
            try db.auditRecords(
                actor: query.actor, patientKey: query.patient, targetId: query.target, from: query.from,
                to: query.to, after: query.after, limit: query.limit)
        }
    }

    /// Checks every record's hash link, the chain against its last signed head, and against the head each active
    /// peer witnessed.
    public func verify(for caller: Caller) async throws -> Verification {
        try authorize(caller)
        let head = try AuditHead.read(path: headPath)
        let key = identity.signingKey
        let (chain, check, peers) = try await database.read { db in
            (
                try db.verifyAudit(), try db.checkAudit(against: head, key: key),
                try db.peers().filter { $0.status == .active }
            )
        }
        let witnessed = await witnesses.ask(peers)
        var reason = chain.reason
        if chain.isIntact && !check.holds { reason = check.status.explanation }
        if chain.isIntact && check.holds, let broken = witnessed.first(where: { !$0.holds }) {
            reason =
                "as witnessed by \(broken.peerId): "
                + (AuditHeadCheck.Status(rawValue: broken.status)?.explanation ?? "")
        }
        return Verification(
            intact: chain.isIntact && check.holds && witnessed.allSatisfy(\.holds), checked: chain.checked,
            firstBroken: chain.firstBroken, reason: reason, head: Head(check), witnesses: witnessed)
    }
}
