import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real Hummingbird server on loopback that a test's stand-in for another party (a webhook receiver, a peer hub)
/// runs its router on: started on a port (0 = any), stopped gracefully.
final class LoopbackServer: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let boundPort = Mutex<Int?>(nil)

    /// The bound port, 0 before `start`.
    var port: Int { boundPort.withLock { $0 } ?? 0 }

    /// Starts serving `router` and returns once the port is bound.
    func start(_ router: Router<BasicRequestContext>, port: Int = 0, label: String) async throws {
        var logger = Logger(label: label)
        logger.logLevel = .error
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
        group.withLock { $0 = serviceGroup }
        task.withLock { $0 = Task { try await serviceGroup.run() } }
        for await bound in stream {
            boundPort.withLock { $0 = bound }
            break
        }
    }

    func stop() async {
        let serviceGroup = group.withLock { $0 }
        await serviceGroup?.triggerGracefulShutdown()
        _ = try? await task.withLock { $0 }?.value
    }
}
