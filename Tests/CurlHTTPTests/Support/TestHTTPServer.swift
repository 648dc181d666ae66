import Foundation
import Synchronization

/// A loopback HTTP/1.1 server on background threads (one per connection).
///
/// Routes (well-behaved mode):
/// - `/echo[?status=N]`: echoes the body; method, target and body length come
///   back as `X-Method`, `X-Target`, `X-Body-Length`, and each request header
///   as `X-Echo-<name>`.
/// - `/status/N`: answers with status N.
/// - `/slow?ms=N`: answers after N ms.
/// - `/bytes?n=N[&chunked=1]`: N bytes of body, optionally without a length.
/// - `/trickle?count=N&interval=MS`: announces N bytes, sends one per interval.
/// - `/checksum`: answers `length=<n> fnv=<hex>` for the received body.
final class TestHTTPServer: Sendable {
    enum Behavior: Sendable {
        /// Speaks HTTP with keep-alive.
        case http
        /// Accepts connections, reads and never answers.
        case silent
    }

    private struct State {
        var stopped = false
        var accepted = 0
        var connections: Set<Int32> = []
    }

    let port: Int
    private let listener: Int32
    private let behavior: Behavior
    private let state = Mutex(State())

    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    /// TCP connections accepted so far.
    var acceptedConnections: Int { self.state.withLock { $0.accepted } }

    init(_ behavior: Behavior = .http) throws {
        let (listener, port) = try Sockets.listenLoopback()
        self.listener = listener
        self.port = port
        self.behavior = behavior
        Thread.detachNewThread { [self] in self.acceptLoop() }
    }

    /// Stops accepting and ends every connection; idempotent.
    func stop() {
        self.state.withLock { state in
            state.stopped = true
            // Under the lock: a connection thread removes its descriptor here
            // before closing it, so we never shut down a reused descriptor.
            for descriptor in state.connections {
                shutdown(descriptor, Int32(SHUT_RDWR))
            }
        }
    }

    private var isStopped: Bool { self.state.withLock { $0.stopped } }

    private func acceptLoop() {
        defer { close(self.listener) }
        while !self.isStopped {
            guard Sockets.waitReadable(self.listener, milliseconds: 50) else { continue }
            let descriptor = accept(self.listener, nil, nil)
            guard descriptor >= 0 else { continue }
            let admitted = self.state.withLock { state in
                guard !state.stopped else { return false }
                state.accepted += 1
                state.connections.insert(descriptor)
                return true
            }
            guard admitted else {
                close(descriptor)
                return
            }
            Thread.detachNewThread { [self] in
                self.serve(descriptor)
                self.state.withLock { _ = $0.connections.remove(descriptor) }
                close(descriptor)
            }
        }
    }

    private func serve(_ descriptor: Int32) {
        let reader = ConnectionReader(descriptor: descriptor) { [self] in self.isStopped }
        if case .silent = self.behavior {
            reader.drain()
            return
        }
        while let head = reader.readHead() {
            guard var request = TestRequest.parseHead(head) else { return }
            let length = Int(request.header("Content-Length") ?? "0") ?? 0
            var checksum = FNV1a()
            let isChecksum = request.path == "/checksum"
            let complete = reader.readBody(count: length) { piece in
                if isChecksum {
                    checksum.update(piece)
                } else {
                    request.body.append(contentsOf: piece)
                }
            }
            guard complete else { return }
            let keepGoing: Bool
            if isChecksum {
                let text = "length=\(length) fnv=\(String(checksum.value, radix: 16))"
                keepGoing = Sockets.writeAll(descriptor, responseBytes(status: 200, body: Array(text.utf8)))
            } else {
                keepGoing = self.respond(to: request, on: descriptor)
            }
            guard keepGoing, request.header("Connection")?.lowercased() != "close" else { return }
        }
    }

    /// Returns false when the connection must end.
    private func respond(to request: TestRequest, on descriptor: Int32) -> Bool {
        let query = request.query
        switch request.path {
        case "/echo":
            var headers = [
                ("X-Method", request.method),
                ("X-Target", request.target),
                ("X-Body-Length", "\(request.body.count)"),
            ]
            headers += request.headers.map { ("X-Echo-\($0.name)", $0.value) }
            let status = Int(query["status"] ?? "200") ?? 200
            let body = request.method == "HEAD" ? [] : request.body
            return Sockets.writeAll(
                descriptor,
                responseBytes(status: status, headers: headers, body: body, contentLength: request.body.count))
        case let path where path.hasPrefix("/status/"):
            let status = Int(path.dropFirst("/status/".count)) ?? 500
            return Sockets.writeAll(descriptor, responseBytes(status: status, body: Array("status \(status)".utf8)))
        case "/slow":
            let deadline = ContinuousClock.now + .milliseconds(Int(query["ms"] ?? "1000") ?? 1000)
            while ContinuousClock.now < deadline {
                if self.isStopped { return false }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return Sockets.writeAll(descriptor, responseBytes(status: 200, body: Array("slow".utf8)))
        case "/bytes":
            let count = Int(query["n"] ?? "0") ?? 0
            let body = (0..<count).map { UInt8(truncatingIfNeeded: $0 % 251) }
            guard query["chunked"] == "1" else {
                return Sockets.writeAll(descriptor, responseBytes(status: 200, body: body))
            }
            var bytes = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            for start in stride(from: 0, to: count, by: 16384) {
                let chunk = body[start..<min(count, start + 16384)]
                bytes += Array("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + [13, 10]
            }
            bytes += Array("0\r\n\r\n".utf8)
            return Sockets.writeAll(descriptor, bytes)
        case "/trickle":
            let count = Int(query["count"] ?? "100") ?? 100
            let interval = Double(query["interval"] ?? "50") ?? 50
            guard Sockets.writeAll(descriptor, Array("HTTP/1.1 200 OK\r\nContent-Length: \(count)\r\n\r\n".utf8)) else {
                return false
            }
            for _ in 0..<count {
                if self.isStopped || !Sockets.writeAll(descriptor, [UInt8(ascii: "x")]) { return false }
                Thread.sleep(forTimeInterval: interval / 1000)
            }
            return true
        default:
            return Sockets.writeAll(descriptor, responseBytes(status: 404))
        }
    }
}
