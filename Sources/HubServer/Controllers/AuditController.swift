import HubCore
import HubFederation
import HubStore
import Hummingbird

/// `/v1/audit`: the hash-chained audit log, for auditors.
struct AuditController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/audit", list)
        routes.add(.get, "/v1/audit/verify", verify)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.caller().require(.auditor)
        let from = try request.time("from")
        let to = try request.time("to")
        let actor = request.query("actor")
        let patient = request.query("patient")
        let target = request.query("target")
        let limit = try request.limit()
        let cursor = request.cursor
        let page = try await env.database.read { db in
            try AuditLog.records(
                db, actor: actor, patientKey: patient, targetId: target, from: from, to: to, after: cursor, limit: limit
            )
        }
        return try JSONIO.response(ListResponse(page))
    }

    struct VerifyAnswer: Encodable {
        var intact: Bool
        var checked: Int
        var firstBroken: Int64?
        var reason: String?
        var head: HeadAnswer

        enum CodingKeys: String, CodingKey {
            case intact, checked, reason, head
            case firstBroken = "first_broken"
        }
    }

    /// The chain against its last signed head (see `SignedAuditHead`).
    struct HeadAnswer: Encodable {
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

    @Sendable func verify(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.caller().require(.auditor)
        let head = try AuditHead.read(path: env.config.auditHeadPath)
        let key = env.identity.signingKey
        let (chain, check) = try await env.database.read { db in
            (try AuditLog.verify(db), try AuditHead.check(db, against: head, key: key))
        }
        var reason = chain.reason
        if chain.isIntact && !check.holds { reason = check.status.explanation }
        return try JSONIO.response(
            VerifyAnswer(
                intact: chain.isIntact && check.holds, checked: chain.checked, firstBroken: chain.firstBroken,
                reason: reason, head: HeadAnswer(check)))
    }
}
