import Foundation
import GRDB
import HubCore

/// Remembers the answer to every write sent with an `Idempotency-Key`, so a retried request gets the same answer
/// and creates nothing twice. The lookup and the save run in the same transaction as the write itself.
extension IdempotencyStore {
    /// The stored answer for `key`, nil when the key is new. The same key with another method, path or body is an
    /// error: the client reused a key for a different request.
    public static func replay(
        _ db: Database, scope: String, key: String, method: String, path: String, bodyDigest: String
    ) throws -> Replay? {
        guard
            let row = try Row.fetchOne(
                db,
                sql:
                    "SELECT method, path, body_digest, status, response FROM idempotency_keys WHERE scope = ? AND key = ?",
                arguments: [scope, key])
        else { return nil }
        guard row["method"] == method, row["path"] == path, row["body_digest"] == bodyDigest else {
            throw HubError.idempotencyKeyReused(
                "this Idempotency-Key was first used for a different request; use a new key for a new request")
        }
        return Replay(status: row["status"], body: row["response"])
    }

    public static func save(
        _ db: Database, scope: String, key: String, method: String, path: String, bodyDigest: String, status: Int,
        body: Data, now: Timestamp
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO idempotency_keys (scope, key, method, path, body_digest, status, response, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [scope, key, method, path, bodyDigest, status, body, now.millisecondsSinceEpoch])
    }

    /// Forgets keys older than the retention period.
    @discardableResult
    public static func purge(_ db: Database, now: Timestamp) throws -> Int {
        try db.execute(
            sql: "DELETE FROM idempotency_keys WHERE created_at < ?",
            arguments: [now.millisecondsSinceEpoch - retention])
        return db.changesCount
    }
}
