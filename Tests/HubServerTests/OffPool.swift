import Dispatch

/// Runs blocking work (waiting for a child process) on a Dispatch thread instead of the cooperative pool, which the
/// hubs running inside the test process need to make progress.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
