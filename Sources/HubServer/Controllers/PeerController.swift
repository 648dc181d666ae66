import Foundation
import GRDB
import HubConfig
import HubCore
import HubFederation
import HubStore
import HubUseCases
import Hummingbird

/// `/v1/peers`: operators configure the hubs this one federates with, and see their state.
struct PeerController {
    let env: HubEnvironment
    let worker: OutboxWorker

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/peers", list)
        routes.add(.post, "/v1/peers", save)
        routes.add(.get, "/v1/peers/{id}/status", status)
        routes.add(.post, "/v1/peers/{id}/refresh", refresh)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let peers = try await env.database.read { try PeerStore.peers($0) }
        return try JSONIO.response(ListResponse(Page(items: peers, next: nil)))
    }

    /// Adds a peer, or replaces one with the same id (a rotated key, a new address).
    @Sendable func save(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let (input, _) = try await JSONIO.decode(PeerInput.self, from: request, limit: env.config.maxBodyBytes)
        let now = env.clock()
        let peer = try input.validated(
            now: now, ownHubId: env.config.hubId, allowPlainHTTP: env.config.federationAllowPlainHTTP)
        if let problem = await env.outbound.problem(peer.url) { throw HubError.validation("url", problem) }
        let saved = try await env.database.write { db -> Peer in
            var peer = peer
            if let existing = try PeerStore.peer(db, id: peer.id) { peer.createdAt = existing.createdAt }
            try PeerStore.save(db, peer)
            try AuditLog.append(db, context.audit("peer.save", "peer", peer.id, detail: peer.url), at: now)
            return peer
        }
        env.directorySignal.signal()
        return try JSONIO.response(saved, status: .created)
    }

    struct Status: Encodable {
        var peer: Peer
        var state: PeerState
        var outboxBacklog: Int
        var outboxDead: Int
        var circuit: String
        var recentLatencyMs: Int?
        var latencySamples: Int

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(peer, forKey: .peer)
            try container.encodeIfPresent(state.reachable, forKey: .reachable)
            try container.encodeIfPresent(state.lastRefreshAt, forKey: .lastDirectoryRefresh)
            try container.encodeIfPresent(state.lastAttemptAt, forKey: .lastDirectoryAttempt)
            try container.encodeIfPresent(state.lastError, forKey: .lastError)
            try container.encode(state.centers, forKey: .centers)
            try container.encode(outboxBacklog, forKey: .outboxBacklog)
            try container.encode(outboxDead, forKey: .outboxDead)
            try container.encode(circuit, forKey: .circuit)
            try container.encodeIfPresent(recentLatencyMs, forKey: .recentLatencyMs)
            try container.encode(latencySamples, forKey: .latencySamples)
        }

        enum CodingKeys: String, CodingKey {
            case peer, reachable, circuit, centers
            case lastDirectoryRefresh = "last_directory_refresh"
            case lastDirectoryAttempt = "last_directory_attempt"
            case lastError = "last_error"
            case outboxBacklog = "outbox_backlog"
            case outboxDead = "outbox_dead"
            case recentLatencyMs = "recent_latency_ms"
            case latencySamples = "latency_samples"
        }
    }

    /// Reachability, the last directory refresh, the outbox backlog and dead letters, recent latency and the
    /// circuit state of one peer.
    @Sendable func status(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        return try JSONIO.response(try await status(of: try context.parameter("id")))
    }

    /// Fetches the peer's directory now, and answers with its status.
    @Sendable func refresh(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let id = try context.parameter("id")
        guard let peer = try await env.database.read({ try PeerStore.peer($0, id: id) }) else {
            throw HubError.notFound("peer", id)
        }
        try await env.refreshDirectory(peer)
        return try JSONIO.response(try await status(of: id))
    }

    func status(of id: String) async throws -> Status {
        let destination = "peer:\(id)"
        let (peer, state, backlog, dead) = try await env.database.read { db -> (Peer, PeerState, Int, Int) in
            guard let peer = try PeerStore.peer(db, id: id) else { throw HubError.notFound("peer", id) }
            let dead =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM outbox WHERE destination = ? AND state = 'dead'",
                    arguments: [destination]) ?? 0
            return (peer, try PeerStore.state(db, peerId: id), try OutboxStore.backlog(db)[destination] ?? 0, dead)
        }
        let circuit = worker.circuits()[destination]?.rawValue ?? CircuitBreaker.State.closed.rawValue
        let latency = env.peerLatencies.recent(id)
        return Status(
            peer: peer, state: state, outboxBacklog: backlog, outboxDead: dead, circuit: circuit,
            recentLatencyMs: latency.median, latencySamples: latency.count)
    }
}
