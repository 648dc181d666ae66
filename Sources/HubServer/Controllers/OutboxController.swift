import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/outbox`: operators see what is waiting to leave the hub, what failed for good, and replay it.
struct OutboxController {
    let outbox: Outbox

    init(env: HubEnvironment) {
        outbox = Outbox(env)
    }

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/outbox", list)
        routes.add(.get, "/v1/outbox/{id}", show)
        routes.add(.post, "/v1/outbox/{id}/replay", replay)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let page = try await outbox.list(
            state: try request.query("state", as: DeliveryState.self), destination: request.query("destination"),
            after: request.cursor, limit: try request.limit(), for: context.caller)
        return try JSONIO.response(ListResponse(page))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await outbox.delivery(try context.parameter("id"), for: context.caller))
    }

    @Sendable func replay(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await outbox.replay(try context.parameter("id"), by: context.caller))
    }
}

/// `/v1/institutions/{id}/webhook`: where the hub sends an institution's notices, and the secret that signs them.
struct WebhookController {
    let webhooks: Webhooks
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        webhooks = Webhooks(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.put, "/v1/institutions/{id}/webhook", save)
        routes.add(.get, "/v1/institutions/{id}/webhook", show)
        routes.add(.delete, "/v1/institutions/{id}/webhook", delete)
        routes.add(.post, "/v1/institutions/{id}/webhook/test", test)
    }

    @Sendable func save(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        try webhooks.authorizeChange(by: context.caller, of: id)
        let (input, _) = try await JSONIO.decode(WebhookInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(try await webhooks.save(input, for: id, by: context.caller))
    }

    /// Removes the webhook; deliveries still waiting for it then fail as unroutable (dead, replayable).
    @Sendable func delete(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await webhooks.delete(for: try context.parameter("id"), by: context.caller)
        return Response(status: .noContent)
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await webhooks.webhook(of: try context.parameter("id"), for: context.caller))
    }

    /// Sends a signed ping through the outbox, so an institution can check its receiver end to end.
    @Sendable func test(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await webhooks.test(try context.parameter("id"), by: context.caller), status: .accepted)
    }
}
