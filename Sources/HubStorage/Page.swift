import Foundation

/// One page of a keyset-paginated list. `next` is opaque to clients: pass it back as `?next=`.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }

    /// Default and maximum page sizes of the API contract.
    public static var defaultLimit: Int { 50 }
    public static var maxLimit: Int { 500 }
}

/// Encodes and decodes the opaque cursor: base64url of the last key seen.
public enum Cursor {
    public static func encode(_ key: String) -> String {
        Data(key.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ cursor: String) -> String? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard cursor.count <= 512, let data = Data(base64Encoded: base64),
            let key = String(data: data, encoding: .utf8), !key.isEmpty
        else { return nil }
        return key
    }

    /// Builds a page from `limit + 1` fetched rows: the extra row only says that there is more.
    public static func page<Item>(_ rows: [Item], limit: Int, key: (Item) -> String) -> Page<Item> {
        if rows.count > limit {
            let items = Array(rows.prefix(limit))
            return Page(items: items, next: items.last.map { encode(key($0)) })
        }
        return Page(items: rows, next: nil)
    }
}
