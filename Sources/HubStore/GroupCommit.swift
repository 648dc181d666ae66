import Foundation
import GRDB
import Synchronization

/// Group commit: the writes that arrive while the writer is busy share its next transaction.
///
/// SQLite has one writer. Giving each request its own transaction costs a hop onto the writer's queue and back, and a
/// commit that writes the same table and index pages again for every request. Here each write waits in a queue; the
/// writer takes what is queued (up to `maximumBatch` writes) and runs it in one `BEGIN IMMEDIATE … COMMIT`, each write
/// inside its own savepoint:
///
/// - a write that throws rolls back to its savepoint and fails alone; the others commit;
/// - a write succeeds only once the transaction that holds it has committed, so nothing is reported stored before it
///   is in the database file;
/// - writes run in the order they were queued and each sees the ones before it, exactly as separate transactions
///   would;
/// - an error that ends the whole transaction (SQLite rolls it back: a full disk, an I/O error) fails the write that
///   caused it; the writes that had run before it in that transaction run again in a new one;
/// - `afterNextTransaction` hooks fire as the transaction ends: commit hooks when it commits, also for a write in it
///   that rolled back to its savepoint, so they must not assume their own write committed (the hub's only clear
///   caches and wake workers); rollback hooks when it rolls back.
///
/// A write that runs alone in its transaction (nothing else was queued, the next queued write must be alone, or it
/// asked to be alone itself) needs no savepoint: when it throws, the whole transaction rolls back. This matters for
/// large writes. Under a savepoint, SQLite copies every page a write changes into a side journal, so that it could
/// roll back to it; past 64 KB that journal is a temporary file, and a chunk of a bulk load wrote about four pages
/// there for every result it stored.
final class GroupCommit: Sendable {
    /// One queued write: `attempt` runs it on the writer, `complete` reports its outcome (nil: committed). An `alone`
    /// write never shares its transaction.
    struct Job: Sendable {
        let attempt: @Sendable (Database) throws -> Void
        let complete: @Sendable ((any Error)?) -> Void
        var alone = false
    }

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    /// At most this many writes share a transaction, so the first of them is not kept waiting by a long queue.
    let maximumBatch: Int

    /// Called on the writer's queue after each batch of transactions.
    let afterBatch: @Sendable () -> Void

    init(pool: DatabasePool, maximumBatch: Int = 64, afterBatch: @escaping @Sendable () -> Void = {}) {
        self.pool = pool
        self.maximumBatch = maximumBatch
        self.afterBatch = afterBatch
    }

    /// How many writes wait for the writer now.
    var queuedWrites: Int { state.withLock { $0.pending.count } }

    /// Runs `body` in the writer's next transaction, or in a transaction of its own when `alone` is set, and returns
    /// its value once that transaction has committed.
    func write<T: Sendable>(alone: Bool = false, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let box = OutcomeBox<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            enqueue(
                Job(
                    attempt: { db in box.value = try body(db) },
                    complete: { error in
                        if let error {
                            continuation.resume(throwing: error)
                        } else if let value = box.value {
                            continuation.resume(returning: value)
                        } else {
                            continuation.resume(throwing: DatabaseError(message: "a committed write left no value"))
                        }
                    }, alone: alone))
        }
    }

    private func enqueue(_ job: Job) {
        let start = state.withLock { state -> Bool in
            state.pending.append(job)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if start {
            pool.asyncWriteWithoutTransaction { [self] db in drain(db) }
        }
    }

    /// On the writer's queue: runs batches until nothing is queued.
    private func drain(_ db: Database) {
        while true {
            let batch = state.withLock { state -> ArraySlice<Job> in
                let count = Self.batchSize(state.pending, maximum: maximumBatch)
                let batch = state.pending[..<count]
                state.pending.removeFirst(count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            let outcomes = Self.run(Array(batch), db)
            afterBatch()
            for (job, outcome) in zip(batch, outcomes) {
                job.complete(outcome)
            }
        }
    }

    /// How many of the queued jobs, from the first, the next transaction takes: a job that must be alone, or the
    /// shared jobs up to the next one that must (at most `maximum`), so that they still run in the order queued.
    static func batchSize(_ pending: [Job], maximum: Int) -> Int {
        guard let first = pending.first else { return 0 }
        if first.alone { return 1 }
        return pending.prefix(max(1, maximum)).prefix { !$0.alone }.count
    }

    /// Runs the jobs in as few transactions as possible and returns each one's outcome (nil: committed).
    ///
    /// When a job's error ends the whole transaction, that job fails, and the jobs that had run before it in the same
    /// transaction (their work was rolled back with it) run again in the next one.
    static func run(_ jobs: [Job], _ db: Database) -> [(any Error)?] {
        if jobs.count == 1 { return [runAlone(jobs[0], db)] }
        var outcomes = [(any Error)?](repeating: nil, count: jobs.count)
        var queue = Array(jobs.indices)
        while !queue.isEmpty {
            do {
                try db.beginTransaction(.immediate)
            } catch {
                for i in queue { outcomes[i] = error }
                break
            }
            var members: [Int] = []
            var rerun: [Int] = []
            var position = 0
            while position < queue.count {
                let i = queue[position]
                position += 1
                do {
                    try db.inSavepoint {
                        try jobs[i].attempt(db)
                        return .commit
                    }
                    members.append(i)
                } catch {
                    outcomes[i] = error
                    if !db.isInsideTransaction {
                        // SQLite rolled back the whole transaction: what the members before wrote is gone too.
                        rerun = members
                        members = []
                        break
                    }
                }
            }
            if db.isInsideTransaction {
                do {
                    try db.commit()
                } catch {
                    try? db.rollback()
                    for member in members { outcomes[member] = error }
                }
            }
            queue = rerun + queue[position...]
        }
        return outcomes
    }

    /// One job in a transaction of its own, without a savepoint: when it throws, the transaction rolls back. GRDB's
    /// transaction block also guards a job that swallows an error after which SQLite has rolled the transaction back
    /// (a full disk, an I/O error): its next statement fails with `SQLITE_ABORT` instead of committing on its own, so
    /// the job fails and nothing of it is stored.
    static func runAlone(_ job: Job, _ db: Database) -> (any Error)? {
        do {
            try db.inTransaction(.immediate) {
                try job.attempt(db)
                return .commit
            }
            return nil
        } catch {
            return error
        }
    }
}

/// A write's value, set on the writer's queue before the write completes and read once after.
private final class OutcomeBox<T>: @unchecked Sendable {
    var value: T?
}
