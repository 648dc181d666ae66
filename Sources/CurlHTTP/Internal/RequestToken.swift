import Synchronization

/// Orders submission against cancellation for one request.
///
/// `withTaskCancellationHandler` may run its handler before, during or after
/// the operation hands the job to the driver. Without this token a cancel that
/// overtakes its own start would be ignored by the driver and the request
/// would run uncancelled.
final class RequestToken: Sendable {
    private enum State {
        case idle
        case submitted
        case cancelled
    }

    let id: UInt64
    private let state = Mutex(State.idle)

    init(id: UInt64) {
        self.id = id
    }

    /// Hands `job` to `driver`, or fails it at once if already cancelled.
    /// The driver enqueue happens under the token's lock so a concurrent
    /// `cancel` is always enqueued after the start.
    func submit(_ job: TransferJob, to driver: CurlDriver) {
        let refused: CurlHTTPError? = self.state.withLock { state in
            switch state {
            case .cancelled:
                return .cancelled
            case .idle, .submitted:
                state = .submitted
                return driver.enqueue(.start(job)) ? nil : .shutdown
            }
        }
        if let refused {
            job.sink.fail(refused)
        }
    }

    /// Marks the request cancelled and tells the driver if it already has it.
    func cancel(on driver: CurlDriver) {
        self.state.withLock { state in
            switch state {
            case .idle:
                state = .cancelled
            case .submitted:
                state = .cancelled
                _ = driver.enqueue(.cancel(self.id))
            case .cancelled:
                break
            }
        }
    }
}
