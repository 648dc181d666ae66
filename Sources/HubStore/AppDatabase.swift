import Foundation
import GRDB
import HubCore
import Logging
import Metrics

/// The hub's one SQLite database: a WAL-mode `DatabasePool` with its migrator.
///
/// One instance per file per process. `hubctl` may open the same file, so a busy timeout lets short
/// overlapping writes wait instead of failing.
public final class AppDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String
    /// Resolved bearer tokens; see `invalidatePrincipals(after:)`.
    public let principals = PrincipalCache()
    private let writeTimer: Metrics.Timer

    /// Opens (and creates) the database file. Does not migrate: call `migrate()`.
    public init(path: String, busyTimeout: Duration = .seconds(5), readers: Int = 8) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(
            Double(busyTimeout.components.seconds) + Double(busyTimeout.components.attoseconds) / 1e18)
        configuration.maximumReaderCount = readers
        configuration.label = "hub"
        configuration.prepareDatabase { db in
            // NORMAL is durable in WAL mode across application crashes; a power loss may lose only the last
            // transactions, never corrupt the file.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        self.pool = try DatabasePool(path: path, configuration: configuration)
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

    /// A write transaction, timed for the `hub.db.write.duration` metric.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let start = ContinuousClock.now
        defer { writeTimer.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - start)) }
        return try await pool.write(body)
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }

    /// Clears the principal cache once the current transaction commits (or rolls back). Every write that changes a
    /// token, practitioner or institution calls this.
    public func invalidatePrincipals(after db: Database) {
        let principals = self.principals
        db.afterNextTransaction(
            onCommit: { _ in principals.invalidate() }, onRollback: { _ in principals.invalidate() })
    }

    /// Closes every connection; later calls fail. Used at graceful shutdown.
    public func close() throws {
        try pool.close()
    }

    private static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}

extension Timestamp {
    /// The current time from the system clock.
    public static func now() -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
