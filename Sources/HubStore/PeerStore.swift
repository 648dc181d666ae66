import Foundation
import GRDB
import HubCore

public enum PeerStore {
    public static func save(_ db: Database, _ peer: Peer) throws {
        try db.execute(
            sql: """
                INSERT INTO peers (id, status, body) VALUES (?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body
                """,
            arguments: [peer.id, peer.status.rawValue, try HubJSON.encodeString(peer)])
    }

    public static func peer(_ db: Database, id: String) throws -> Peer? {
        try Documents.fetch(db, "peers", id: id)
    }

    public static func peers(_ db: Database) throws -> [Peer] {
        try String.fetchAll(db, sql: "SELECT body FROM peers ORDER BY id").map {
            try HubJSON.decode(Peer.self, from: $0)
        }
    }

    /// Records a peer's request id; false when it was seen before (a replay).
    public static func firstSighting(_ db: Database, hubId: String, requestId: String, now: Timestamp) throws -> Bool {
        try db.execute(
            sql: "INSERT OR IGNORE INTO federation_seen (hub_id, request_id, seen_at) VALUES (?, ?, ?)",
            arguments: [hubId, requestId, now.millisecondsSinceEpoch])
        return db.changesCount == 1
    }

    /// Forgets request ids older than the signature window: older requests are refused by their timestamp anyway.
    public static func forgetSightings(_ db: Database, before: Timestamp) throws {
        try db.execute(sql: "DELETE FROM federation_seen WHERE seen_at < ?", arguments: [before.millisecondsSinceEpoch])
    }

    /// Replaces what a peer's directory advertises, and records the successful refresh.
    public static func replaceDirectory(
        _ db: Database, peerId: String, centers: [RemoteCenter], now: Timestamp
    ) throws {
        try db.execute(sql: "DELETE FROM peer_centers WHERE peer_id = ?", arguments: [peerId])
        // A peer's center with the id of one of this hub's own is left out: a center id must name one center here.
        let local = Set(try String.fetchAll(db, sql: "SELECT id FROM centers"))
        for center in centers where !local.contains(center.centerId) {
            try db.execute(
                sql: "INSERT OR REPLACE INTO peer_centers (peer_id, center_id, kind, body) VALUES (?, ?, ?, ?)",
                arguments: [peerId, center.centerId, center.kind.rawValue, try HubJSON.encodeString(center)])
        }
        var state = try self.state(db, peerId: peerId)
        state.reachable = true
        state.lastAttemptAt = now
        state.lastRefreshAt = now
        state.lastError = nil
        state.centers = centers.count
        try save(db, state)
    }

    /// Records a failed refresh; the centers last advertised stay known.
    public static func recordRefreshFailure(_ db: Database, peerId: String, error: String, now: Timestamp) throws {
        var state = try self.state(db, peerId: peerId)
        state.reachable = false
        state.lastAttemptAt = now
        state.lastError = String(error.prefix(500))
        try save(db, state)
    }

    public static func state(_ db: Database, peerId: String) throws -> PeerState {
        try String.fetchOne(db, sql: "SELECT body FROM peer_state WHERE peer_id = ?", arguments: [peerId])
            .map { try HubJSON.decode(PeerState.self, from: $0) } ?? PeerState(peerId: peerId)
    }

    static func save(_ db: Database, _ state: PeerState) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO peer_state (peer_id, body) VALUES (?, ?)",
            arguments: [state.peerId, try HubJSON.encodeString(state)])
    }

    /// Centers of active peers, optionally only those offering `item` or of `kind`.
    public static func remoteCenters(
        _ db: Database, kind: CenterKind? = nil, item: String? = nil
    ) throws -> [RemoteCenter] {
        var filter = SQLFilter()
        filter.add("p.status = ?", RecordStatus.active.rawValue)
        if let kind { filter.add("c.kind = ?", kind.rawValue) }
        let centers = try String.fetchAll(
            db,
            sql: """
                SELECT c.body FROM peer_centers c JOIN peers p ON p.id = c.peer_id \(filter.whereClause)
                ORDER BY c.peer_id, c.center_id
                """, arguments: filter.arguments
        ).map { try HubJSON.decode(RemoteCenter.self, from: $0) }
        guard let item else { return centers }
        return centers.filter { $0.items.contains(item) }
    }

    /// A peer's center by its id.
    public static func remoteCenter(_ db: Database, centerId: String) throws -> RemoteCenter? {
        try String.fetchOne(
            db,
            sql: """
                SELECT c.body FROM peer_centers c JOIN peers p ON p.id = c.peer_id
                WHERE c.center_id = ? AND p.status = 'active' ORDER BY c.peer_id LIMIT 1
                """, arguments: [centerId]
        ).map { try HubJSON.decode(RemoteCenter.self, from: $0) }
    }
}
