import HubCore
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

        enum CodingKeys: String, CodingKey {
            case intact, checked, reason
            case firstBroken = "first_broken"
        }
    }

    @Sendable func verify(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.caller().require(.auditor)
        let result = try await env.database.read { try AuditLog.verify($0) }
        return try JSONIO.response(
            VerifyAnswer(
                intact: result.isIntact, checked: result.checked, firstBroken: result.firstBroken, reason: result.reason
            ))
    }
}
