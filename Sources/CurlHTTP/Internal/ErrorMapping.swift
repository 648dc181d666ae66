import CCurl

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the driver knew about a failed transfer when classifying its `CURLcode`.
struct TransferFailureContext {
    /// Text libcurl left in `CURLOPT_ERRORBUFFER`; empty when it left none.
    var errorBuffer: String
    /// `CURLINFO_OS_ERRNO`, or 0 when unknown.
    var osErrno: Int
    /// Whether the connection (TLS included) was established before the failure.
    var connected: Bool
    /// Whether the connect deadline ends before the total deadline, so that a
    /// timeout before connecting was the connect timeout's doing.
    var connectDeadlineFirst: Bool
}

enum ErrorMapping {
    /// Maps a transfer's `CURLcode` to the public error kind and attaches the
    /// diagnostics. Unlisted codes become ``CurlHTTPError/transferFailed``.
    static func error(for code: CURLcode, context: TransferFailureContext) -> CurlHTTPError {
        let kind = self.kind(for: code, context: context)
        var detail = context.errorBuffer.isEmpty ? CurlGlobal.describe(code) : context.errorBuffer
        if context.osErrno != 0, let text = strerror(Int32(context.osErrno)) {
            detail += " (errno \(context.osErrno): \(String(cString: text)))"
        }
        return kind.with(curlCode: Int(code.rawValue), detail: detail)
    }

    /// OpenSSL's reason strings for alerts received from the peer, e.g.
    /// "tlsv13 alert certificate required", "sslv3 alert bad certificate".
    private static func isTLSAlert(_ text: String) -> Bool {
        text.contains("SSL routines") && text.contains(" alert ")
    }

    private static func kind(for code: CURLcode, context: TransferFailureContext) -> CurlHTTPError {
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            // libcurl reports both deadlines with the same code; the prereq
            // callback tells which phase the transfer had reached.
            return !context.connected && context.connectDeadlineFirst ? .connectTimeout : .timeout
        case CURLE_COULDNT_CONNECT:
            return context.osErrno == Int(ECONNREFUSED) ? .connectionRefused : .connectFailed
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .couldNotResolveHost
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED,
            CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            return .tlsFailure
        case CURLE_FILESIZE_EXCEEDED:
            return .tooLarge
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return .invalidURL
        case CURLE_SEND_ERROR where self.isTLSAlert(context.errorBuffer),
            CURLE_RECV_ERROR where self.isTLSAlert(context.errorBuffer):
            // In TLS 1.3 the client finishes its handshake before the server
            // checks the client certificate, so a rejection arrives as an alert
            // on the first read and libcurl reports a plain receive error.
            return .tlsFailure
        case CURLE_SEND_ERROR, CURLE_READ_ERROR, CURLE_SEND_FAIL_REWIND, CURLE_ABORTED_BY_CALLBACK:
            return .sendFailed
        case CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_WRITE_ERROR:
            return .receiveFailed
        case CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_HTTP3,
            CURLE_BAD_CONTENT_ENCODING, CURLE_TOO_MANY_REDIRECTS, CURLE_RANGE_ERROR:
            return .protocolError
        case CURLE_OUT_OF_MEMORY, CURLE_FAILED_INIT, CURLE_BAD_FUNCTION_ARGUMENT:
            return .internalError
        case CURLE_UNKNOWN_OPTION, CURLE_NOT_BUILT_IN:
            return .invalidRequest
        default:
            return .transferFailed
        }
    }
}
