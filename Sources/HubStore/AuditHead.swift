import Crypto
import Foundation
import GRDB
import HubCore

extension AuditHead {
    /// The chain's last record now, or nil while it is empty.
    public static func current(_ db: Database) throws -> (seq: Int64, hash: String)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1") else {
            return nil
        }
        return (row["seq"], row["hash"])
    }

    /// Checks the chain in `db` against `head` (read from its file; nil when there is none), with the hub's key.
    public static func check(
        _ db: Database, against head: SignedAuditHead?, key: Curve25519.Signing.PublicKey?
    )
        throws -> AuditHeadCheck
    {
        guard let head else { return AuditHeadCheck(status: .missing, head: nil, since: 0) }
        guard let key, head.isSigned(by: key) else {
            return AuditHeadCheck(status: .badSignature, head: head, since: 0)
        }
        let last = try current(db)?.seq ?? 0
        guard
            let hash = try String.fetchOne(db, sql: "SELECT hash FROM audit_log WHERE seq = ?", arguments: [head.seq])
        else {
            return AuditHeadCheck(status: .truncated, head: head, since: 0)
        }
        return AuditHeadCheck(
            status: hash == head.hash ? .matches : .rewritten, head: head, since: max(0, last - head.seq))
    }

}

/// Peers' signed audit heads as this hub last saw them, so that a hub whose own head file was lost with its chain's
/// end can still be shown what it had written.
public enum WitnessedAuditHeads {
    /// Keeps `head` as the one witnessed for its hub unless a head further along is kept already; answers the head
    /// kept before when `head` goes back behind it (the peer's chain lost records, or the peer shows an old head).
    @discardableResult
    public static func witness(_ db: Database, _ head: SignedAuditHead, now: Timestamp) throws -> SignedAuditHead? {
        let kept = try witnessed(db, hubId: head.hubId)
        if let kept, kept.seq > head.seq { return kept }
        try db.execute(
            sql: """
                INSERT INTO witnessed_audit_heads (hub_id, seq, seen_at, body) VALUES (?, ?, ?, ?)
                ON CONFLICT (hub_id) DO UPDATE SET seq = excluded.seq, seen_at = excluded.seen_at, body = excluded.body
                """,
            arguments: [head.hubId, head.seq, now.millisecondsSinceEpoch, try HubJSON.encodeString(head)])
        return nil
    }

    /// The head last witnessed for a hub.
    public static func witnessed(_ db: Database, hubId: String) throws -> SignedAuditHead? {
        try String.fetchOne(db, sql: "SELECT body FROM witnessed_audit_heads WHERE hub_id = ?", arguments: [hubId])
            .map { try HubJSON.decode(SignedAuditHead.self, from: $0) }
    }
}
