import GRDB

/// Which migrations a database file has seen, compared with the ones this build knows. Backups record it, and a
/// restore refuses a file written by a newer hub, whose schema this build could not read safely.
public struct SchemaVersion: Sendable, Equatable {
    /// Every migration recorded in the file, in the order it ran.
    public var applied: [String]
    /// Migrations the file records that this build does not know: a newer hub wrote it.
    public var unknown: [String]
    /// Migrations this build knows that the file has not run yet (`hubd` runs them at start).
    public var pending: [String]

    /// The last migration the file ran, or nil for an empty file.
    public var current: String? { applied.last }

    /// Reads the migrations table of `db` (no table means an empty, never migrated file).
    public static func read(_ db: Database) throws -> SchemaVersion {
        let applied =
            try db.tableExists("grdb_migrations")
            ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") : []
        let known = AppDatabase.migrator.migrations
        return SchemaVersion(
            applied: applied, unknown: applied.filter { !known.contains($0) },
            pending: known.filter { !applied.contains($0) })
    }
}
