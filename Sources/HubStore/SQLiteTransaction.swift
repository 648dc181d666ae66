import Foundation
import GRDB
import HubCore

/// A transaction of the SQLite store, as `StoreReader` and `StoreWriter`: each method runs the store's SQL on `db`.
public struct SQLiteTransaction: StoreWriter {
    public let db: Database
    let database: AppDatabase
    /// The institution cache's generation, taken before the read `db` belongs to began.
    let generation: Int

    init(_ db: Database, database: AppDatabase, generation: Int) {
        self.db = db
        self.database = database
        self.generation = generation
    }

    public func cachedInstitution(id: String) throws -> Institution? {
        try database.institution(db, id: id, generation: generation)
    }

    public func whenCommitted(_ action: @escaping @Sendable () -> Void) {
        if db.configuration.readonly || !db.isInsideTransaction {
            action()
        } else {
            db.afterNextTransaction(onCommit: { _ in action() })
        }
    }

    public func invalidateCachedPrincipals() {
        database.invalidatePrincipals(after: db)
    }
}

extension SQLiteTransaction: CatalogWrites {
    public func catalogShape() throws -> (count: Int, last: String?) {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT COUNT(*) AS n, (SELECT version FROM catalog_versions ORDER BY seq DESC LIMIT 1) AS last
                    FROM catalog_versions
                    """))
        return (row?["n"] ?? 0, row?["last"])
    }

    public func catalogVersions() throws -> [CatalogVersionInfo] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM catalog_versions ORDER BY seq")).map { row in
            CatalogVersionInfo(
                version: row["version"], effectiveFrom: CivilDate(row["effective_from"] as String)!,
                title: row["title"], itemCount: row["item_count"],
                publishedAt: Timestamp(millisecondsSinceEpoch: row["published_at"]), publishedBy: row["published_by"])
        }
    }

    public func catalogItems(version: String) throws -> [CatalogItem] {
        let bodies = try String.fetchAll(
            db, sql: "SELECT body FROM catalog_items WHERE version = ? ORDER BY position", arguments: [version])
        return try bodies.map { try HubJSON.decode(CatalogItem.self, from: $0) }
    }

    public func publish(_ version: CatalogVersion, publishedBy: String?, now: Timestamp) throws -> CatalogVersionInfo {
        if try Bool.fetchOne(
            db, sql: "SELECT EXISTS(SELECT 1 FROM catalog_versions WHERE version = ?)", arguments: [version.version])
            ?? false
        {
            throw HubError.conflict("catalog version '\(version.version)' is already published", field: "version")
        }
        let seq = (try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM catalog_versions") ?? 0) + 1
        let info = CatalogVersionInfo(
            version: version.version, effectiveFrom: version.effectiveFrom, title: version.title,
            itemCount: version.items.count, publishedAt: now, publishedBy: publishedBy)
        try db.execute(
            sql: """
                INSERT INTO catalog_versions (version, seq, effective_from, title, item_count, published_at, published_by)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                info.version, seq, info.effectiveFrom.description, info.title, info.itemCount,
                now.millisecondsSinceEpoch, publishedBy,
            ])
        let statement = try db.cachedStatement(
            sql: "INSERT INTO catalog_items (version, code, position, kind, category, body) VALUES (?, ?, ?, ?, ?, ?)")
        for (position, item) in version.items.enumerated() {
            try statement.execute(arguments: [
                version.version, item.code, position, item.kind.rawValue, item.category.rawValue,
                try HubJSON.encodeString(item),
            ])
        }
        return info
    }
}

/// The SQLite store behind `Storage`: `AppDatabase`'s transactions, seen through `SQLiteTransaction`.
public struct SQLiteStorage: Storage {
    public let database: AppDatabase

    public init(_ database: AppDatabase) {
        self.database = database
    }

    public func write<T: Sendable>(
        alone: Bool, _ body: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws -> T {
        let database = database
        let generation = database.institutions.generation
        return try await database.write(alone: alone) { db in
            try body(SQLiteTransaction(db, database: database, generation: generation))
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let database = database
        let generation = database.institutions.generation
        return try await database.read { db in
            try body(SQLiteTransaction(db, database: database, generation: generation))
        }
    }

    public func shortRead<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let database = database
        let generation = database.institutions.generation
        return try await database.shortRead { db in
            try body(SQLiteTransaction(db, database: database, generation: generation))
        }
    }

    public var principals: PrincipalCache { database.principals }
    public var institutions: RecordCache<Institution> { database.institutions }

    public func noticeOtherWriters() async {
        await database.noticeOtherWriters()
    }

    public func migrate() async throws {
        try database.migrate()
    }

    public func isReady() async -> Bool {
        await database.isReady()
    }

    public func rekeyPatientsIfPending(keys: PatientKeys) async throws -> PatientRekey.Outcome {
        try await PatientRekey.runIfPending(database, keys: keys)
    }
}
