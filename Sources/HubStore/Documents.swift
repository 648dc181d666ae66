import Foundation
import GRDB
import HubCore

/// Registry records are stored as a JSON document plus the few columns that are queried or constrained.
/// Reading back decodes the document, so adding a field never needs a migration.
enum Documents {
    static func fetch<T: Decodable>(_ db: Database, _ table: String, id: String) throws -> T? {
        try fetch(db, table, id: id) { try HubJSON.decode(T.self, from: $0) }
    }

    /// The document of one row, read by `decode`.
    static func fetch<T>(_ db: Database, _ table: String, id: String, decode: (String) throws -> T) throws -> T? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT body FROM \(table) WHERE id = ?"), arguments: [id])
            .map(decode)
    }

    /// One page ordered by id, of the rows `filter` selects.
    static func page<T: Decodable & Sendable>(
        _ db: Database, _ table: String, _ filter: SQLFilter = SQLFilter(), after cursor: String?, limit: Int,
        id: (T) -> String
    ) throws -> Page<T> {
        var filter = filter
        try filter.after(cursor)
        var arguments = filter.arguments
        _ = arguments.append(contentsOf: [limit + 1])
        let bodies = try String.fetchAll(
            db, sql: "SELECT body FROM \(table) \(filter.whereClause) ORDER BY id LIMIT ?", arguments: arguments)
        let items = try bodies.map { try HubJSON.decode(T.self, from: $0) }
        return Cursor.page(items, limit: limit, key: id)
    }

    static func exists(_ db: Database, _ table: String, id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM \(table) WHERE id = ?)", arguments: [id]) ?? false
    }
}
