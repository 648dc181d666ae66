import Logging
import ServiceLifecycle

/// An async HTTP client built on libcurl's multi interface.
///
/// All transfers run on one dedicated OS thread that owns the `CURLM` handle;
/// callers only enqueue work and suspend on a continuation, so no Swift
/// concurrency thread ever blocks on libcurl. Connections are cached and
/// reused across requests. Redirects are not followed: 3xx responses are
/// returned like any other. Proxies are used only when configured.
///
/// Call ``shutdown()`` when done, or run the client in a `ServiceGroup`,
/// which shuts it down on graceful shutdown. Requests still in flight then
/// fail with ``CurlHTTPError/shutdown``.
public final class CurlHTTPClient: Sendable {
    private let driver: Result<CurlDriver, CurlHTTPError>
    private let configuration: Configuration
    private let logger: Logger

    /// Creates a client and starts its driver thread.
    ///
    /// If libcurl cannot be initialised, the client still exists and every
    /// request fails with the initialisation error (logged here too).
    public init(configuration: Configuration = .init(), logger: Logger? = nil) {
        let logger = logger ?? Logger(label: "CurlHTTP", factory: { _ in SwiftLogNoOpLogHandler() })
        self.configuration = configuration
        self.logger = logger
        do {
            self.driver = .success(try CurlDriver(configuration: configuration, logger: logger))
        } catch {
            logger.error("CurlHTTPClient failed to start", metadata: ["error": "\(error)"])
            self.driver = .failure(error)
        }
    }

    deinit {
        // The driver thread holds its own reference; tell it to wind down so
        // a forgotten client does not leak a thread and its connections.
        if case .success(let driver) = self.driver {
            driver.beginShutdown()
        }
    }

    /// Runs `request` and returns the whole response.
    ///
    /// HTTP error statuses are returned, not thrown. Cancelling the calling
    /// task aborts the transfer at once and throws ``CurlHTTPError/cancelled``.
    public func execute(_ request: CurlRequest) async throws(CurlHTTPError) -> CurlResponse {
        let driver = try self.driver.get()
        let token = RequestToken(id: driver.makeID())
        let resolved = ResolvedRequest(request, configuration: self.configuration)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<Result<CurlResponse, CurlHTTPError>, Never>) in
                token.submit(TransferJob(id: token.id, request: resolved, sink: .buffered(continuation)), to: driver)
            }
        } onCancel: {
            token.cancel(on: driver)
        }
        return try result.get()
    }

    /// Runs `request` and returns as soon as the response head has arrived;
    /// the body is read from ``CurlStreamingResponse/body``.
    ///
    /// Cancelling the calling task before the head arrives throws
    /// ``CurlHTTPError/cancelled``. Afterwards, dropping the body or cancelling
    /// the task reading it aborts the transfer. `maxResponseBytes` and
    /// `timeout` still cover the whole body.
    public func stream(_ request: CurlRequest) async throws(CurlHTTPError) -> CurlStreamingResponse {
        let driver = try self.driver.get()
        let token = RequestToken(id: driver.makeID())
        let resolved = ResolvedRequest(request, configuration: self.configuration)
        let flow = StreamFlowControl(highWaterMark: self.configuration.streamingHighWaterMark) { [id = token.id] in
            _ = driver.enqueue(.resume(id))
        }
        let (stream, bodyContinuation) = AsyncThrowingStream.makeStream(of: [UInt8].self, throwing: (any Error).self)
        bodyContinuation.onTermination = { termination in
            if case .cancelled = termination {
                token.cancel(on: driver)
            }
        }
        let body = CurlResponseBody(stream: stream, flow: flow)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<Result<CurlStreamingResponse, CurlHTTPError>, Never>) in
                let sink = StreamingSink(head: continuation, body: bodyContinuation, bodySequence: body, flow: flow)
                token.submit(TransferJob(id: token.id, request: resolved, sink: .streaming(sink)), to: driver)
            }
        } onCancel: {
            token.cancel(on: driver)
        }
        return try result.get()
    }

    /// Fails in-flight and queued requests with ``CurlHTTPError/shutdown``,
    /// closes every connection and stops the driver thread. Later requests
    /// fail with `.shutdown`. Safe to call more than once.
    public func shutdown() async {
        guard case .success(let driver) = self.driver else { return }
        driver.beginShutdown()
        await driver.waitForTermination()
    }
}

extension CurlHTTPClient: Service {
    /// Waits for graceful shutdown (or cancellation), then shuts the client down.
    public func run() async throws {
        try? await gracefulShutdown()
        await self.shutdown()
    }
}
