import Crypto
import Foundation
import GRDB
import HubCore

extension TokenStore {
    /// Stores a new token and returns it with its secret, which is shown once and never again. `lifetimeDays` nil
    /// issues a token without expiry.
    public static func issue(
        _ db: Database, practitionerId: String?, institutionId: String?, roles: [Role], label: String?,
        createdBy: String?, lifetimeDays: Int?, now: Timestamp
    ) throws -> (TokenRecord, secret: String) {
        let secret = newSecret()
        let record = TokenRecord(
            id: GeneratedID.make("tok", at: now), practitionerId: practitionerId, institutionId: institutionId,
            roles: Array(Set(roles)).sorted(), label: label, createdAt: now, createdBy: createdBy, revokedAt: nil,
            expiresAt: lifetimeDays.map { now.adding(days: $0) })
        try db.execute(
            sql: """
                INSERT INTO tokens (id, digest, practitioner_id, institution_id, roles, label, created_at, created_by,
                                    expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                record.id, digest(secret), practitionerId, institutionId, try HubJSON.encodeString(record.roles), label,
                now.millisecondsSinceEpoch, createdBy, record.expiresAt?.millisecondsSinceEpoch,
            ])
        return (record, secret)
    }

    /// The principal behind a secret, or nil when the token is unknown, revoked, or its practitioner or
    /// institution is suspended. Its roles are those the token was issued with that the practitioner still holds:
    /// a practitioner's roles narrowed later narrow every token they hold. An expired token still resolves (with its
    /// `expiresAt`), so the caller can say why it is refused.
    public static func resolve(_ db: Database, secret: String) throws -> Principal? {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT t.id, t.practitioner_id, t.institution_id, t.roles, t.revoked_at, t.expires_at,
                           p.status AS p_status, p.body AS p_body, i.status AS i_status
                    FROM tokens t
                    LEFT JOIN practitioners p ON p.id = t.practitioner_id
                    LEFT JOIN institutions i ON i.id = t.institution_id
                    WHERE t.digest = ?
                    """),
            arguments: [digest(secret)])
        guard let row, row["revoked_at"] as Int64? == nil else { return nil }
        if let status: String = row["p_status"], status != RecordStatus.active.rawValue { return nil }
        if let status: String = row["i_status"], status != RecordStatus.active.rawValue { return nil }
        var roles = Set(try HubJSON.decode([Role].self, from: row["roles"] as String))
        var practitioner: Practitioner?
        if let body: String = row["p_body"] {
            let current = try HubJSON.decode(Practitioner.self, from: body)
            roles.formIntersection(current.roles)
            practitioner = current
        } else if row["practitioner_id"] as String? != nil {
            return nil
        }
        return Principal(
            tokenId: row["id"], practitionerId: row["practitioner_id"], institutionId: row["institution_id"],
            roles: roles, title: practitioner?.title, name: practitioner?.name,
            expiresAt: (row["expires_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
    }

    /// The token whose secret is `secret`, revoked or not.
    public static func token(_ db: Database, secret: String) throws -> TokenRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE digest = ?", arguments: [digest(secret)]).map(record)
    }

    public static func token(_ db: Database, id: String) throws -> TokenRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE id = ?", arguments: [id]).map(record)
    }

    public static func tokens(_ db: Database, practitionerId: String) throws -> [TokenRecord] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM tokens WHERE practitioner_id = ? ORDER BY id", arguments: [practitionerId]
        )
        .map(record)
    }

    /// Marks a token revoked; revoking twice keeps the first time.
    public static func revoke(_ db: Database, id: String, now: Timestamp) throws {
        try db.execute(
            sql: "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
            arguments: [now.millisecondsSinceEpoch, id])
    }

    /// True when some token that is neither revoked nor expired at `now` carries the admin role (bootstrap creates
    /// one only when none does).
    public static func hasActiveAdmin(_ db: Database, now: Timestamp) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS(SELECT 1 FROM tokens, json_each(tokens.roles)
                              WHERE json_each.value = 'admin' AND revoked_at IS NULL
                                AND (expires_at IS NULL OR expires_at > ?))
                """, arguments: [now.millisecondsSinceEpoch]) ?? false
    }

    /// The change counter of tokens, practitioners and institutions, which triggers raise on every write to them
    /// from any connection or process; nil on a database not yet migrated.
    public static func authGeneration(_ db: Database) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT generation FROM auth_changes WHERE id = 1"))
    }

    private static func record(_ row: Row) throws -> TokenRecord {
        TokenRecord(
            id: row["id"], practitionerId: row["practitioner_id"], institutionId: row["institution_id"],
            roles: try HubJSON.decode([Role].self, from: row["roles"] as String), label: row["label"],
            createdAt: Timestamp(millisecondsSinceEpoch: row["created_at"]), createdBy: row["created_by"],
            revokedAt: (row["revoked_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)),
            expiresAt: (row["expires_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
    }
}
