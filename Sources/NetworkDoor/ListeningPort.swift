import Synchronization

/// The port a door listens on, for whoever asks before it is bound: `wait()` returns once the door has bound its
/// socket, and throws when it never will (it is off, or binding failed).
public final class ListeningPort: Sendable {
    /// Why a door has no port.
    public struct NotListening: Error, CustomStringConvertible {
        public var description: String
    }

    private let state = Mutex<(result: Result<Int, NotListening>?, waiting: [CheckedContinuation<Int, any Error>])>(
        (nil, []))

    public init() {}

    /// The port, once the door listens.
    public func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<Int, NotListening>? in
                if let result = state.result { return result }
                state.waiting.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// The door listens on `port`.
    public func bound(_ port: Int) { settle(.success(port)) }

    /// The door will not listen, for `reason`.
    public func never(_ reason: String) { settle(.failure(NotListening(description: reason))) }

    private func settle(_ result: Result<Int, NotListening>) {
        let waiting = state.withLock { state -> [CheckedContinuation<Int, any Error>] in
            guard state.result == nil else { return [] }
            state.result = result
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume(with: result.mapError { $0 as any Error }) }
    }
}
