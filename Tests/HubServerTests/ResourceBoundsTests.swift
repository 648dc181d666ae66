import CZlib
import CurlHTTP
import DICOM
import Foundation
import HubCore
import HubStore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Deflated DICOM files made in the test: a dataset of a few identifying elements followed by pixel data of zeros,
/// raw-deflated (Deflated Explicit VR Little Endian).
enum DeflatedDICOM {
    static func make(sop: String, zeros: Int) throws -> Data {
        let labelled = try DICOMWriter.write(
            [
                .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.7"), .string(.sopInstanceUID, .UI, sop),
                .string(.studyInstanceUID, .UI, "1.2.3.900"), .string(.seriesInstanceUID, .UI, "1.2.3.900.1"),
                .string(.modality, .CS, "OT"), .string(.patientID, .LO, "HS-0042"),
            ], syntax: .encapsulated(transferSyntaxUID: "1.2.840.10008.1.2.1.99"))
        // The meta group ends after its group length (the UL value at 140) counted from byte 144.
        let metaEnd = 144 + Int(labelled[140]) | Int(labelled[141]) << 8
        var pixelHeader: [UInt8] = [0xE0, 0x7F, 0x10, 0x00] + Array("OB".utf8) + [0, 0]
        withUnsafeBytes(of: UInt32(zeros).littleEndian) { pixelHeader += $0 }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        defer { stream.deallocate() }
        stream.initialize(to: z_stream())
        try #require(
            deflateInit2_(
                stream, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(stream) }
        var out = Data(labelled[..<metaEnd])
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        func feed(_ input: [UInt8], flush: Int32) {
            var input = input
            input.withUnsafeMutableBufferPointer { source in
                stream.pointee.next_in = source.baseAddress
                stream.pointee.avail_in = UInt32(source.count)
                repeat {
                    buffer.withUnsafeMutableBufferPointer { target in
                        stream.pointee.next_out = target.baseAddress
                        stream.pointee.avail_out = UInt32(target.count)
                        _ = deflate(stream, flush)
                        out.append(target.baseAddress!, count: target.count - Int(stream.pointee.avail_out))
                    }
                } while stream.pointee.avail_out == 0 || (flush == Z_FINISH && stream.pointee.avail_in > 0)
            }
        }
        feed(Array(labelled[metaEnd...]) + pixelHeader, flush: Z_NO_FLUSH)
        let chunk = [UInt8](repeating: 0, count: 1 << 20)
        var left = zeros
        while left > 0 {
            let n = min(left, chunk.count)
            feed(n == chunk.count ? chunk : Array(chunk[..<n]), flush: Z_NO_FLUSH)
            left -= n
        }
        feed([], flush: Z_FINISH)
        return out
    }
}

/// The hub's peak resident memory (VmHWM), in bytes.
func peakResidentBytes(pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
    let kilobytes = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    return kilobytes * 1024
}

/// A TCP connection to the hub that the test writes to by hand, to keep an upload open.
final class RawConnection {
    private var fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)
    }

    func write(_ data: Data) throws {
        let sent = data.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        try #require(sent == data.count)
    }

    /// Says the test sends nothing more (the hub reads the end of the stream).
    func finishSending() {
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    /// Everything the hub sends until it closes the connection, or until `timeout` passes without a byte.
    func readUntilClosed(timeout seconds: Int = 10) -> [UInt8] {
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return received }
            received += buffer[..<n]
        }
    }

    /// Closes the socket once: a second close of the same number could close another test's descriptor that the
    /// process has since been given that number for.
    func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}

@Suite struct ResourceBoundsTests {
    /// Four deflate bombs at once (each a few hundred kilobytes that inflate to 400 MB) are refused, and the hub's
    /// peak memory stays far below what inflating even one would take.
    @Test func parallelDeflateBombsAreRefusedInBoundedMemory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hubd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = CurlHTTPClient()
        let daemon = try Daemon(dataDir: directory)
        try await daemon.start(client: client)
        let hub = try DaemonHub(daemon, client: client)
        try await hub.institution("hs-clinic")
        let (_, clinic) = try await hub.practitioner(at: "hs-clinic", roles: ["clinic"])
        let bomb = try await offPool { try DeflatedDICOM.make(sop: "1.2.3.900.1.1", zeros: 400 << 20) }
        #expect(bomb.count < 4 << 20, "a few megabytes at most: \(bomb.count)")
        let pid = try #require(daemon.pid)
        let before = try peakResidentBytes(pid: pid)
        let statuses = try await withThrowingTaskGroup(of: Reply.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await hub.call(
                        .post, "/dicomweb/studies", token: clinic, raw: Multipart.body([bomb]),
                        contentType: Multipart.contentType)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for reply in statuses {
            #expect(reply.status == 413, "\(reply.text)")
            #expect(reply.text.contains("dicomweb.max_inflated_bytes"), "\(reply.text)")
        }
        let peak = try peakResidentBytes(pid: pid)
        #expect(peak < 300 << 20, "peak RSS \(peak >> 20) MB (\(before >> 20) MB before the bombs)")
        // A small deflated instance is still stored, read through the same stream.
        let small = try DeflatedDICOM.make(sop: "1.2.3.900.1.2", zeros: 4096)
        let stored = try await hub.call(
            .post, "/dicomweb/studies", token: clinic, raw: Multipart.body([small]),
            contentType: Multipart.contentType)
        #expect(stored.status == 200, "\(stored.text)")
        await daemon.stop()
        await client.shutdown()
    }

