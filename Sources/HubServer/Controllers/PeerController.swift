import Foundation
import HubCore
import HubFederation
import HubStore
import Hummingbird

/// `/v1/peers`: operators configure the hubs this one federates with, and see their state.
struct PeerController {
    let env: HubEnvironment
    let worker: OutboxWorker

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/peers", list)
        routes.add(.post, "/v1/peers", save)
        routes.add(.get, "/v1/peers/{id}/status", status)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.caller().require(.admin)
        let peers = try await env.database.read { try PeerStore.peers($0) }
        return try JSONIO.response(ListResponse(Page(items: peers, next: nil)))
    }

    /// Adds a peer, or replaces one with the same id (a rotated key, a new address).
    @Sendable func save(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.caller().require(.admin)
        let (input, _) = try await JSONIO.decode(PeerInput.self, from: request, limit: env.config.maxBodyBytes)
        let now = env.clock()
        let peer = try input.validated(now: now, ownHubId: env.config.hubId)
        let saved = try await env.database.write { db -> Peer in
            var peer = peer
            if let existing = try PeerStore.peer(db, id: peer.id) { peer.createdAt = existing.createdAt }
            try PeerStore.save(db, peer)
            try AuditLog.append(db, context.audit("peer.save", "peer", peer.id, detail: peer.url), at: now)
            return peer
        }
        return try JSONIO.response(saved, status: .created)
    }

    struct Status: Encodable {
        var peer: Peer
        var outboxBacklog: Int
        var circuit: String

        enum CodingKeys: String, CodingKey {
            case peer, circuit
            case outboxBacklog = "outbox_backlog"
        }
    }

    @Sendable func status(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.caller().require(.admin)
        let id = try context.parameter("id")
        let (peer, backlog) = try await env.database.read { db -> (Peer, Int) in
            guard let peer = try PeerStore.peer(db, id: id) else { throw HubError.notFound("peer", id) }
            return (peer, try OutboxStore.backlog(db)["peer:\(id)"] ?? 0)
        }
        let circuit = worker.circuits()["peer:\(id)"]?.rawValue ?? CircuitBreaker.State.closed.rawValue
        return try JSONIO.response(Status(peer: peer, outboxBacklog: backlog, circuit: circuit))
    }
}
