import CCurl
import CCurlShim

/// One request in flight on the driver thread: owns its easy handle's
/// per-transfer resources and the response being assembled.
///
/// Lives only on the driver thread. libcurl's callbacks receive it as an
/// unretained pointer; the driver's table keeps it alive while the handle is
/// inside the multi handle.
final class Transfer {
    let id: UInt64
    let easy: EasyHandle
    let request: ResolvedRequest
    let sink: TransferSink

    let errorBuffer: UnsafeMutablePointer<CChar>
    private(set) var headerList: UnsafeMutablePointer<curl_slist>?
    /// The `CURLOPT_RESOLVE` entries, kept until the transfer is done.
    private(set) var resolveList: UnsafeMutablePointer<curl_slist>?
    private(set) var upload: UploadSource?

    // Response state, written by the callbacks.
    var status = 0
    var version = CurlResponse.HTTPVersion.http1_1
    var headers = CurlHeaders()
    var headersComplete = false
    var body: [UInt8] = []
    var receivedBytes = 0
    /// Set by the prereq callback once the connection (TLS included) is up.
    var connected = false
    /// An error a callback decided on; wins over libcurl's resulting code.
    var callbackError: CurlHTTPError?
    var headDelivered = false
    private var finished = false

    init(job: TransferJob, easy: EasyHandle) {
        self.id = job.id
        self.easy = easy
        self.request = job.request
        self.sink = job.sink
        self.errorBuffer = .allocate(capacity: CurlGlobal.errorBufferSize)
        self.errorBuffer.initialize(repeating: 0, count: CurlGlobal.errorBufferSize)
    }

    deinit {
        curl_slist_free_all(self.headerList)
        curl_slist_free_all(self.resolveList)
        self.errorBuffer.deallocate()
    }

    var userdata: UnsafeMutableRawPointer {
        Unmanaged.passUnretained(self).toOpaque()
    }

    // MARK: Outcome

    /// Delivers the result. The first call wins; later calls are ignored.
    func complete(_ result: Result<Void, CurlHTTPError>, totalTime: Duration) {
        guard !self.finished else { return }
        self.finished = true
        switch (self.sink, result) {
        case (.buffered(let continuation), .success):
            let response = CurlResponse(
                status: self.status,
                headers: self.headers,
                body: self.body,
                httpVersion: self.version,
                totalTime: totalTime
            )
            continuation.resume(returning: .success(response))
        case (.buffered(let continuation), .failure(let error)):
            continuation.resume(returning: .failure(error))
        case (.streaming(let sink), .success):
            self.deliverHeadIfNeeded()
            sink.body.finish()
        case (.streaming(let sink), .failure(let error)):
            if !self.headDelivered {
                self.headDelivered = true
                sink.head.resume(returning: .failure(error))
            }
            sink.body.finish(throwing: error)
        }
    }

    /// For streamed responses: hands status and headers to the waiting caller.
    func deliverHeadIfNeeded() {
        guard case .streaming(let sink) = self.sink, !self.headDelivered else { return }
        self.headDelivered = true
        let response = CurlStreamingResponse(
            status: self.status,
            headers: self.headers,
            httpVersion: self.version,
            body: sink.bodySequence
        )
        sink.head.resume(returning: .success(response))
    }

    /// The libcurl error buffer's text, empty if libcurl wrote none.
    var errorText: String {
        String(cString: self.errorBuffer)
    }

    // MARK: Configuration

