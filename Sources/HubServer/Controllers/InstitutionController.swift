import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/institutions`: the registry of member institutions.
struct InstitutionController {
    let institutions: Institutions
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        institutions = Institutions(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/institutions", create)
        routes.add(.get, "/v1/institutions", list)
        routes.add(.get, "/v1/institutions/{id}", show)
        routes.add(.patch, "/v1/institutions/{id}", update)
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try institutions.authorizeChange(by: context.caller)
        let (input, body) = try await JSONIO.decode(InstitutionInput.self, from: request, limit: maxBodyBytes)
        return try await institutions.register(
            input, by: context.caller, idempotency: Idempotency.of(request, context, body: body)
        ).response
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let query = Institutions.Query(
            level: try request.query("level", as: InstitutionLevel.self),
            status: try request.query("status", as: RecordStatus.self), region: request.query("region"),
            alliance: request.query("alliance"), after: request.cursor, limit: try request.limit())
        return try JSONIO.response(ListResponse(try await institutions.list(query, for: context.caller)))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await institutions.institution(try context.parameter("id"), for: context.caller))
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try institutions.authorizeChange(by: context.caller)
        let id = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(InstitutionInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(try await institutions.update(id, with: input, by: context.caller))
    }
}
