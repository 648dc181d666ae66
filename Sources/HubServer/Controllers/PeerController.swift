import Foundation
import HubConfig
import HubCore
import HubFederation
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/peers`: operators configure the hubs this one federates with, and see their state.
struct PeerController {
    let peers: Peers
    let maxBodyBytes: Int

    init(env: HubEnvironment, worker: OutboxWorker) {
        peers = Peers(env, worker: worker)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/peers", list)
        routes.add(.post, "/v1/peers", save)
        routes.add(.get, "/v1/peers/{id}/status", status)
        routes.add(.post, "/v1/peers/{id}/refresh", refresh)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(ListResponse(Page(items: try await peers.list(for: context.caller), next: nil)))
    }

    /// Adds a peer, or replaces one with the same id (a rotated key, a new address).
    @Sendable func save(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try peers.authorize(context.caller)
        let (input, _) = try await JSONIO.decode(PeerInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(try await peers.save(input, by: context.caller), status: .created)
    }

    /// Reachability, the last directory refresh, the outbox backlog and dead letters, recent latency and the
    /// circuit state of one peer.
    @Sendable func status(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await peers.status(of: try context.parameter("id"), for: context.caller))
    }

    /// Fetches the peer's directory now, and answers with its status.
    @Sendable func refresh(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await peers.refresh(try context.parameter("id"), by: context.caller))
    }
}
