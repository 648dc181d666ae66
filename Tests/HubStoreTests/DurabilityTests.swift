import Foundation
import GRDB
import HubStore
import Testing

@Suite struct DurabilityTests {
    /// SQLite's `synchronous` as the writer and a reader see it: 2 is FULL, 1 is NORMAL.
    func synchronous(_ database: AppDatabase) async throws -> (writer: Int?, reader: Int?) {
        let writer = try await database.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        let reader = try await database.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        return (writer, reader)
    }

    @Test func commitsAreFlushedToDiskByDefault() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modes = try await synchronous(database)
        #expect(modes.writer == 2)
        #expect(modes.reader == 2)
    }

    @Test func normalDurabilityFlushesOnlyAtCheckpoints() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try AppDatabase(
            path: directory.appendingPathComponent("hub.sqlite").path, durability: .normal)
        try database.migrate()
        let modes = try await synchronous(database)
        #expect(modes.writer == 1)
        #expect(modes.reader == 1)
    }
}
