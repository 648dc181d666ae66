import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/catalog`: the versioned recognition catalog.
struct CatalogController {
    let catalog: Catalog
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        catalog = Catalog(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/catalog", show)
        routes.add(.get, "/v1/catalog/versions", versions)
        routes.add(.post, "/v1/catalog/versions", publish)
        routes.add(.get, "/v1/catalog/items/{code}", item)
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let query = Catalog.Query(
            version: request.query("version"), kind: try request.query("kind", as: ItemKind.self),
            category: try request.query("category", as: ItemCategory.self), after: request.cursor,
            limit: try request.limit())
        return try JSONIO.response(try await catalog.items(query, for: context.caller))
    }

    @Sendable func versions(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(ListResponse(Page(items: try await catalog.versions(for: context.caller), next: nil)))
    }

    @Sendable func publish(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try catalog.authorizePublication(by: context.caller)
        // A whole catalog (thousands of items) is larger than an ordinary request.
        let limit = max(maxBodyBytes, 16 * 1_048_576)
        let (version, body) = try await JSONIO.decode(CatalogVersion.self, from: request, limit: limit)
        return try await catalog.publish(
            version, by: context.caller, idempotency: Idempotency.of(request, context, body: body)
        ).response
    }

    @Sendable func item(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let body = try await catalog.item(
            try context.parameter("code"), version: request.query("version"), for: context.caller)
        return JSONIO.response(data: body, status: .ok)
    }
}
