import Foundation
import GRDB
import HubCore

/// AND-ed SQL conditions with their arguments, built from optional filters: a nil value adds nothing.
struct SQLFilter {
    private(set) var conditions: [String] = []
    private(set) var arguments = StatementArguments()

    /// Adds `condition` (with one `?`) when `value` is present.
    mutating func add(_ condition: String, _ value: (any DatabaseValueConvertible)?) {
        guard let value else { return }
        conditions.append(condition)
        _ = arguments.append(contentsOf: [value])
    }

    /// Adds a condition with any number of arguments.
    mutating func add(_ condition: String, arguments more: StatementArguments) {
        conditions.append(condition)
        _ = arguments.append(contentsOf: more)
    }

    /// Adds `condition` with its one `(?)` expanded to a placeholder per value, when `values` is present; an empty
    /// list matches nothing. `add("center_id IN (?)", list: ids)`.
    /// `?,?,…`: one parameter mark for each of `count` values, for an `IN (…)` list.
    static func marks(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ",")
    }

    mutating func add(_ condition: String, list values: [String]?) {
        guard let values else { return }
        if values.isEmpty {
            conditions.append("0")
            return
        }
        let marks = "(" + Self.marks(values.count) + ")"
        conditions.append(condition.replacingOccurrences(of: "(?)", with: marks))
        _ = arguments.append(contentsOf: StatementArguments(values))
    }

    /// Adds `column > ?` for the key an opaque cursor names.
    mutating func after(_ cursor: String?, column: String = "id") throws {
        guard let cursor else { return }
        guard let last = Cursor.decode(cursor) else {
            throw HubError.validation("next", "is not a cursor from this API")
        }
        add("\(column) > ?", last)
    }

    /// `WHERE …`, or nothing when there are no conditions.
    var whereClause: String { conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ") }
}
