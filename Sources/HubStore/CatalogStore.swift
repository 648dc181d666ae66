import Foundation
import GRDB
import HubCore
import Synchronization

/// A catalog version's header, without its items.
public struct CatalogVersionInfo: Sendable, Codable, Equatable {
    public var version: String
    public var effectiveFrom: CivilDate
    public var title: String?
    public var itemCount: Int
    public var publishedAt: Timestamp
    public var publishedBy: String?

    enum CodingKeys: String, CodingKey {
        case version, title
        case effectiveFrom = "effective_from"
        case itemCount = "item_count"
        case publishedAt = "published_at"
        case publishedBy = "published_by"
    }
}

/// Published catalog versions. A version never changes once published, so its index is cached in memory for the
/// life of the process. The short list of versions is checked against the database each time, so a publish is seen by
/// every reader as soon as it commits.
public final class CatalogStore: Sendable {
    private let indexes = Mutex([String: CatalogIndex]())
    /// The versions as last read; see `versions(_:)`.
    private let listed = Mutex<[CatalogVersionInfo]?>(nil)
    /// Encoded answers about one item of one version, by version and code; see `encoded(version:code:make:)`.
    private let answers = Mutex([String: Data]())

    public init() {}

    /// Stores a validated version. Fails with a conflict when the version name exists.
    public func publish(
        _ db: Database, _ version: CatalogVersion, publishedBy: String?, now: Timestamp
    ) throws
        -> CatalogVersionInfo
    {
        try version.validate()
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

    /// The answer about item `code` of `version`, made by `make` the first time: a published version never changes,
    /// so neither does what is said about its items.
    public func encoded(version: String, code: String, make: () throws -> Data) rethrows -> Data {
        let key = version + "\u{0}" + code
        if let cached = answers.withLock({ $0[key] }) { return cached }
        let made = try make()
        answers.withLock { answers in
            if answers.count >= 100_000 { answers.removeAll(keepingCapacity: true) }
            answers[key] = made
        }
        return made
    }

    /// Every version, oldest publication first.
    public func versions(_ db: Database) throws -> [CatalogVersionInfo] {
        // Most requests ask: the list is kept while the number of versions and the last one stay the same (a version
        // is never changed or removed once published), which one indexed lookup tells.
        let (count, last) = try Self.shape(db)
        if let cached = listed.withLock({ $0 }), cached.count == count, cached.last?.version == last {
            return cached
        }
        let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM catalog_versions ORDER BY seq"))
        let versions = rows.map { row in
            CatalogVersionInfo(
                version: row["version"], effectiveFrom: CivilDate(row["effective_from"] as String)!,
                title: row["title"], itemCount: row["item_count"],
                publishedAt: Timestamp(millisecondsSinceEpoch: row["published_at"]), publishedBy: row["published_by"])
        }
        keep(db) { [self] in listed.withLock { $0 = versions } }
        return versions
    }

    /// Keeps what `db` read in a cache: now on a read-only connection (committed data), once its transaction commits
    /// on the writer (which may see rows of writes not committed yet).
    private func keep(_ db: Database, _ store: @escaping @Sendable () -> Void) {
        if db.configuration.readonly || !db.isInsideTransaction {
            store()
        } else {
            db.afterNextTransaction(onCommit: { _ in store() })
        }
    }

    /// How many versions are published, and the name of the last.
    private static func shape(_ db: Database) throws -> (Int, String?) {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT COUNT(*) AS n, (SELECT version FROM catalog_versions ORDER BY seq DESC LIMIT 1) AS last
                    FROM catalog_versions
                    """))
        return (row?["n"] ?? 0, row?["last"])
    }

    /// A whole version with its lookup tables.
    public func index(_ db: Database, version: String) throws -> CatalogIndex? {
        if let cached = indexes.withLock({ $0[version] }) { return cached }
        guard let info = try versions(db).first(where: { $0.version == version }) else { return nil }
        let bodies = try String.fetchAll(
            db, sql: "SELECT body FROM catalog_items WHERE version = ? ORDER BY position", arguments: [version])
        let items = try bodies.map { try HubJSON.decode(CatalogItem.self, from: $0) }
        let index = CatalogIndex(
            CatalogVersion(version: info.version, effectiveFrom: info.effectiveFrom, title: info.title, items: items))
        keep(db) { [self] in indexes.withLock { $0[version] = index } }
        return index
    }

    /// The version in force on `date`.
    public func inForce(_ db: Database, on date: CivilDate) throws -> CatalogIndex? {
        guard let info = CatalogSchedule.inForce(try versions(db), on: date, effectiveFrom: \.effectiveFrom) else {
            return nil
        }
        return try index(db, version: info.version)
    }
}
