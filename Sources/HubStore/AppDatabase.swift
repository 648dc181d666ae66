import Foundation
import GRDB
import HubCore
import Logging
import Metrics
import Synchronization

extension Durability {
    var pragma: String {
        switch self {
        case .full: "PRAGMA synchronous = FULL"
        case .normal: "PRAGMA synchronous = NORMAL"
        }
    }
}

/// The hub's one SQLite database: a WAL-mode `DatabasePool` with its migrator.
///
/// One instance per file per process. `hubctl` may open the same file, so a busy timeout lets short
/// overlapping writes wait instead of failing.
public final class AppDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String
    /// Resolved bearer tokens; see `invalidatePrincipals(after:)`.
    public let principals = PrincipalCache()
    /// Institutions by id, for the hot paths that read them on every request; see `invalidatePrincipals(after:)`.
    public let institutions = RecordCache<Institution>()
    /// When the caches last compared the change counter of tokens, practitioners and institutions with the one they
    /// saw before; see `noticeOtherWriters()`.
    private let authWatch = Mutex(AuthWatch())
    /// How long a change made by another process (hubctl, a second hubd on the same file) may go unnoticed by the
    /// principal and institution caches. Changes made through this `AppDatabase` clear them at commit.
    public static let otherWritersStaleness: Duration = .seconds(1)
    private let writeTimer: Metrics.Timer
    private let writer: GroupCommit
    private let checkpointer: Checkpointer
    /// Checkpoints the checkpointer has completed.
    public var checkpointRuns: Int { checkpointer.runs }
    /// Read-only connections for `shortRead`.
    private let shortReaders = Mutex(ShortReaders())
    /// Enough for every thread of the cooperative pool and a few more.
    private static let maximumShortReaders = ProcessInfo.processInfo.activeProcessorCount + 2

    /// Opens (and creates) the database file. Does not migrate: call `migrate()`.
    public init(
        path: String, busyTimeout: Duration = .seconds(5), readers: Int = 8, durability: Durability = .full
    ) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(
            Double(busyTimeout.components.seconds) + Double(busyTimeout.components.attoseconds) / 1e18)
        configuration.maximumReaderCount = readers
        configuration.label = "hub"
        configuration.prepareDatabase { db in
            try db.execute(sql: durability.pragma)
            if !db.configuration.readonly {
                // The one writer touches the upper levels of every index on each insert: a larger page cache keeps
                // them in memory (2 MB by default; readers keep the default).
                try db.execute(sql: "PRAGMA cache_size = -32768")
            }
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        self.pool = try DatabasePool(path: path, configuration: configuration)
        // The pool sets NORMAL on its writer once WAL is on, after `prepareDatabase`: the writer, the one connection
        // that commits, is set again here. Checkpoints are the checkpointer's; the writer's own is a backstop.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: durability.pragma)
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Checkpointer.backstopPages)")
        }
        let checkpointer = Checkpointer(path: path, durability: durability)
        self.checkpointer = checkpointer
        self.writer = GroupCommit(pool: pool, afterBatch: { checkpointer.written() })
        self.path = path
        self.writeTimer = Metrics.Timer(label: "hub.db.write.duration", preferredDisplayUnit: .seconds)
    }

    /// Runs every migration not yet applied. Shipped migrations are never edited; new ones are appended.
    public func migrate() throws {
        try Self.migrator.migrate(pool)
    }

    /// True once the file opens, answers a query and every known migration has run.
    public func isReady() async -> Bool {
        do {
            return try await pool.read { db in
                try Self.migrator.hasCompletedMigrations(db)
            }
        } catch {
            return false
        }
    }

    /// Runs `body` as one atomic write and returns once it has committed: all of its changes or, when it throws,
    /// none. Concurrent writes share transactions (see `GroupCommit`); a large write (thousands of rows, a chunk of a
    /// bulk load) sets `alone` and takes a transaction of its own, without the savepoint a shared one needs. Timed,
    /// from the call to the commit, for the `hub.db.write.duration` metric.
    public func write<T: Sendable>(
        alone: Bool = false, _ body: @escaping @Sendable (Database) throws -> T
    )
        async throws -> T
    {
        let start = ContinuousClock.now
        defer { writeTimer.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - start)) }
        return try await writer.write(alone: alone, body)
    }

    /// A read on one of the pool's reader connections, off the calling thread.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }

    /// A short read (a few rows found through an index) on the calling thread. It spares the hop to a reader's queue
    /// and back, which costs more than such a read; reads that may scan (lists, statistics, exports) use `read`.
    ///
    /// It runs on a read-only connection of its own, taken from `shortReaders`. Those connections are only ever used
    /// synchronously, so a caller never blocks on one held by a suspended task (the pool's readers can be); when all
    /// are in use, the read goes to the pool.
    public func shortRead<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        guard let connection = takeShortReader() else { return try await pool.read(body) }
        defer {
            let closed = shortReaders.withLock { state in
                if !state.closed { state.spare.append(connection) }
                return state.closed
            }
            if closed { try? connection.close() }
        }
        return try Self.readNow(connection, body)
    }

    private static func readNow<T>(_ connection: DatabaseQueue, _ body: (Database) throws -> T) throws -> T {
        try connection.read(body)
    }

    private struct ShortReaders {
        var spare: [DatabaseQueue] = []
        var opened = 0
        var closed = false
    }

    private enum ShortReader {
        case spare(DatabaseQueue)
        case open
        case none
    }

    /// A short-read connection, or nil when all are in use or a new one cannot be opened (the pool serves then).
    private func takeShortReader() -> DatabaseQueue? {
        let next = shortReaders.withLock { state -> ShortReader in
            if let spare = state.spare.popLast() { return .spare(spare) }
            guard !state.closed, state.opened < Self.maximumShortReaders else { return .none }
            state.opened += 1
            return .open
        }
        switch next {
        case .spare(let connection): return connection
        case .none: return nil
        case .open:
            do {
                var configuration = Configuration()
                configuration.readonly = true
                // A reader waits for a lock only during WAL recovery; it must not hold its thread long for it.
                configuration.busyMode = .timeout(0.05)
                configuration.label = "hub.short-read"
                return try DatabaseQueue(path: path, configuration: configuration)
            } catch {
                shortReaders.withLock { $0.opened -= 1 }
                return nil
            }
        }
    }

    /// Clears the principal and institution caches once the current transaction commits (or rolls back). Every write
    /// that changes a token, practitioner or institution calls this.
    public func invalidatePrincipals(after db: Database) {
        let principals = self.principals
        let institutions = self.institutions
        let clear: @Sendable () -> Void = {
            principals.invalidate()
            institutions.invalidate()
        }
        db.afterNextTransaction(onCommit: { _ in clear() }, onRollback: { _ in clear() })
    }

    private struct AuthWatch {
        var checkedAt: ContinuousClock.Instant?
        var seen: Int64?
    }

    /// Clears the principal and institution caches when another connection or process changed a token, practitioner
    /// or institution since the last look. Looks at most once per `otherWritersStaleness` (one short read of one row;
    /// every other call costs a clock read and a lock), so a change made elsewhere is noticed within that time by
    /// every request that starts after it. Call it before a cache lookup.
    public func noticeOtherWriters() async {
        let now = ContinuousClock.now
        let due = authWatch.withLock { watch -> Bool in
            if let at = watch.checkedAt, now - at < Self.otherWritersStaleness { return false }
            watch.checkedAt = now
            return true
        }
        guard due else { return }
        let generation: Int64?
        do { generation = try await shortRead { try TokenStore.authGeneration($0) } } catch { generation = nil }
        let changed = authWatch.withLock { watch -> Bool in
            // Unknown (no counter, or the read failed) counts as changed: the caches are never trusted blindly.
            defer { watch.seen = generation }
            return generation == nil || watch.seen != generation
        }
        if changed {
            principals.invalidate()
            institutions.invalidate()
        }
    }

    /// The institution, from the cache when it is there. `generation` is the cache's, taken before the read that `db`
    /// belongs to began (`institutions.generation`): a record read from a snapshot older than a change is not cached.
    /// Only committed data is cached: reads on the writer (which may see a batch's uncommitted rows) are not.
    public func institution(_ db: Database, id: String, generation: Int) throws -> Institution? {
        if let cached = institutions.lookup(id).0 { return cached }
        guard let read = try RegistryStore.institution(db, id: id) else { return nil }
        if db.configuration.readonly { institutions.store(read, for: id, generation: generation) }
        return read
    }

    /// Closes every connection; later calls fail. Used at graceful shutdown.
    public func close() throws {
        for connection in shortReaders.withLock({ state in
            defer { state.spare.removeAll() }
            state.closed = true
            return state.spare
        }) {
            try connection.close()
        }
        // Before the pool: SQLite's last connection to close checkpoints the log and removes it.
        try checkpointer.close()
        try pool.close()
    }

    private static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}

extension DatabaseError: StoreFailure {
    /// Also true when the transaction was rolled back for one of those.
    public var mayPass: Bool {
        switch resultCode {
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_NOMEM, .SQLITE_CANTOPEN,
            .SQLITE_READONLY, .SQLITE_INTERRUPT, .SQLITE_PROTOCOL, .SQLITE_ABORT:
            true
        default:
            false
        }
    }
}