    /// Applies every option for this request. The handle is fresh or was
    /// `curl_easy_reset`, so nothing from an earlier transfer leaks in.
    func configure() throws(CurlHTTPError) {
        let easy = self.easy
        let request = self.request
        try easy.set(CURLOPT_ERRORBUFFER, pointer: self.errorBuffer)
        // Signals are process-wide; a library must not install handlers or use
        // alarm() for DNS timeouts, and libcurl would otherwise do both.
        try easy.set(CURLOPT_NOSIGNAL, true)
        try easy.set(CURLOPT_URL, string: request.url)
        try easy.set(CURLOPT_PROTOCOLS_STR, string: "http,https")
        try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, string: "http,https")
        // An empty string disables proxies, including http_proxy & co from the
        // environment, which libcurl would otherwise honour silently.
        try easy.set(CURLOPT_PROXY, string: request.proxy ?? "")
        try easy.set(CURLOPT_SUPPRESS_CONNECT_HEADERS, true)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout))
        try easy.set(CURLOPT_TIMEOUT_MS, request.timeout.map(Self.milliseconds) ?? 0)
        if let cap = request.maxResponseBytes {
            // Rejects early when Content-Length already exceeds the cap; the
            // write callback enforces it for chunked or lying responses.
            try easy.set(CURLOPT_MAXFILESIZE_LARGE, offset: Int64(cap))
        }
        try self.configureVersion()
        try self.configureTLS()
        try self.configureMethodAndBody()
        try self.configureHeaders()
        try self.configureResolve()
        try TransferCallbacks.install(on: self)
    }

    private func configureVersion() throws(CurlHTTPError) {
        switch self.request.httpVersion {
        case .http1_1:
            try self.easy.set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
        case .http2:
            try self.easy.set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
            // Wait for a connection that can multiplex rather than opening more.
            try self.easy.set(CURLOPT_PIPEWAIT, true)
        case .http2PriorKnowledge:
            try self.easy.set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
            try self.easy.set(CURLOPT_PIPEWAIT, true)
        }
    }

    private func configureTLS() throws(CurlHTTPError) {
        let tls = self.request.tls
        try self.easy.set(CURLOPT_SSL_VERIFYPEER, tls.verifyPeer)
        // 2 is the only value that checks the name; 1 is an old alias.
        try self.easy.set(CURLOPT_SSL_VERIFYHOST, tls.verifyHost ? 2 : 0)
        if let caFile = tls.caFile {
            try self.easy.set(CURLOPT_CAINFO, string: caFile)
        }
        if let certificate = tls.clientCertificateFile {
            try self.easy.set(CURLOPT_SSLCERT, string: certificate)
            try self.easy.set(CURLOPT_SSLCERTTYPE, string: "PEM")
        }
        if let key = tls.clientKeyFile {
            try self.easy.set(CURLOPT_SSLKEY, string: key)
            try self.easy.set(CURLOPT_SSLKEYTYPE, string: "PEM")
        }
        if let password = tls.clientKeyPassword {
            try self.easy.set(CURLOPT_KEYPASSWD, string: password)
        }
    }

    private func configureMethodAndBody() throws(CurlHTTPError) {
        let method = self.request.method
        guard !method.isEmpty, method.utf8.allSatisfy(Self.isTokenByte) else {
            throw CurlHTTPError.invalidRequest.with(detail: "invalid method \"\(method)\"")
        }
        switch self.request.body {
        case .bytes(let bytes):
            self.upload = UploadSource(bytes: bytes)
        case .file(let path):
            self.upload = try UploadSource(path: path)
        case .none where ["POST", "PUT", "PATCH"].contains(method):
            // Servers may answer 411 to a body-less POST without Content-Length.
            self.upload = UploadSource(bytes: [])
        case .none:
            break
        }
        if let upload = self.upload {
            // UPLOAD streams through the read callback with a known length and
            // adds no implicit Content-Type (POSTFIELDS would add a form type).
            try self.easy.set(CURLOPT_UPLOAD, true)
            try self.easy.set(CURLOPT_INFILESIZE_LARGE, offset: Int64(upload.size))
            if method != "PUT" {
                try self.easy.set(CURLOPT_CUSTOMREQUEST, string: method)
            }
        } else if method == "HEAD" {
            // A custom "HEAD" would make libcurl wait for a body that never comes.
            try self.easy.set(CURLOPT_NOBODY, true)
        } else if method == "GET" {
            try self.easy.set(CURLOPT_HTTPGET, true)
        } else {
            try self.easy.set(CURLOPT_CUSTOMREQUEST, string: method)
        }
    }

    private func configureHeaders() throws(CurlHTTPError) {
        var lines: [String] = []
        var hasExpect = false
        var hasUserAgent = false
        for (name, value) in self.request.headers {
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte),
                !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 })
            else {
                throw CurlHTTPError.invalidRequest.with(detail: "invalid header field \"\(name)\"")
            }
            let lowered = name.lowercased()
            hasExpect = hasExpect || lowered == "expect"
            hasUserAgent = hasUserAgent || lowered == "user-agent"
            // "Name:" tells libcurl to drop the header; "Name;" sends it empty.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        if !hasExpect && self.upload != nil {
            // Without this libcurl sends "Expect: 100-continue" for larger
            // uploads and stalls up to a second on servers that ignore it.
            lines.append("Expect:")
        }
        if !hasUserAgent, let userAgent = self.request.userAgent {
            try self.easy.set(CURLOPT_USERAGENT, string: userAgent)
        }
        for line in lines {
            guard let list = curl_slist_append(self.headerList, line) else {
                throw CurlHTTPError.internalError.with(detail: "curl_slist_append returned NULL")
            }
            self.headerList = list
        }
        if let list = self.headerList {
            try self.easy.set(CURLOPT_HTTPHEADER, list: list)
        }
    }

    /// Pins host and port to the addresses given: libcurl puts them in its DNS cache for this transfer and looks
    /// nothing up for that name. The entry replaces one an earlier transfer left for the same host and port.
    private func configureResolve() throws(CurlHTTPError) {
        guard !self.request.resolve.isEmpty else { return }
        for entry in self.request.resolve {
            guard !entry.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
                throw CurlHTTPError.invalidRequest.with(detail: "invalid resolve entry \"\(entry)\"")
            }
            guard let list = curl_slist_append(self.resolveList, entry) else {
                throw CurlHTTPError.internalError.with(detail: "curl_slist_append returned NULL")
            }
            self.resolveList = list
        }
        try self.easy.set(CURLOPT_RESOLVE, list: self.resolveList)
    }

    /// libcurl treats 0 as "no limit", so any positive duration rounds up to 1 ms.
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, duration > .zero else { return 1 }
        let millis = seconds.multipliedReportingOverflow(by: 1000)
        guard !millis.overflow else { return Int.max }
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(clamping: millis.partialValue + fraction)
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
