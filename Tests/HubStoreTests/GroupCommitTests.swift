import Foundation
import GRDB
import HubCore
import Synchronization
import Testing

@testable import HubStore

private struct Refused: Error, Equatable {
    var n: Int
}

@Suite struct GroupCommitTests {
    /// A job for `GroupCommit.run` that inserts `values` into `t`, then throws when `fail` is set.
    private func insert(_ values: [Int], fail: Bool = false, alone: Bool = false) -> GroupCommit.Job {
        GroupCommit.Job(
            attempt: { db in
                for n in values { try db.execute(sql: "INSERT INTO t (n) VALUES (?)", arguments: [n]) }
                if fail { throw Refused(n: values[0]) }
            },
            complete: { _ in }, alone: alone)
    }

    private func insert(_ n: Int, fail: Bool = false, alone: Bool = false) -> GroupCommit.Job {
        insert([n], fail: fail, alone: alone)
    }

    private func scratch() throws -> (DatabaseQueue, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("group-commit-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("t.sqlite").path)
        try queue.write { try $0.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL UNIQUE)") }
        return (queue, directory)
    }

    @Test func aWriteThatThrowsRollsBackAloneAndTheRestOfItsTransactionCommits() throws {
        let (queue, directory) = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (outcomes, left) = queue.writeWithoutTransaction { db in
            (
                GroupCommit.run([insert(1), insert(2, fail: true), insert(3), insert(3), insert(4)], db),
                db.isInsideTransaction
            )
        }
        #expect(!left, "the transaction is committed, not left open")
        #expect(outcomes.map { $0 == nil } == [true, false, true, false, true])
        #expect((outcomes[1] as? Refused) == Refused(n: 2))
        // The second 3 breaks the UNIQUE constraint: a statement error, which leaves the transaction open.
        #expect((outcomes[3] as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT)
        let stored = try queue.read { try Int.fetchAll($0, sql: "SELECT n FROM t ORDER BY n") }
        #expect(stored == [1, 3, 4])
    }

    @Test func aWriteThatEndsTheTransactionFailsAloneAndTheWritesBeforeItRunAgain() throws {
        let (queue, directory) = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let rollback = GroupCommit.Job(attempt: { try $0.execute(sql: "ROLLBACK") }, complete: { _ in })
        let (outcomes, left) = queue.writeWithoutTransaction { db in
            (GroupCommit.run([insert(1), insert(2), rollback, insert(3)], db), db.isInsideTransaction)
        }
        // 1 and 2 were rolled back with the transaction, through no fault of theirs: they ran again.
        #expect(outcomes.map { $0 == nil } == [true, true, false, true])
        #expect(!left)
        let stored = try queue.read { try Int.fetchAll($0, sql: "SELECT n FROM t ORDER BY n") }
        #expect(stored == [1, 2, 3])
    }

    @Test func aTransactionTakesTheSharedWritesUpToTheNextThatMustBeAloneAndKeepsTheirOrder() {
        func job(_ alone: Bool) -> GroupCommit.Job {
            GroupCommit.Job(attempt: { _ in }, complete: { _ in }, alone: alone)
        }
        func sizes(_ pending: [Bool], maximum: Int) -> [Int] {
            var queue = pending.map(job)
            var sizes: [Int] = []
            while !queue.isEmpty {
                let size = GroupCommit.batchSize(queue, maximum: maximum)
                sizes.append(size)
                queue.removeFirst(size)
            }
            return sizes
        }
        #expect(GroupCommit.batchSize([], maximum: 64) == 0)
        #expect(sizes([false, false, true, false, true, true, false], maximum: 64) == [2, 1, 1, 1, 1, 1])
        #expect(sizes([false, false, false, false, false], maximum: 2) == [2, 2, 1])
        #expect(sizes([true, false, false, false], maximum: 2) == [1, 2, 1])
        #expect(sizes([false, false], maximum: 0) == [1, 1])
    }

    @Test func aWriteAloneCommitsWhollyOrLeavesNothing() throws {
        let (queue, directory) = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (stored, refused, clashed, left) = queue.writeWithoutTransaction { db in
            (
                GroupCommit.run([insert(Array(0..<500), alone: true)], db),
                GroupCommit.run([insert(Array(500..<1000), fail: true, alone: true)], db),
                // A statement error half-way (499 is stored): what the write inserted before it is gone too.
                GroupCommit.run([insert(Array(1000..<1005) + [499, 1005], alone: true)], db),
                db.isInsideTransaction
            )
        }
        #expect(stored.count == 1 && stored[0] == nil)
        #expect((refused.first as? Refused) == Refused(n: 500))
        #expect((clashed.first as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT)
        #expect(!left, "a write alone that fails rolls its transaction back")
        let values = try queue.read { try Int.fetchAll($0, sql: "SELECT n FROM t ORDER BY n") }
        #expect(values == Array(0..<500))
    }

    /// The transaction statements a connection runs, and its inserts, in order.
    private final class StatementLog: Sendable {
        private let lines = Mutex<[String]>([])

        func trace(_ db: Database) {
            db.trace(options: .statement) { event in
                guard case .statement(let statement) = event else { return }
                let word = statement.sql.prefix { $0 != " " }.uppercased()
                guard ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "INSERT"].contains(word) else { return }
                self.lines.withLock { $0.append(word == "INSERT" ? statement.expandedSQL : word) }
            }
        }

        var statements: [String] { lines.withLock { $0 } }
    }

