import Foundation
import HubCore

/// `<data-dir>/admin.token`: the secret of the first-start admin token, mode 0600.
public enum AdminTokenFile {
    public static let label = "first-start admin"

    /// The secret the file holds, nil when there is no file.
    public static func secret(path: String) throws -> String? {
        guard let data = try SecretFile.read(path) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Issues an admin token without expiry and writes its secret to `path` inside the same transaction: if the file
    /// cannot be written, no token is left behind that nobody can read.
    @discardableResult
    public static func issue(
        _ db: any StoreWriter, path: String, actor: String, detail: String, now: Timestamp
    ) throws
        -> TokenRecord
    {
        let (record, secret) = try db.issueToken(
            practitionerId: nil, institutionId: nil, roles: [.admin], label: label, createdBy: actor,
            lifetimeDays: nil, now: now)
        try db.appendAudit(
            AuditEvent(
                actor: actor, institutionId: nil, action: "token.issue", targetType: "token", targetId: record.id,
                detail: detail), at: now)
        try SecretFile.write(path, contents: Data((secret + "\n").utf8))
        return record
    }

    /// Removes the file when the token in it no longer works (unknown, revoked or expired); true when it did.
    public static func removeIfStale(path: String, database: any Storage, now: Timestamp) async throws -> Bool {
        guard let secret = try secret(path: path) else { return false }
        let record = try await database.read { try $0.token(secret: secret) }
        if let record, record.revokedAt == nil, record.expiresAt.map({ $0 > now }) ?? true { return false }
        try FileManager.default.removeItem(atPath: path)
        return true
    }

    /// A new first-start admin token in the file, and the one the file held before revoked, in one transaction.
    /// Returns the new token and the revoked one's id (nil when the file held none that was still live).
    public static func rotate(
        path: String, database: any Storage, actor: String, now: Timestamp
    ) async throws -> (
        TokenRecord, revoked: String?
    ) {
        let old = try secret(path: path)
        return try await database.write { db in
            var revoked: String?
            if let old, let record = try db.token(secret: old), record.revokedAt == nil {
                try db.revokeToken(id: record.id, now: now)
                try db.appendAudit(
                    AuditEvent(
                        actor: actor, institutionId: nil, action: "token.revoke", targetType: "token",
                        targetId: record.id, detail: "admin token rotated"), at: now)
                revoked = record.id
            }
            db.invalidateCachedPrincipals()
            let record = try issue(db, path: path, actor: actor, detail: "admin token rotated", now: now)
            return (record, revoked)
        }
    }
}
