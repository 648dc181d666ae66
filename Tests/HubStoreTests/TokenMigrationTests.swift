import Foundation
import GRDB
import HubCore
import Testing

@testable import HubStore

@Suite struct TokenMigrationTests {
    /// A token issued before expiry existed keeps working after the upgrade, without expiry; a change to its
    /// practitioner made after the upgrade raises the counter other processes watch.
    @Test func tokensOfAnOlderDatabaseKeepWorkingWithoutExpiry() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try AppDatabase(path: directory.appendingPathComponent("hub.sqlite").path)
        defer { try? database.close() }
        try AppDatabase.migrator.migrate(database.pool, upTo: "v11_blob_data")
        let secret = TokenStore.newSecret()
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO tokens (id, digest, roles, label, created_at, created_by)
                    VALUES ('tok_old', ?, '["admin"]', 'old', 0, 'system')
                    """, arguments: [TokenStore.digest(secret)])
        }
        try database.migrate()
        let principal = try await database.read { try TokenStore.resolve($0, secret: secret) }
        #expect(principal?.roles == [.admin])
        #expect(principal?.expiresAt == nil)
        #expect(principal?.isExpired(at: Timestamp.now().adding(days: 10_000)) == false)
        let record = try await database.read { try TokenStore.token($0, id: "tok_old") }
        #expect(record?.expiresAt == nil)
        #expect(try await database.read { try TokenStore.hasActiveAdmin($0, now: .now()) })

        let before = try await database.read { try TokenStore.authGeneration($0) }
        try await database.write { db in try TokenStore.revoke(db, id: "tok_old", now: .now()) }
        let after = try await database.read { try TokenStore.authGeneration($0) }
        #expect(before != nil && after != nil && after! > before!)
        #expect(try await database.read { try TokenStore.resolve($0, secret: secret) } == nil)
    }
}
