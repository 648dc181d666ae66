import Dispatch

/// Runs blocking work (waiting for a child process, a long computation) on a Dispatch thread instead of the
/// cooperative pool. All the tests run in one process, and the hubs they start inside it need that pool to make
/// progress: on a 2-core machine it has two threads, and one test that blocks both stalls every hub beside it.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// `offPool` for work that cannot throw.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}
