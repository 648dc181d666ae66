/// Response header fields in the order received, with case-insensitive lookup.
public struct CurlHeaders: Sendable, RandomAccessCollection {
    /// The raw fields; names keep the case the server sent.
    public private(set) var fields: [(name: String, value: String)]

    /// Creates headers from name/value pairs.
    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    public var startIndex: Int { self.fields.startIndex }
    public var endIndex: Int { self.fields.endIndex }
    public subscript(position: Int) -> (name: String, value: String) { self.fields[position] }

    /// The first value of `name`, compared case-insensitively.
    public subscript(name: String) -> String? {
        self.first(name)
    }

    /// The first value of `name`, compared case-insensitively.
    public func first(_ name: String) -> String? {
        let wanted = name.lowercased()
        return self.fields.first { $0.name.lowercased() == wanted }?.value
    }

    /// Every value of `name` in order, compared case-insensitively.
    public func values(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return self.fields.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    mutating func append(name: String, value: String) {
        self.fields.append((name, value))
    }

    mutating func replaceLast(value: String) {
        guard let last = self.fields.indices.last else { return }
        self.fields[last].value = value
    }

    mutating func removeAll() {
        self.fields.removeAll(keepingCapacity: true)
    }
}

/// A complete, buffered HTTP response. Any status, 4xx and 5xx included, is a
/// response; only transport failures throw.
public struct CurlResponse: Sendable {
    /// The protocol version the response came over.
    public enum HTTPVersion: Sendable, Hashable {
        case http1_0
        case http1_1
        case http2
        case http3
        /// A version this library does not name yet.
        case other(Int)
    }

    /// The final status code (interim 1xx responses are skipped).
    public var status: Int
    /// The final response's header fields.
    public var headers: CurlHeaders
    /// The response body, decoded of transfer encoding but not of content encoding.
    public var body: [UInt8]
    /// The protocol version used.
    public var httpVersion: HTTPVersion
    /// Time from start to last byte, as measured by libcurl.
    public var totalTime: Duration

    /// Creates a response; useful for test doubles.
    public init(
        status: Int,
        headers: CurlHeaders = .init(),
        body: [UInt8] = [],
        httpVersion: HTTPVersion = .http1_1,
        totalTime: Duration = .zero
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.httpVersion = httpVersion
        self.totalTime = totalTime
    }
}
