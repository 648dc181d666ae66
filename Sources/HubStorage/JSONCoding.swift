import Foundation
import HubCore

/// The one JSON style of the hub, for stored documents and API bodies alike: sorted keys so equal records give
/// equal bytes (idempotency replays and audit digests rely on it), slashes unescaped.
///
/// Values are written by `SortedJSONEncoder` and read by `StrictJSONDecoder`, which follow each type's Codable
/// conformance (the one declaration of a document's shape) and give exactly what Foundation's `JSONEncoder` and
/// `JSONDecoder` in this style give, several times faster; whatever those two leave aside (Foundation's own types,
/// unknown members, malformed text, ...) goes to Foundation's coders, so the bytes and the values never depend on
/// which of them did the work.
public enum HubJSON {
    /// The Foundation types that Foundation's coders write their own way (`Data` as base64, `URL` as a string, ...)
    /// rather than through their Codable conformance: values holding them are left to Foundation's coders.
    static let foundationTypes: [any Any.Type] = [Data.self, URL.self, Decimal.self, Date.self]
    static let sortedEncoder = SortedJSONEncoder(refusing: foundationTypes)
    static let strictDecoder = StrictJSONDecoder(refusing: foundationTypes)

    /// Foundation's encoder in the hub's style: what writes the values the hub's own encoder leaves to it, and the
    /// reference the tests hold that encoder to.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Foundation's decoder: what reads the text the hub's own decoder leaves to it (and says why text is not a
    /// value).
    public static func decoder() -> JSONDecoder {
        JSONDecoder()
    }

    /// The JSON text of `value`, as UTF-8.
    public static func bytes(_ value: some Encodable) throws -> [UInt8] {
        if let bytes = sortedEncoder.encode(value) { return bytes }
        return Array(try encoder().encode(value))
    }

    /// Appends the JSON text of `value` to `bytes`.
    public static func append(_ value: some Encodable, to bytes: inout [UInt8]) throws {
        if sortedEncoder.append(value, to: &bytes) { return }
        bytes.append(contentsOf: try encoder().encode(value))
    }

    public static func encode(_ value: some Encodable) throws -> Data {
        if let bytes = sortedEncoder.encode(value) { return Data(bytes) }
        return try encoder().encode(value)
    }

    public static func encodeString(_ value: some Encodable) throws -> String {
        String(decoding: try bytes(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        if let value = strictDecoder.decode(type, from: text) { return value }
        return try decoder().decode(type, from: Data(text.utf8))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let value = data.withUnsafeBytes { raw in
            strictDecoder.decode(type, from: raw.assumingMemoryBound(to: UInt8.self))
        }
        if let value { return value }
        return try decoder().decode(type, from: data)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        if let value = bytes.withUnsafeBufferPointer({ strictDecoder.decode(type, from: $0) }) { return value }
        return try decoder().decode(type, from: Data(bytes))
    }
}

/// A document the hub stores as JSON text, written and read on hot paths.
public protocol JSONDocument: Codable {}

extension JSONDocument {
    /// The document as `HubJSON` writes it. A stored document holds nothing `JSONEncoder` could refuse (every number
    /// in it is finite), so writing it never fails.
    public var jsonDocument: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// `jsonDocument` as UTF-8.
    public var jsonBytes: [UInt8] {
        do {
            return try HubJSON.bytes(self)
        } catch {
            preconditionFailure("a \(Self.self) could not be written as JSON: \(error)")
        }
    }

    /// The document the whole of `text` holds as the hub's own decoder reads it, or nil when that decoder leaves it
    /// to `JSONDecoder` (anything but what `jsonDocument` writes, laid out any way: a member it does not know, a key
    /// given twice, malformed text, ...).
    public init?(jsonDocument text: String) {
        guard let document = HubJSON.strictDecoder.decode(Self.self, from: text) else { return nil }
        self = document
    }
}

extension ResultRecord: JSONDocument {}
