import Synchronization

/// A response whose head has arrived and whose body is delivered as received.
///
/// Returned by ``CurlHTTPClient/stream(_:)``. Iterate ``body`` to read the
/// body; dropping it or cancelling the reading task aborts the transfer.
public struct CurlStreamingResponse: Sendable {
    /// The final status code.
    public let status: Int
    /// The final response's header fields.
    public let headers: CurlHeaders
    /// The protocol version used.
    public let httpVersion: CurlResponse.HTTPVersion
    /// The body chunks, in order. Ends normally after the last byte, or throws
    /// a ``CurlHTTPError`` (e.g. `.timeout`, `.tooLarge`).
    public let body: CurlResponseBody
}

/// The body of a ``CurlStreamingResponse`` as an async sequence of byte chunks.
///
/// Backpressure: when the reader falls behind by more than the client's
/// `streamingHighWaterMark`, the transfer is paused inside libcurl and resumed
/// once the reader has caught up halfway. Iterate it once.
public struct CurlResponseBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    public typealias Failure = any Error

    let stream: AsyncThrowingStream<[UInt8], any Error>
    let flow: StreamFlowControl

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: self.stream.makeAsyncIterator(), flow: self.flow)
    }

    /// Reads the whole remaining body into memory.
    public func collect() async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in self {
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }

    /// Iterator over body chunks; reports consumption for flow control.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
        let flow: StreamFlowControl

        public mutating func next() async throws -> [UInt8]? {
            guard let chunk = try await self.base.next() else { return nil }
            self.flow.consumed(chunk.count)
            return chunk
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(any Error) -> [UInt8]? {
            guard let chunk = try await self.base.next(isolation: actor) else { return nil }
            self.flow.consumed(chunk.count)
            return chunk
        }
    }
}

/// Byte accounting shared by the driver thread (producer) and the body reader.
final class StreamFlowControl: Sendable {
    private struct State {
        var buffered = 0
        var paused = false
    }

    private let state = Mutex(State())
    private let highWaterMark: Int
    private let resume: @Sendable () -> Void

    /// `resume` asks the driver to unpause the transfer; it runs outside the lock.
    init(highWaterMark: Int, resume: @escaping @Sendable () -> Void) {
        self.highWaterMark = max(1, highWaterMark)
        self.resume = resume
    }

    /// Called by the producer before yielding `count` bytes. Returns false when
    /// the reader is too far behind: the producer must pause and not yield.
    func reserve(_ count: Int) -> Bool {
        self.state.withLock { state in
            // Always accept into an empty buffer, so a chunk larger than the
            // mark cannot stall the transfer forever.
            if state.buffered > 0 && state.buffered + count > self.highWaterMark {
                state.paused = true
                return false
            }
            state.buffered += count
            return true
        }
    }

    func consumed(_ count: Int) {
        let shouldResume = self.state.withLock { state in
            state.buffered -= count
            guard state.paused, state.buffered <= self.highWaterMark / 2 else { return false }
            state.paused = false
            return true
        }
        if shouldResume {
            self.resume()
        }
    }
}
