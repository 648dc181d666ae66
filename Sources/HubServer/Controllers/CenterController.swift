import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/centers`: the shared diagnostic centers and their qualifications.
struct CenterController {
    let centers: Centers
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        centers = Centers(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/centers", create)
        routes.add(.get, "/v1/centers", list)
        routes.add(.get, "/v1/centers/{id}", show)
        routes.add(.patch, "/v1/centers/{id}", update)
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try centers.authorizeChange(by: context.caller)
        let (input, body) = try await JSONIO.decode(CenterInput.self, from: request, limit: maxBodyBytes)
        return try await centers.register(
            input, by: context.caller, idempotency: Idempotency.of(request, context, body: body)
        ).response
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let query = Centers.Query(
            kind: try request.query("kind", as: CenterKind.self),
            status: try request.query("status", as: RecordStatus.self), item: request.query("item"),
            institutionId: request.query("institution_id"), include: request.query("include"),
            after: request.cursor, limit: try request.limit())
        switch try await centers.list(query, for: context.caller) {
        case .local(let page): return try JSONIO.response(ListResponse(page))
        case .withPeers(let page): return try JSONIO.response(ListResponse(page))
        }
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await centers.center(try context.parameter("id"), for: context.caller))
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try centers.authorizeChange(by: context.caller)
        let id = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(CenterInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(try await centers.update(id, with: input, by: context.caller))
    }
}
