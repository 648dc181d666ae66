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

@Suite struct CheckpointTests {
    func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Writes land in the log; shortly after, the checkpointer has copied them into the database file, which the
    /// writer's own threshold (8,192 pages) would not have done for this little.
    @Test func theLogIsCopiedBackSoonAfterWrites() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("hub.sqlite").path
        let threshold = try await database.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") }
        #expect(threshold == 8192)
        try await database.write { db in
            try db.execute(sql: "CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        }
        let before = size(path)
        let text = String(repeating: "检查检验结果互认 ", count: 200)
        for batch in 0..<20 {
            try await database.write { db in
                for i in 0..<50 {
                    try db.execute(
                        sql: "INSERT INTO filler (id, body) VALUES (?, ?)", arguments: [batch * 50 + i, text])
                }
            }
        }
        // About 5 MB written; wait for it to reach the database file.
        var grown = size(path) - before
        for _ in 0..<100 where grown < 4_000_000 {
            try await Task.sleep(for: .milliseconds(50))
            grown = size(path) - before
        }
        #expect(grown >= 4_000_000, "the database file grew by \(grown) bytes")
        #expect(database.checkpointRuns > 0)
        let count = try await database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM filler") }
        #expect(count == 1000)
    }

    /// At graceful shutdown the checkpointer's connection closes with the others, so the last one to close folds the
    /// log into the database file and removes it, and no checkpoint runs after.
    @Test func closingLeavesNoLogBehind() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("hub.sqlite").path
        try await database.write { try $0.execute(sql: "CREATE TABLE filler (id INTEGER PRIMARY KEY)") }
        for _ in 0..<100 where database.checkpointRuns == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(database.checkpointRuns > 0)
        try await database.write { try $0.execute(sql: "INSERT INTO filler (id) VALUES (1)") }
        try database.close()
        let runs = database.checkpointRuns
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        try await Task.sleep(for: .milliseconds(50))
        #expect(database.checkpointRuns == runs)
    }
}
