import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A webhook receiver on loopback, a real Hummingbird server, that records what arrives and answers as told.
final class TestReceiver: Sendable {
    struct Received: Sendable {
        var path: String
        var headers: HTTPFields
        var body: Data
        var idempotencyKey: String? { headers[HTTPField.Name("Idempotency-Key")!] }
    }

    private let received = Mutex<[Received]>([])
    /// Status codes to answer with, in order; when empty, 200.
    private let script = Mutex<[Int]>([])
    private let delay = Mutex<Duration>(.zero)
    private let server = LoopbackServer()
    /// Requests being answered right now, and the most there ever were at once.
    private let concurrency = Mutex<(now: Int, peak: Int)>((0, 0))

    /// While set, every request waits before it is answered.
    private let held = Mutex(false)

    var peakConcurrency: Int { concurrency.withLock { $0.peak } }
    /// Requests being answered (or held) right now.
    var inFlight: Int { concurrency.withLock { $0.now } }

    var all: [Received] { received.withLock { $0 } }
    var port: Int { server.port }
    var url: String { "http://127.0.0.1:\(port)/hook" }

    func answer(_ statuses: [Int]) { script.withLock { $0 = statuses } }
    func slow(_ duration: Duration) { delay.withLock { $0 = duration } }
    /// Holds every request, already arrived or still to come, until `release()`.
    func hold() { held.withLock { $0 = true } }
    func release() { held.withLock { $0 = false } }

    /// Starts listening on `port` (0 = any) and returns once the port is bound.
    func start(port: Int = 0) async throws {
        let router = Router()
        router.post("/**") { request, context -> Response in
            let body = try await request.body.collect(upTo: 10_000_000)
            self.received.withLock {
                $0.append(
                    Received(path: request.uri.path, headers: request.headers, body: Data(body.readableBytesView)))
            }
            self.concurrency.withLock {
                $0.now += 1
                $0.peak = max($0.peak, $0.now)
            }
            defer { self.concurrency.withLock { $0.now -= 1 } }
            let pause = self.delay.withLock { $0 }
            if pause > .zero { try await Task.sleep(for: pause) }
            while self.held.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
            let status = self.script.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
            return Response(status: .init(code: status))
        }
        try await server.start(router, port: port, label: "receiver")
    }

    func stop() async { await server.stop() }

    /// Waits until `condition` holds, up to `timeout`.
    static func eventually(
        timeout: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool
    ) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return try await condition()
    }
}

/// A loopback port that nothing listens on right now.
func unusedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