    static func instance(_ n: Int) throws -> Data {
        Data(
            try DICOMWriter.write([
                .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.7"),
                .string(.sopInstanceUID, .UI, "1.2.3.901.1.\(n)"),
                .string(.studyInstanceUID, .UI, "1.2.3.901"), .string(.seriesInstanceUID, .UI, "1.2.3.901.1"),
                .string(.modality, .CS, "OT"), .string(.patientID, .LO, "HS-0042"),
            ]))
    }

    @Test func aStowWithTooManyPartsIsRefused() async throws {
        var hub = try TestHub()
        hub.config.dicomwebMaxParts = 3
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("hs-clinic")
            let (_, clinic) = try await hub.practitioner(at: "hs-clinic", roles: ["clinic"])
            let tooMany = try await hub.call(
                .post, "/dicomweb/studies", token: clinic, raw: Multipart.body(try (1...4).map(Self.instance)),
                contentType: Multipart.contentType)
            #expect(tooMany.status == 413, "\(tooMany.text)")
            #expect(tooMany["code"] == "payload_too_large")
            #expect(tooMany.text.contains("dicomweb.max_parts"))
            #expect(
                try await hub.get("/dicomweb/studies?StudyInstanceUID=1.2.3.901", token: clinic).status == 204,
                "nothing of the refused request is indexed")
            let enough = try await hub.call(
                .post, "/dicomweb/studies", token: clinic, raw: Multipart.body(try (1...3).map(Self.instance)),
                contentType: Multipart.contentType)
            #expect(enough.status == 200, "\(enough.text)")
        }
    }

    @Test func uploadsBeyondTheSharedMemoryBudgetAreAskedToComeBack() async throws {
        var hub = try TestHub()
        // Room for one upload's part in memory.
        hub.config.uploadMemoryBudgetBytes = 4 << 20
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("hs-clinic")
            let (_, clinic) = try await hub.practitioner(at: "hs-clinic", roles: ["clinic"])
            let port = try #require(hub.client.port)
            // An upload that has begun and goes on holding its room: its body is not finished.
            let open = try RawConnection(port: port)
            defer { open.close() }
            let head =
                "POST /dicomweb/studies HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(clinic)\r\n"
                + "Content-Type: \(Multipart.contentType)\r\nContent-Length: 100000000\r\n\r\n"
                + "--hub-test-boundary\r\nContent-Type: application/dicom\r\n\r\n"
            try open.write(Data(head.utf8) + Data(count: 1000))
            func another(_ n: Int) async throws -> Reply {
                try await hub.call(
                    .post, "/dicomweb/studies", token: clinic, raw: Multipart.body([try Self.instance(n)]),
                    contentType: Multipart.contentType)
            }
            // Once the open upload is admitted, it holds the whole budget.
            #expect(try await TestReceiver.eventually { hub.env.uploadMemory.inUse == 4 << 20 })
            let reply = try await another(1)
            #expect(reply.status == 503, "an upload past the budget is answered 503: \(reply.text)")
            #expect(reply["code"] == "unavailable")
            #expect(reply.headers[.retryAfter] == "1")
            #expect(hub.env.uploadMemory.inUse == 4 << 20)
            // Once the open upload is gone, its room is given back and the next upload is taken.
            open.close()
            #expect(try await TestReceiver.eventually { hub.env.uploadMemory.inUse == 0 })
            let later = try await another(1000)
            #expect(later.status == 200, "\(later.text)")
        }
    }

    /// 50,000 lines sent from a file, which the hub reads piece by piece as they arrive: every line is stored and
    /// answered, in order.
    @Test func aLargeBulkBodyIsStreamedThroughAndEveryLineStored() async throws {
        let clock = TestClock(RecognitionTests.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let performed = RecognitionTests.start.adding(days: -2).description
            let total = 50_000
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("bulk-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: file) }
            var text = ""
            text.reserveCapacity(total * 220)
            for n in 0..<total {
                text += RecognitionVolumeTests.line(
                    patient: RecognitionVolumeTests.patient(n), item: n % 2 == 0 ? "K" : "GLU", performedAt: performed)
                text += n % 3 == 0 ? "\r\n" : "\n"
            }
            try text.write(to: file, atomically: true, encoding: .utf8)
            let client = CurlHTTPClient()
            defer { Task { await client.shutdown() } }
            let reply = try await client.execute(
                CurlRequest(
                    method: "POST", url: "http://127.0.0.1:\(try #require(hub.client.port))/v1/results/bulk",
                    headers: [("Authorization", "Bearer \(setup.lab)"), ("Content-Type", "application/x-ndjson")],
                    body: .file(path: file.path), timeout: .seconds(600)))
            #expect(reply.status == 200)
            #expect(reply.headers["X-Results-Created"] == String(total))
            let answers = String(decoding: reply.body, as: UTF8.self).split(separator: "\n")
            #expect(answers.count == total)
            #expect(answers.first?.contains(#""line":1,"#) == true)
            #expect(answers.last?.contains(#""line":\#(total),"#) == true)
            #expect(answers.allSatisfy { $0.contains(#""status":201"#) })
            let stored = try await hub.database.read {
                try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM results") ?? -1
            }
            #expect(stored == total)
        }
    }
}
