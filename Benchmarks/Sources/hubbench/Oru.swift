import ArgumentParser
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - oru

/// Sends COUNT ORU^R01 messages over MLLP, CONNECTIONS connections at once, each message waiting for its ACK before
/// the next on its connection (as an LIS's interface engine sends). Each message is one patient's chemistry order
/// with five observations, each of which names a catalog item by LOINC: five results a message. Every ACK must be AA.
struct Oru: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send ORU^R01 messages over MLLP; print a JSON summary with results per second.")

    @Option(help: "The hub's HL7 door host.") var host = "127.0.0.1"
    @Option(help: "The hub's HL7 door port.") var port: Int
    @Option(help: "Messages in all.") var count: Int
    @Option(help: "Connections, each sending one message at a time.") var connections = 1
    @Option(help: "Patients the messages are spread over.") var patients = 20_000
    @Option(help: "Messages per reported window.") var window = 1_000
    @Option(help: "Sending application (MSH-3).") var application = "BENCHLIS"
    @Option(help: "Sending facility (MSH-4).") var facility = "BENCHLAB"
    @Option(help: "A tag that keeps this run's control ids and orders apart from other runs'.") var runTag = "1"

    static let observations: [(loinc: String, name: String, value: String, unit: String, range: String)] = [
        ("2823-3", "钾", "4.1", "mmol/L", "3.5-5.3"), ("2951-2", "钠", "141", "mmol/L", "137-147"),
        ("2075-0", "氯", "102", "mmol/L", "99-110"), ("14749-6", "葡萄糖", "5.2", "mmol/L", "3.9-6.1"),
        ("4548-4", "糖化血红蛋白", "5.6", "%", "4.0-6.0"),
    ]

    /// The resident ID of patient `n`: a birth date, a sequence and the check character of GB 11643.
    static func residentID(_ n: Int) -> String {
        let body =
            "420102" + "1980" + String(format: "%02d%02d", 1 + n % 12, 1 + n % 28)
            + String(format: "%03d", n / 336 % 1000)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body, weights).reduce(0) { $0 + Int(String($1.0))! * $1.1 }
        return body + String(Array("10X98765432")[sum % 11])
    }

    func message(_ n: Int) -> [UInt8] {
        let patient = n % patients
        let control = "B\(runTag)-\(n)"
        let order = "O\(runTag)-\(n)"
        var segments = [
            "MSH|^~\\&|\(application)|\(facility)|ALLIANCEHUB|HUB|20260601073000+0800||ORU^R01^ORU_R01|\(control)|P|2.5.1|||AL|NE||UNICODE UTF-8",
            "PID|1||\(Self.residentID(patient))^^^CN-RESIDENT^NNCHN~M\(patient)^^^\(facility)^MR||患者^\(patient)||19800101|F",
            "ORC|RE|\(order)^\(facility)|\(order)^\(facility)",
            "OBR|1|\(order)^\(facility)|\(order)^\(facility)|CHEM^生化^L|||202605310815+0800||||||||||||||||||F",
        ]
        for (index, line) in Self.observations.enumerated() {
            segments.append(
                "OBX|\(index + 1)|NM|\(line.loinc)^\(line.name)^LN||\(line.value)|\(line.unit)|\(line.range)|N|||F")
        }
        return [0x0B] + Array(segments.joined(separator: "\r").utf8) + [0x0D, 0x1C, 0x0D]
    }

    func run() throws {
        let counter = Atomic<Int>(0)
        let state = Mutex<(finished: [Double], latencies: [Double], problem: String?)>(([], [], nil))
        let start = Date()
        let plan = self
        let work: @Sendable () -> Void = {
            do {
                let socket = try Connection(host: plan.host, port: plan.port)
                defer { socket.close() }
                while true {
                    let n = counter.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard n < plan.count else { return }
                    let sent = Date()
                    let ack = try socket.exchange(plan.message(n))
                    guard ack.contains("MSA|AA|") else {
                        throw Connection.Failure(description: "not AA: " + String(ack.prefix(300)))
                    }
                    let done = Date()
                    state.withLock {
                        $0.finished.append(done.timeIntervalSince(start))
                        $0.latencies.append(done.timeIntervalSince(sent) * 1000)
                    }
                }
            } catch {
                state.withLock { if $0.problem == nil { $0.problem = "\(error)" } }
            }
        }
        let group = DispatchGroup()
        for _ in 0..<connections {
            group.enter()
            Thread.detachNewThread {
                work()
                group.leave()
            }
        }
        group.wait()
        let (finished, latencies, problem) = state.withLock { ($0.finished.sorted(), $0.latencies, $0.problem) }
        let seconds = finished.last ?? 0
        let results = finished.count * Self.observations.count
        try JSONOutput.print(
            Summary(
                requested: count, ok: finished.count, connections: connections, seconds: seconds,
                rate: seconds > 0 ? Double(finished.count) / seconds : 0,
                results_per_second: seconds > 0 ? Double(results) / seconds : 0,
                results_per_message: Self.observations.count, latency_ms: Stats.percentiles(latencies),
                window: window, window_rates: Windows.rates(finished, window: window), first_problem: problem))
        if finished.count != count { throw ExitCode(2) }
    }

    struct Summary: Encodable {
        let requested: Int
        let ok: Int
        let connections: Int
        let seconds: Double
        let rate: Double
        let results_per_second: Double
        let results_per_message: Int
        let latency_ms: Stats.Percentiles
        let window: Int
        let window_rates: [Double]
        let first_problem: String?
    }

    /// One blocking TCP connection with MLLP framing.
    final class Connection {
        struct Failure: Error, CustomStringConvertible {
            var description: String
        }

        let fd: Int32
        var buffer: [UInt8] = []

        init(host: String, port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var timeout = timeval(tv_sec: 60, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr(host)
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                Glibc.close(fd)
                throw Failure(description: "connect to \(host):\(port): errno \(errno)")
            }
        }

        func close() { _ = Glibc.close(fd) }

        /// Sends one framed message and reads one framed answer.
        func exchange(_ frame: [UInt8]) throws -> String {
            var offset = 0
            while offset < frame.count {
                let written = frame[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                guard written > 0 else { throw Failure(description: "send: errno \(errno)") }
                offset += written
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                if let end = buffer.firstIndex(of: 0x1C) {
                    let answer = String(decoding: buffer[buffer.startIndex..<end].drop { $0 == 0x0B }, as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...min(end + 1, buffer.count - 1))
                    return answer
                }
                let read = recv(fd, &chunk, chunk.count, 0)
                guard read > 0 else { throw Failure(description: "recv: \(read == 0 ? "closed" : "errno \(errno)")") }
                buffer += chunk[0..<read]
            }
        }
    }
}
