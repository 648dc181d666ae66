/// The error every ``CurlHTTPClient`` operation throws.
///
/// Compare against the static members (`error == .timeout`); equality looks
/// only at the kind, so the attached libcurl diagnostics never break a match.
/// The kinds are backed by a private enum so that adding one later is not a
/// source-breaking change for exhaustive `switch` statements in callers.
public struct CurlHTTPError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    private enum Kind: String, Sendable, Hashable {
        case timeout
        case connectTimeout
        case connectionRefused
        case connectFailed
        case couldNotResolveHost
        case tlsFailure
        case tooLarge
        case cancelled
        case shutdown
        case invalidURL
        case invalidRequest
        case sendFailed
        case receiveFailed
        case protocolError
        case internalError
        case transferFailed
    }

    private let kind: Kind

    /// The `CURLcode` libcurl reported, when the error came from an easy transfer.
    public let curlCode: Int?

    /// The `CURLMcode` libcurl reported, when the error came from the multi interface.
    public let curlMultiCode: Int?

    /// Human-readable detail for logs: libcurl's `CURLOPT_ERRORBUFFER` text or
    /// `curl_easy_strerror`, or a note from this library. Not stable; do not parse.
    public let detail: String?

    private init(_ kind: Kind, curlCode: Int? = nil, curlMultiCode: Int? = nil, detail: String? = nil) {
        self.kind = kind
        self.curlCode = curlCode
        self.curlMultiCode = curlMultiCode
        self.detail = detail
    }

    /// The whole transfer took longer than the request's `timeout`.
    public static let timeout = CurlHTTPError(.timeout)
    /// No connection (TCP and TLS handshake) was established within `connectTimeout`.
    public static let connectTimeout = CurlHTTPError(.connectTimeout)
    /// The peer actively refused the TCP connection.
    public static let connectionRefused = CurlHTTPError(.connectionRefused)
    /// The TCP connection failed for a reason other than refusal or timeout (e.g. unreachable).
    public static let connectFailed = CurlHTTPError(.connectFailed)
    /// The host name could not be resolved.
    public static let couldNotResolveHost = CurlHTTPError(.couldNotResolveHost)
    /// The TLS handshake failed: untrusted or invalid certificate, missing client certificate, bad files.
    public static let tlsFailure = CurlHTTPError(.tlsFailure)
    /// The response body exceeded `maxResponseBytes`.
    public static let tooLarge = CurlHTTPError(.tooLarge)
    /// The awaiting task was cancelled, or a response body stream was dropped.
    public static let cancelled = CurlHTTPError(.cancelled)
    /// The client was shut down before or while the request ran.
    public static let shutdown = CurlHTTPError(.shutdown)
    /// The URL is malformed or uses a scheme other than http/https.
    public static let invalidURL = CurlHTTPError(.invalidURL)
    /// The request cannot be sent as given (bad header, unreadable body file, bad option).
    public static let invalidRequest = CurlHTTPError(.invalidRequest)
    /// Sending the request failed (connection reset while sending, body source failed).
    public static let sendFailed = CurlHTTPError(.sendFailed)
    /// Receiving the response failed (connection reset, empty reply, truncated body).
    public static let receiveFailed = CurlHTTPError(.receiveFailed)
    /// The server's reply violated HTTP (malformed response, HTTP/2 framing error).
    public static let protocolError = CurlHTTPError(.protocolError)
    /// libcurl itself failed (out of memory, multi handle failure).
    public static let internalError = CurlHTTPError(.internalError)
    /// Any other libcurl failure; inspect ``curlCode`` and ``detail``.
    public static let transferFailed = CurlHTTPError(.transferFailed)

    /// Returns the same kind with libcurl diagnostics attached.
    func with(curlCode: Int? = nil, curlMultiCode: Int? = nil, detail: String?) -> CurlHTTPError {
        CurlHTTPError(
            self.kind,
            curlCode: curlCode ?? self.curlCode,
            curlMultiCode: curlMultiCode ?? self.curlMultiCode,
            detail: detail ?? self.detail
        )
    }

    public static func == (lhs: CurlHTTPError, rhs: CurlHTTPError) -> Bool {
        lhs.kind == rhs.kind
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.kind)
    }

    public var description: String {
        var text = "CurlHTTPError.\(self.kind.rawValue)"
        if let curlCode { text += " (CURLcode \(curlCode))" }
        if let curlMultiCode { text += " (CURLMcode \(curlMultiCode))" }
        if let detail, !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
