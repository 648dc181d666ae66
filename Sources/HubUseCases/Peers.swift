import HubConfig
import HubCore
import HubFederation
import HubStorage

/// The hubs this one federates with, as operators configure and watch them.
public struct Peers: Sendable {
    let database: any Storage
    let directory: PeerDirectory
    let directorySignal: OutboxSignal
    let latencies: PeerLatencies
    let outbound: OutboundAddressPolicy
    let worker: OutboxWorker
    let hubId: String
    let allowPlainHTTP: Bool
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment, worker: OutboxWorker) {
        database = env.database
        directory = env.peerDirectory
        directorySignal = env.directorySignal
        latencies = env.peerLatencies
        outbound = env.outbound
        self.worker = worker
        hubId = env.config.hubId
        allowPlainHTTP = env.config.federationAllowPlainHTTP
        clock = env.clock
    }

    /// One peer as operators see it: reachability, the last directory refresh, the outbox backlog and dead letters,
    /// recent latency and the circuit state.
    public struct Status: Encodable, Sendable {
        var peer: Peer
        var state: PeerState
        var outboxBacklog: Int
        var outboxDead: Int
        var circuit: String
        var recentLatencyMs: Int?
        var latencySamples: Int

        public func encode(to encoder: any Encoder) throws {
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

    /// Only an admin sees and configures peers; checked before the request's body is read, and again by each use.
    public func authorize(_ caller: Caller) throws(HubError) {
        try caller.authenticated().require(.admin)
    }

    public func list(for caller: Caller) async throws -> [Peer] {
        try authorize(caller)
        return try await database.read { try $0.peers() }
    }

    /// Adds a peer, or replaces one with the same id (a rotated key, a new address); its directory is fetched at
    /// once.
    public func save(_ input: PeerInput, by caller: Caller) async throws -> Peer {
        try authorize(caller)
        let now = clock()
        let peer = try input.validated(now: now, ownHubId: hubId, allowPlainHTTP: allowPlainHTTP)
        if let problem = await outbound.problem(peer.url) { throw HubError.validation("url", problem) }
        let saved = try await database.write { db -> Peer in
            var peer = peer
            if let existing = try db.peer(id: peer.id) { peer.createdAt = existing.createdAt }
            try db.save(peer)
            try db.appendAudit(caller.audit("peer.save", "peer", peer.id, detail: peer.url), at: now)
            return peer
        }
        directorySignal.signal()
        return saved
    }

    public func status(of id: String, for caller: Caller) async throws -> Status {
        try authorize(caller)
        return try await status(of: id)
    }

    /// Fetches the peer's directory now, and answers with its status.
    public func refresh(_ id: String, by caller: Caller) async throws -> Status {
        try authorize(caller)
        guard let peer = try await database.read({ try $0.peer(id: id) }) else {
            throw HubError.notFound("peer", id)
        }
        try await directory.refresh(peer)
        return try await status(of: id)
    }

    private func status(of id: String) async throws -> Status {
        let destination = Destination.peer(hubId: id).description
        let (peer, state, backlog, dead) = try await database.read { db -> (Peer, PeerState, Int, Int) in
            guard let peer = try db.peer(id: id) else { throw HubError.notFound("peer", id) }
            return (
                peer, try db.peerState(peerId: id), try db.outboxBacklog()[destination] ?? 0,
                try db.deadDeliveries(destination: destination)
            )
        }
        let circuit = worker.circuits()[destination]?.rawValue ?? CircuitBreaker.State.closed.rawValue
        let latency = latencies.recent(id)
        return Status(
            peer: peer, state: state, outboxBacklog: backlog, outboxDead: dead, circuit: circuit,
            recentLatencyMs: latency.median, latencySamples: latency.count)
    }
}
