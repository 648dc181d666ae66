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
}
