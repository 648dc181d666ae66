import Crypto
import Foundation
import HubCore
import HubStorage

/// A creating request's `Idempotency-Key`, with what identifies the request it came with: the same key and the
/// same body replay the first answer; the same key with another body is refused.
public struct Idempotency: Sendable {
    public var key: String
    /// The practitioner, or the token of a service, that keys belong to.
    public var scope: String
    public var method: String
    public var path: String
    /// `digest(of:)` of the body.
    public var bodyDigest: String

    public init(key: String, scope: String, method: String, path: String, bodyDigest: String) {
        self.key = key
        self.scope = scope
        self.method = method
        self.path = path
        self.bodyDigest = bodyDigest
    }

    /// Whether `key` may be an `Idempotency-Key`: 1 to 255 visible ASCII characters.
    public static func validate(_ key: String) throws(HubError) {
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw HubError.validation("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
        }
    }

    /// A digest of the body's meaning: key order and white space do not change it, so a client that rebuilds the
    /// same JSON for a retry is recognised.
    public static func digest(of body: Data) -> String {
        var canonical = body
        if let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]),
            let sorted = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])
        {
            canonical = sorted
        }
        return SHA256.hash(data: canonical).withUnsafeBytes(Hex.encode)
    }
}

/// What a creating write answers: its JSON document and status, as first written, and whether this answer is the
/// replay of an earlier request with the same `Idempotency-Key`.
public struct Created: Sendable {
    public var status: Int
    public var body: Data
    public var replayed: Bool
}

extension Storage {
    /// Runs a creating write: the replay lookup, `perform` (the write and its audit record), and the remembered
    /// answer all commit in one transaction. Like every write, `perform` may run more than once (group commit).
    public func create<T: Encodable & Sendable>(
        idempotency: Idempotency?, status: Int = 201, now: Timestamp,
        _ perform: @escaping @Sendable (any StoreWriter, Timestamp) throws -> T
    ) async throws -> Created {
        try await write { db -> Created in
            if let idempotency,
                let replay = try db.idempotentAnswer(
                    scope: idempotency.scope, key: idempotency.key, method: idempotency.method,
                    path: idempotency.path, bodyDigest: idempotency.bodyDigest)
            {
                return Created(status: replay.status, body: replay.body, replayed: true)
            }
            let value = try perform(db, now)
            let data = try HubJSON.encode(value)
            if let idempotency {
                try db.rememberAnswer(
                    scope: idempotency.scope, key: idempotency.key, method: idempotency.method,
                    path: idempotency.path, bodyDigest: idempotency.bodyDigest, status: status, body: data, now: now)
            }
            return Created(status: status, body: data, replayed: false)
        }
    }
}
