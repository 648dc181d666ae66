import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A parsed HTTP/1.1 request as the test server sees it.
struct TestRequest {
    var method: String
    var target: String
    var headers: [(name: String, value: String)]
    var body: [UInt8] = []

    var path: String {
        String(self.target.split(separator: "?", maxSplits: 1).first ?? "")
    }

    /// Query parameters; no percent-decoding, tests use plain values.
    var query: [String: String] {
        guard let query = self.target.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }

    func header(_ name: String) -> String? {
        self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Parses the head (request line and fields, without the blank line).
    static func parseHead(_ bytes: [UInt8]) -> TestRequest? {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((String(line[..<colon]), value))
        }
        return TestRequest(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers)
    }
}

/// Serialises a response with Content-Length, as the keep-alive server needs.
func responseBytes(
    status: Int, headers: [(String, String)] = [], body: [UInt8] = [], contentLength: Int? = nil
) -> [UInt8] {
    var head = "HTTP/1.1 \(status) \(reason(status))\r\n"
    for (name, value) in headers {
        head += "\(name): \(value)\r\n"
    }
    head += "Content-Length: \(contentLength ?? body.count)\r\n\r\n"
    return Array(head.utf8) + body
}

private func reason(_ status: Int) -> String {
    switch status {
    case 200: return "OK"
    case 404: return "Not Found"
    case 500: return "Internal Server Error"
    default: return "Status"
    }
}

/// Buffered reads from a socket that give up when the server stops.
final class ConnectionReader {
    private let descriptor: Int32
    private let isStopped: @Sendable () -> Bool
    private var buffer: [UInt8] = []

    init(descriptor: Int32, isStopped: @escaping @Sendable () -> Bool) {
        self.descriptor = descriptor
        self.isStopped = isStopped
    }

    /// Reads up to the blank line ending a request head; nil on EOF or stop.
    func readHead() -> [UInt8]? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var searchFrom = 0
        while true {
            if self.buffer.count >= 4 {
                for index in searchFrom...(self.buffer.count - 4)
                where Array(self.buffer[index..<index + 4]) == terminator {
                    let head = Array(self.buffer[0..<index])
                    self.buffer.removeFirst(index + 4)
                    return head
                }
                searchFrom = self.buffer.count - 3
            }
            guard self.fill() else { return nil }
        }
    }

    /// Reads exactly `count` body bytes, feeding each piece to `consume`.
    func readBody(count: Int, consume: ([UInt8]) -> Void) -> Bool {
        var remaining = count
        while remaining > 0 {
            if self.buffer.isEmpty {
                guard self.fill() else { return false }
            }
            let take = min(remaining, self.buffer.count)
            consume(Array(self.buffer[0..<take]))
            self.buffer.removeFirst(take)
            remaining -= take
        }
        return true
    }

    /// Reads and discards until EOF or stop.
    func drain() {
        while self.fill() {
            self.buffer.removeAll()
        }
    }

    private func fill() -> Bool {
        while !self.isStopped() {
            guard Sockets.waitReadable(self.descriptor, milliseconds: 50) else { continue }
            guard let bytes = Sockets.readSome(self.descriptor) else { return false }
            self.buffer.append(contentsOf: bytes)
            return true
        }
        return false
    }
}

/// FNV-1a 64: a cheap checksum both ends can compute incrementally.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func update(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            self.value = (self.value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
    }
}
