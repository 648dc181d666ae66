import HubConfig
import HubCore
import HubUseCases
import Hummingbird

/// `/v1/critical-values`: the notices, their acknowledgement with read-back, and escalation.
struct CriticalValueController {
    let criticalValues: CriticalValues
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        criticalValues = CriticalValues(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/critical-values", list)
        routes.add(.get, "/v1/critical-values/{id}", show)
        routes.add(.post, "/v1/critical-values/{id}/ack", acknowledge)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        var acknowledged: Bool?
        if let text = request.query("acknowledged") {
            guard text == "true" || text == "false" else {
                throw HubError.validation("acknowledged", "must be true or false")
            }
            acknowledged = text == "true"
        }
        let query = CriticalValueQuery(
            acknowledged: acknowledged, examId: request.query("exam_id"), limit: try request.limit(),
            cursor: request.cursor)
        return try JSONIO.response(ListResponse(try await criticalValues.list(query, for: context.caller)))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        return try JSONIO.response(try await criticalValues.notice(id, for: context.caller))
    }

    @Sendable func acknowledge(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        try criticalValues.authorizeAcknowledgement(by: context.caller)
        let (input, _) = try await JSONIO.decode(AcknowledgementInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(try await criticalValues.acknowledge(id, input, by: context.caller))
    }
}

/// `/v1/centers/{id}/turnaround`: how long a center takes, per priority, against its targets.
struct TurnaroundController {
    let turnaround: Turnaround

    init(env: HubEnvironment) {
        turnaround = Turnaround(env)
    }

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/centers/{id}/turnaround", show)
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let to = try request.time("to")
        let from = try request.time("from")
        return try JSONIO.response(try await turnaround.figures(id, from: from, to: to, for: context.caller))
    }
}
