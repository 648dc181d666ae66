import CCurl
import Logging
import Synchronization

/// A `CURLM *` that crosses threads.
///
/// `@unchecked Sendable` because the pointer is used by the driver thread
/// only, with one exception: `curl_multi_wakeup`, which libcurl documents as
/// callable from any thread. ``CurlDriver`` calls it only under its inbox lock
/// and only while the handle is alive (the driver thread marks the inbox
/// terminated under the same lock before `curl_multi_cleanup`).
struct MultiHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// Commands from async callers to the driver thread.
enum DriverCommand: Sendable {
    case start(TransferJob)
    case cancel(UInt64)
    case resume(UInt64)
}

/// The thread-safe face of the driver: a locked inbox of commands and the
/// lifecycle state. The libcurl work itself happens in ``DriverLoop`` on the
/// dedicated thread.
final class CurlDriver: Sendable {
    enum Phase {
        case running
        case shuttingDown
        case terminated
    }

    private struct Inbox {
        var commands: [DriverCommand] = []
        var phase = Phase.running
        var terminationWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let multi: MultiHandle
    let configuration: CurlHTTPClient.Configuration
    let logger: Logger
    private let inbox = Mutex(Inbox())
    private let nextID = Atomic<UInt64>(1)

    /// Creates the multi handle and starts the driver thread.
    init(configuration: CurlHTTPClient.Configuration, logger: Logger) throws(CurlHTTPError) {
        if let error = CurlGlobal.initError {
            throw error
        }
        guard let raw = curl_multi_init() else {
            throw CurlHTTPError.internalError.with(detail: "curl_multi_init returned NULL")
        }
        self.multi = MultiHandle(raw: raw)
        self.configuration = configuration
        self.logger = logger
        do {
            try DriverLoop.configure(multi: self.multi, configuration: configuration)
            try DriverThread.start(name: "curl-driver") { [self] in
                DriverLoop(driver: self).run()
            }
        } catch {
            let code = curl_multi_cleanup(raw)
            if code != CURLM_OK {
                logger.error("curl_multi_cleanup failed", metadata: ["code": "\(CurlGlobal.describe(code))"])
            }
            throw error
        }
    }

    func makeID() -> UInt64 {
        self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Queues a command; returns false once shutdown has begun (starts are
    /// refused then; cancels and resumes are simply moot).
    func enqueue(_ command: DriverCommand) -> Bool {
        self.inbox.withLock { inbox in
            guard inbox.phase == .running else { return false }
            let wasEmpty = inbox.commands.isEmpty
            inbox.commands.append(command)
            // A wakeup is sticky until the next poll, so one per batch suffices.
            if wasEmpty {
                self.wake()
            }
            return true
        }
    }

    /// Asks the driver thread to fail everything and exit. Idempotent.
    func beginShutdown() {
        self.inbox.withLock { inbox in
            guard inbox.phase == .running else { return }
            inbox.phase = .shuttingDown
            self.wake()
        }
    }

    /// Suspends until the driver thread has released every libcurl resource.
    func waitForTermination() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = self.inbox.withLock { inbox in
                guard inbox.phase == .terminated else {
                    inbox.terminationWaiters.append(continuation)
                    return false
                }
                return true
            }
            if done {
                continuation.resume()
            }
        }
    }

    // MARK: Driver-thread side

    /// Takes every queued command. `shuttingDown` is true once shutdown began;
    /// from then on no start can be queued.
    func drain() -> (commands: [DriverCommand], shuttingDown: Bool) {
        self.inbox.withLock { inbox in
            let commands = inbox.commands
            inbox.commands.removeAll(keepingCapacity: true)
            return (commands, inbox.phase != .running)
        }
    }

    /// Marks the driver terminated so no one touches the multi handle again,
    /// then returns the leftover commands and the shutdown waiters.
    func markTerminated() -> (commands: [DriverCommand], waiters: [CheckedContinuation<Void, Never>]) {
        self.inbox.withLock { inbox in
            inbox.phase = .terminated
            defer {
                inbox.commands = []
                inbox.terminationWaiters = []
            }
            return (inbox.commands, inbox.terminationWaiters)
        }
    }

    /// Must be called with the inbox lock held and the phase not terminated.
    private func wake() {
        let code = curl_multi_wakeup(self.multi.raw)
        if code != CURLM_OK {
            // The loop's bounded poll timeout still picks the command up.
            self.logger.error("curl_multi_wakeup failed", metadata: ["code": "\(CurlGlobal.describe(code))"])
        }
    }
}