    @Test func aWriteAloneRunsWithoutASavepointAndSharedWritesEachInOne() throws {
        let (queue, directory) = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = StatementLog()
        let outcomes = queue.writeWithoutTransaction { db in
            log.trace(db)
            return GroupCommit.run([insert(1, alone: true)], db) + GroupCommit.run([insert(2), insert(3)], db)
                + GroupCommit.run([insert(4)], db)
        }
        #expect(outcomes.allSatisfy { $0 == nil })
        #expect(
            log.statements == [
                "BEGIN", "INSERT INTO t (n) VALUES (1)", "COMMIT",
                "BEGIN", "SAVEPOINT", "INSERT INTO t (n) VALUES (2)", "RELEASE", "SAVEPOINT",
                "INSERT INTO t (n) VALUES (3)", "RELEASE", "COMMIT",
                "BEGIN", "INSERT INTO t (n) VALUES (4)", "COMMIT",
            ])
    }

    /// A write alone that swallows an error after which SQLite rolled its transaction back must not go on storing
    /// rows one statement at a time: it fails, and nothing of it is stored.
    @Test func aWriteAloneThatSwallowsAnAbortedTransactionFailsAndStoresNothing() throws {
        let (queue, directory) = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        try queue.write { try $0.execute(sql: "INSERT INTO t (n) VALUES (1)") }
        let swallowing = GroupCommit.Job(
            attempt: { db in
                try db.execute(sql: "INSERT INTO t (n) VALUES (2)")
                // The UNIQUE clash with OR ROLLBACK ends the whole transaction; the error is ignored.
                try? db.execute(sql: "INSERT OR ROLLBACK INTO t (n) VALUES (1)")
                try db.execute(sql: "INSERT INTO t (n) VALUES (3)")
            }, complete: { _ in }, alone: true)
        let (outcomes, left) = queue.writeWithoutTransaction { db in
            (GroupCommit.run([swallowing], db), db.isInsideTransaction)
        }
        #expect((outcomes[0] as? DatabaseError)?.resultCode == .SQLITE_ABORT, "\(String(describing: outcomes[0]))")
        #expect(!left)
        let stored = try queue.read { try Int.fetchAll($0, sql: "SELECT n FROM t ORDER BY n") }
        #expect(stored == [1])
    }

    /// The writer's own loop: writes queued while it is busy are taken in order, shared ones together, one that must
    /// be alone by itself, each in the transaction `batchSize` cuts.
    @Test(.timeLimit(.minutes(5)))
    func theWriterCutsItsQueueIntoTransactionsAtWritesThatMustBeAlone() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("group-commit-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try DatabasePool(path: directory.appendingPathComponent("t.sqlite").path)
        defer { try? pool.close() }
        let log = StatementLog()
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL UNIQUE)")
            log.trace(db)
        }
        let commit = GroupCommit(pool: pool)
        let started = Mutex(false)
        let gate = DispatchSemaphore(value: 0)
        // The first write holds the writer until the others are queued behind it.
        let first = Task {
            try await commit.write { db in
                started.withLock { $0 = true }
                gate.wait()
                try db.execute(sql: "INSERT INTO t (n) VALUES (0)")
            }
        }
        while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
        var queued: [Task<Void, any Error>] = []
        for (n, alone) in [(1, false), (2, false), (3, true), (4, false), (5, false)] {
            queued.append(
                Task { try await commit.write(alone: alone) { try $0.execute(sql: "INSERT INTO t (n) VALUES (\(n))") } }
            )
            while commit.queuedWrites < n { try await Task.sleep(for: .milliseconds(1)) }
        }
        gate.signal()
        try await first.value
        for task in queued { try await task.value }
        #expect(
            log.statements == [
                "BEGIN", "INSERT INTO t (n) VALUES (0)", "COMMIT",
                "BEGIN", "SAVEPOINT", "INSERT INTO t (n) VALUES (1)", "RELEASE", "SAVEPOINT",
                "INSERT INTO t (n) VALUES (2)", "RELEASE", "COMMIT",
                "BEGIN", "INSERT INTO t (n) VALUES (3)", "COMMIT",
                "BEGIN", "SAVEPOINT", "INSERT INTO t (n) VALUES (4)", "RELEASE", "SAVEPOINT",
                "INSERT INTO t (n) VALUES (5)", "RELEASE", "COMMIT",
            ])
    }

    @Test func concurrentWritesAloneAndSharedEachCommitOnceOrLeaveNothing() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await database.write { try $0.execute(sql: "CREATE TABLE t (writer INTEGER NOT NULL, n INTEGER NOT NULL)") }
        // Every third write is a large one alone; every seventh write fails after inserting its rows.
        let writers = 120
        let outcomes = await Self.succeeded(writers) { i in
            let rows = i % 3 == 0 ? 300 : 2
            try await database.write(alone: i % 3 == 0) { db in
                for n in 0..<rows {
                    try db.execute(sql: "INSERT INTO t (writer, n) VALUES (?, ?)", arguments: [i, n])
                }
                if i % 7 == 5 { throw Refused(n: i) }
            }
        }
        #expect(outcomes.count == writers)
        for (i, ok) in outcomes { #expect(ok == (i % 7 != 5), "write \(i)") }
        let counts = try await database.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(
                    db, sql: "SELECT writer, count(*) AS rows FROM t GROUP BY writer"
                )
                .map { (($0["writer"] as Int), ($0["rows"] as Int)) })
        }
        let expected = Dictionary(
            uniqueKeysWithValues: (0..<writers).filter { $0 % 7 != 5 }.map { ($0, $0 % 3 == 0 ? 300 : 2) })
        #expect(counts == expected)
    }

    @Test func concurrentWritesEachCommitOnceAndTheAuditChainHolds() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let count = 400
        let outcomes = await Self.succeeded(count) { i in
            let seq = try await database.write { db -> Int64 in
                let record = try AuditLog.append(
                    db,
                    AuditEvent(
                        actor: "prc_\(i)", institutionId: nil, action: "test.write", targetType: "test",
                        targetId: "\(i)"),
                    at: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + Int64(i)))
                // Every 10th write changes its mind after appending.
                if i % 10 == 3 { throw Refused(n: i) }
                return record.seq
            }
            #expect(seq > 0)
        }
        #expect(outcomes.count == count)
        for (i, ok) in outcomes { #expect(ok == (i % 10 != 3), "write \(i)") }
        let (verification, targets) = try await database.read { db in
            (
                try AuditLog.verify(db),
                try String.fetchAll(db, sql: "SELECT target_id FROM audit_log WHERE action = 'test.write'")
            )
        }
        #expect(verification.isIntact)
        #expect(verification.checked == count - count / 10)
        #expect(Set(targets) == Set((0..<count).filter { $0 % 10 != 3 }.map(String.init)))
    }

    // The limit catches a deadlock, which never ends; the whole suite shares two cooperative threads, and while its
    // heavy tests run this one's 900 hops between tasks may take over a minute.
    @Test(.timeLimit(.minutes(5)))
    func shortReadsSeeCommittedWritesAndMixWithPoolReadsWithoutDeadlock() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await database.write { try $0.execute(sql: "CREATE TABLE t (n INTEGER PRIMARY KEY)") }
        // Many more tasks than reader connections, alternating the two kinds of read: short reads block their
        // thread, so they must never wait for a pool reader held by a suspended task.
        let found = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<300 {
                group.addTask {
                    try await database.write { try $0.execute(sql: "INSERT INTO t (n) VALUES (?)", arguments: [i]) }
                    let short = try await database.shortRead {
                        try Int.fetchOne($0, sql: "SELECT n FROM t WHERE n = ?", arguments: [i])
                    }
                    let pooled = try await database.read {
                        try Int.fetchOne($0, sql: "SELECT n FROM t WHERE n = ?", arguments: [i])
                    }
                    return short == i && pooled == i
                }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(found == 300)
        // A short reader is read-only.
        await #expect(throws: DatabaseError.self) {
            try await database.shortRead { try $0.execute(sql: "INSERT INTO t (n) VALUES (-1)") }
        }
    }

    /// Runs `body(0..<count)` concurrently and tells, for each, whether it returned without throwing.
    private static func succeeded(
        _ count: Int, _ body: @escaping @Sendable (Int) async throws -> Void
    ) async -> [Int: Bool] {
        await withTaskGroup(of: (Int, Bool).self) { group in
            for i in 0..<count {
                group.addTask {
                    do {
                        try await body(i)
                        return (i, true)
                    } catch {
                        return (i, false)
                    }
                }
            }
            var outcomes: [Int: Bool] = [:]
            for await (i, ok) in group { outcomes[i] = ok }
            return outcomes
        }
    }
}
