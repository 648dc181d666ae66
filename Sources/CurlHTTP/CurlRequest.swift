/// One HTTP request to run with ``CurlHTTPClient``.
///
/// A plain value: build it, adjust fields, and hand it to `execute`. Options
/// left `nil` fall back to the client's ``CurlHTTPClient/Configuration``.
public struct CurlRequest: Sendable {
    /// The request body.
    public enum Body: Sendable {
        /// No body. POST, PUT and PATCH still send `Content-Length: 0`.
        case none
        /// An in-memory body.
        case bytes([UInt8])
        /// A file streamed from disk while sending; never loaded whole.
        /// Its size is read when the transfer starts.
        case file(path: String)
    }

    /// The HTTP protocol version to ask libcurl for.
    public enum HTTPVersion: Sendable, Hashable {
        /// HTTP/1.1 only.
        case http1_1
        /// HTTP/2 over TLS, negotiated with ALPN; plain `http://` URLs use HTTP/1.1.
        case http2
        /// HTTP/2 without negotiation (h2c prior knowledge); the server must speak HTTP/2.
        case http2PriorKnowledge
    }

    /// The method token, sent verbatim (`GET`, `POST`, `PROPFIND`, ...).
    public var method: String
    /// An absolute `http://` or `https://` URL.
    public var url: String
    /// Header fields in sending order. Duplicates are sent as given.
    public var headers: [(name: String, value: String)]
    /// The body to send.
    public var body: Body
    /// Limit for establishing the connection, including the TLS handshake.
    public var connectTimeout: Duration?
    /// Limit for the whole transfer, from start to last body byte.
    public var timeout: Duration?
    /// Largest accepted response body; larger responses fail with ``CurlHTTPError/tooLarge``
    /// as soon as the limit is crossed.
    public var maxResponseBytes: Int?
    /// The protocol version to use.
    public var httpVersion: HTTPVersion?
    /// Replaces the client's TLS settings for this request only.
    public var tls: CurlHTTPClient.TLSConfiguration?
    /// `CURLOPT_RESOLVE` entries, `host:port:address[,address…]` (IPv6 addresses in brackets): the connection for
    /// that host and port goes to these addresses only, without a lookup of the name. A caller that checked the
    /// addresses of a name pins the request to them, so a later answer of the resolver cannot send it elsewhere.
    public var resolve: [String]

    /// Creates a request.
    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: Body = .none,
        connectTimeout: Duration? = nil,
        timeout: Duration? = nil,
        maxResponseBytes: Int? = nil,
        httpVersion: HTTPVersion? = nil,
        tls: CurlHTTPClient.TLSConfiguration? = nil,
        resolve: [String] = []
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.httpVersion = httpVersion
        self.tls = tls
        self.resolve = resolve
    }
}
