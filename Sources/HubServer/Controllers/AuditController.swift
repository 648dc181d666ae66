import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/audit`: the hash-chained audit log, for auditors.
struct AuditController {
    let audit: AuditTrail

    init(env: HubEnvironment) {
        audit = AuditTrail(env)
    }

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/audit", list)
        routes.add(.get, "/v1/audit/verify", verify)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let query = AuditTrail.Query(
            actor: request.query("actor"), patient: request.query("patient"), target: request.query("target"),
            from: try request.time("from"), to: try request.time("to"), after: request.cursor,
            limit: try request.limit())
        return try JSONIO.response(ListResponse(try await audit.records(query, for: context.caller)))
    }

    @Sendable func verify(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await audit.verify(for: context.caller))
    }
}
