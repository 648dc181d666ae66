extension CurlHTTPClient {
    /// Client-wide settings, fixed when the client is created.
    public struct Configuration: Sendable {
        /// TLS settings used by requests that carry none of their own.
        public var tls: TLSConfiguration
        /// Default connect timeout (TCP + TLS handshake).
        public var connectTimeout: Duration
        /// Default total timeout; `nil` means none.
        public var timeout: Duration?
        /// Default response body cap; `nil` means unlimited.
        public var maxResponseBytes: Int?
        /// Default protocol version.
        public var httpVersion: CurlRequest.HTTPVersion
        /// Simultaneous connections to one host (`CURLMOPT_MAX_HOST_CONNECTIONS`);
        /// further transfers queue inside libcurl. `0` means unlimited.
        public var maxConnectionsPerHost: Int
        /// Size of the idle connection cache (`CURLMOPT_MAXCONNECTS`).
        public var maxCachedConnections: Int
        /// Easy handles kept for reuse after a transfer, saving setup work.
        public var maxPooledHandles: Int
        /// Proxy URL. `nil` means no proxy at all; the environment
        /// (`http_proxy`, `https_proxy`, ...) is never consulted.
        public var proxy: String?
        /// `User-Agent` sent unless the request sets one; `nil` sends none.
        public var userAgent: String?
        /// Bytes a streamed response body may buffer ahead of its reader before
        /// the transfer is paused.
        public var streamingHighWaterMark: Int

        /// Creates a configuration with safe defaults: TLS verification on,
        /// no proxy, 10 s connect timeout, 8 connections per host.
        public init(
            tls: TLSConfiguration = .init(),
            connectTimeout: Duration = .seconds(10),
            timeout: Duration? = nil,
            maxResponseBytes: Int? = nil,
            httpVersion: CurlRequest.HTTPVersion = .http1_1,
            maxConnectionsPerHost: Int = 8,
            maxCachedConnections: Int = 64,
            maxPooledHandles: Int = 64,
            proxy: String? = nil,
            userAgent: String? = nil,
            streamingHighWaterMark: Int = 1 << 20
        ) {
            self.tls = tls
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.maxResponseBytes = maxResponseBytes
            self.httpVersion = httpVersion
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxCachedConnections = maxCachedConnections
            self.maxPooledHandles = maxPooledHandles
            self.proxy = proxy
            self.userAgent = userAgent
            self.streamingHighWaterMark = streamingHighWaterMark
        }
    }

    /// TLS settings for `https://` requests. Paths are PEM files read by libcurl
    /// (OpenSSL backend) when a connection is made.
    public struct TLSConfiguration: Sendable, Hashable {
        /// Verify the peer's certificate chain (`CURLOPT_SSL_VERIFYPEER`).
        public var verifyPeer: Bool
        /// Verify that the certificate matches the host name (`CURLOPT_SSL_VERIFYHOST`).
        public var verifyHost: Bool
        /// CA bundle to trust instead of the system store.
        public var caFile: String?
        /// Client certificate for mutual TLS.
        public var clientCertificateFile: String?
        /// Private key of ``clientCertificateFile``.
        public var clientKeyFile: String?
        /// Passphrase of ``clientKeyFile``, if it is encrypted.
        public var clientKeyPassword: String?

        /// Creates TLS settings; verification is on unless turned off explicitly.
        public init(
            verifyPeer: Bool = true,
            verifyHost: Bool = true,
            caFile: String? = nil,
            clientCertificateFile: String? = nil,
            clientKeyFile: String? = nil,
            clientKeyPassword: String? = nil
        ) {
            self.verifyPeer = verifyPeer
            self.verifyHost = verifyHost
            self.caFile = caFile
            self.clientCertificateFile = clientCertificateFile
            self.clientKeyFile = clientKeyFile
            self.clientKeyPassword = clientKeyPassword
        }
    }
}
