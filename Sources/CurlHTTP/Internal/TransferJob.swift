/// Where a transfer's outcome goes. Resumed exactly once by whoever owns the
/// job at that moment: the submitting task until the driver accepts it, then
/// the driver thread.
enum TransferSink: Sendable {
    case buffered(CheckedContinuation<Result<CurlResponse, CurlHTTPError>, Never>)
    case streaming(StreamingSink)

    /// Fails a job that never reached libcurl.
    func fail(_ error: CurlHTTPError) {
        switch self {
        case .buffered(let continuation):
            continuation.resume(returning: .failure(error))
        case .streaming(let sink):
            sink.head.resume(returning: .failure(error))
            sink.body.finish(throwing: error)
        }
    }
}

/// The pieces of a streamed response the driver fills in.
struct StreamingSink: Sendable {
    let head: CheckedContinuation<Result<CurlStreamingResponse, CurlHTTPError>, Never>
    let body: AsyncThrowingStream<[UInt8], any Error>.Continuation
    let bodySequence: CurlResponseBody
    let flow: StreamFlowControl
}

/// A request with every client default applied, ready for the driver.
struct ResolvedRequest: Sendable {
    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    var body: CurlRequest.Body
    var connectTimeout: Duration
    var timeout: Duration?
    var maxResponseBytes: Int?
    var httpVersion: CurlRequest.HTTPVersion
    var tls: CurlHTTPClient.TLSConfiguration
    var proxy: String?
    var userAgent: String?
    var resolve: [String]

    init(_ request: CurlRequest, configuration: CurlHTTPClient.Configuration) {
        self.method = request.method
        self.url = request.url
        self.headers = request.headers
        self.body = request.body
        self.connectTimeout = request.connectTimeout ?? configuration.connectTimeout
        self.timeout = request.timeout ?? configuration.timeout
        self.maxResponseBytes = request.maxResponseBytes ?? configuration.maxResponseBytes
        self.httpVersion = request.httpVersion ?? configuration.httpVersion
        self.tls = request.tls ?? configuration.tls
        self.proxy = configuration.proxy
        self.userAgent = configuration.userAgent
        self.resolve = request.resolve
    }
}

/// One unit of work handed to the driver thread.
struct TransferJob: Sendable {
    let id: UInt64
    let request: ResolvedRequest
    let sink: TransferSink
}
