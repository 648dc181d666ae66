import Foundation
import HTTPTypes
import HubCore
import HubStorage
import Hummingbird
import NIOCore

/// Reading JSON bodies and writing JSON answers, with every decoding failure turned into a problem naming the field.
enum JSONIO {
    /// The raw body, at most `limit` bytes; larger bodies are refused before they are read whole.
    static func body(_ request: Request, limit: Int) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw HubError.payloadTooLarge(limit: limit)
        }
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw HubError.payloadTooLarge(limit: limit)
        }
    }

    /// Decodes a JSON body into `T`, returning the raw bytes too (for idempotency digests).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> (T, Data) {
        try requireJSON(request)
        let data = try await body(request, limit: limit)
        return (try decode(type, from: data), data)
    }

    static func requireJSON(_ request: Request) throws {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map {
            $0.trimmingASCIIWhitespace().lowercased()
        }
        guard let mediaType else {
            throw HubError.unsupportedMediaType("send the body as application/json (Content-Type is missing)")
        }
        guard mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
        else {
            throw HubError.unsupportedMediaType("send the body as application/json, not \(mediaType)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if data.isEmpty { throw HubError.malformed("the body is empty; a JSON object is expected") }
        do {
            return try HubJSON.decode(type, from: data)
        } catch let error as DecodingError {
            throw HubError(decoding: error)
        }
    }

    /// A JSON answer.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        response(data: try HubJSON.encode(value), status: status)
    }

    static func response(data: Data, status: HTTPResponse.Status, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A list answer: `items` plus the opaque `next` cursor.
struct ListResponse<Item: Encodable & Sendable>: Encodable {
    var items: [Item]
    var next: String?

    init(_ page: Page<Item>) {
        self.items = page.items
        self.next = page.next
    }
}

extension Request {
    /// `?limit=` within the contract's bounds.
    func limit() throws -> Int {
        guard let text = uri.queryParameters.get("limit") else { return Page<Int>.defaultLimit }
        guard let value = Int(String(text)), (1...Page<Int>.maxLimit).contains(value) else {
            throw HubError.validation("limit", "must be a whole number from 1 to \(Page<Int>.maxLimit)")
        }
        return value
    }

    /// `?next=`.
    var cursor: String? { uri.queryParameters.get("next") }

    /// A query parameter as a string, nil when absent or empty.
    func query(_ name: String) -> String? {
        guard let value = uri.queryParameters.get(name), !value.isEmpty else { return nil }
        return value
    }

    /// A query parameter that is an RFC 3339 time; with `datesAt` a plain date (YYYY-MM-DD) is accepted too and
    /// means the start of that day at the given UTC offset.
    func time(_ name: String, datesAt utcOffsetMinutes: Int? = nil) throws -> Timestamp? {
        guard let text = query(name) else { return nil }
        if let utcOffsetMinutes, let date = CivilDate(text) {
            return date.startTimestamp(utcOffsetMinutes: utcOffsetMinutes)
        }
        guard let time = Timestamp(rfc3339: text) else {
            let forms = utcOffsetMinutes == nil ? "an RFC 3339 time" : "a date (YYYY-MM-DD) or an RFC 3339 time"
            throw HubError.validation(name, "must be \(forms) such as 2026-03-01T00:00:00Z")
        }
        return time
    }

    /// A query parameter that must be one of an enum's values.
    func query<E: RawRepresentable & CaseIterable>(_ name: String, as type: E.Type) throws -> E?
    where E.RawValue == String {
        guard let text = query(name) else { return nil }
        guard let value = E(rawValue: text) else {
            throw HubError.validation(name, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}
