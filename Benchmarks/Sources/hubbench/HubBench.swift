import ArgumentParser
import CurlHTTP
import DICOM
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `hubbench`: the load tools of `Benchmarks/run` that need our own libcurl client. Each subcommand prints one
/// JSON object on standard output (and nothing else), so the harness can read it.
@main
struct HubBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hubbench",
        abstract: "Load tools for the AllianceHub benchmarks (driven by Benchmarks/run).",
        subcommands: [Requests.self, Fanout.self, Stow.self, Submit.self, Oru.self])
}

// MARK: - requests

/// Sends exactly `count` requests with `concurrency` in flight, e.g. to create institutions or to queue pings.
struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send COUNT requests, CONCURRENCY at a time, built from templates; print a JSON summary.",
        discussion: """
            In --url and --body, {i} is the request's number (from --start) and {m} is that number modulo \
            --modulo; both are zero-padded to --pad digits. Statuses in --expect (default: any 2xx) count as ok.
            """)

    @Option(help: "Requests to send in all.") var count: Int
    @Option(help: "Requests in flight at once.") var concurrency = 16
    @Option(help: "HTTP method.") var method = "GET"
    @Option(help: "URL template.") var url: String
    @Option(help: "Body template (sent as application/json).") var body: String?
    @Option(name: .customLong("header"), help: "A header 'Name: value' (repeatable).") var headers: [String] = []
    @Option(help: "Statuses that count as success (repeatable); default any 2xx.") var expect: [Int] = []
    @Option(help: "First request number.") var start = 0
    @Option(help: "Modulus for {m}.") var modulo = 1
    @Option(help: "Zero-pad {i} and {m} to this many digits.") var pad = 0
    @Option(help: "Per-request timeout in seconds.") var timeout = 30
    @Option(help: "Stop after this many failures (transport errors or unexpected statuses).") var maxFailures = 50
    @Option(help: "Pace the requests: at most this many per second (default: as fast as they go).") var rate: Double?

    func validate() throws {
        guard count >= 0, concurrency >= 1, modulo >= 1, pad >= 0, (rate ?? 1) > 0 else {
            throw ValidationError("count must be ≥ 0; concurrency and modulo ≥ 1; pad ≥ 0; rate > 0")
        }
    }

    func run() async throws {
        let parsedHeaders: [(name: String, value: String)] = try headers.map { line in
            guard let colon = line.firstIndex(of: ":") else { throw ValidationError("bad header '\(line)'") }
            return (
                String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            )
        }
        let client = CurlHTTPClient(
            configuration: .init(
                connectTimeout: .seconds(5), timeout: .seconds(timeout), maxConnectionsPerHost: concurrency,
                maxCachedConnections: max(64, concurrency), maxPooledHandles: max(64, concurrency)))
        let plan = Plan(command: self, headers: parsedHeaders)
        let cursor = SharedCounter()
        let failures = SharedCounter()
        let started = ContinuousClock.now
        let merged = await withTaskGroup(of: Tally.self) { group in
            for _ in 0..<min(concurrency, max(count, 1)) {
                group.addTask {
                    var tally = Tally()
                    while failures.value < plan.maxFailures {
                        let n = cursor.next()
                        if n >= plan.count { break }
                        if let rate = plan.rate {
                            // request n leaves no earlier than n / rate seconds after the start
                            try? await Task.sleep(
                                until: started + .nanoseconds(Int64(Double(n) / rate * 1e9)), clock: .continuous)
                        }
                        let request = plan.request(number: plan.start + n)
                        let sent = ContinuousClock.now
                        do {
                            let response = try await client.execute(request)
                            tally.latencies.append(Stats.milliseconds(ContinuousClock.now - sent))
                            tally.statuses[response.status, default: 0] += 1
                            if plan.accepts(response.status) {
                                tally.ok += 1
                            } else {
                                _ = failures.next()
                                if tally.sample == nil {
                                    tally.sample =
                                        "HTTP \(response.status): "
                                        + String(decoding: response.body.prefix(300), as: UTF8.self)
                                }
                            }
                        } catch {
                            _ = failures.next()
                            tally.transportErrors += 1
                            if tally.sample == nil { tally.sample = "\(error)" }
                        }
                    }
                    return tally
                }
            }
            var all = Tally()
            for await tally in group { all.merge(tally) }
            return all
        }
        let seconds = Stats.seconds(ContinuousClock.now - started)
        await client.shutdown()
        let sent = merged.latencies.count + merged.transportErrors
        let summary = RequestsSummary(
            requested: count, sent: sent, ok: merged.ok, unexpected: merged.latencies.count - merged.ok,
            transport_errors: merged.transportErrors, seconds: seconds,
            rate: seconds > 0 ? Double(merged.ok) / seconds : 0,
            latency_ms: Stats.percentiles(merged.latencies),
            statuses: Dictionary(uniqueKeysWithValues: merged.statuses.map { (String($0.key), $0.value) }),
            first_problem: merged.sample)
        try JSONOutput.print(summary)
        if merged.ok != count { throw ExitCode(2) }
    }

    /// The immutable parts of the command, shared by the workers.
    struct Plan: Sendable {
        let count: Int
        let start: Int
        let modulo: Int
        let pad: Int
        let method: String
        let url: String
        let body: String?
        let headers: [(name: String, value: String)]
        let expect: Set<Int>
        let maxFailures: Int
        let rate: Double?

        init(command: Requests, headers: [(name: String, value: String)]) {
            count = command.count
            start = command.start
            modulo = command.modulo
            pad = command.pad
            method = command.method
            url = command.url
            body = command.body
            self.headers = headers + (command.body != nil ? [("Content-Type", "application/json")] : [])
            expect = Set(command.expect)
            maxFailures = command.maxFailures
            rate = command.rate
        }

        func accepts(_ status: Int) -> Bool {
            expect.isEmpty ? (200..<300).contains(status) : expect.contains(status)
        }

        func fill(_ template: String, _ number: Int) -> String {
            template.replacingOccurrences(of: "{i}", with: padded(number))
                .replacingOccurrences(of: "{m}", with: padded(number % modulo))
        }

        func padded(_ n: Int) -> String {
            let digits = String(n)
            return digits.count >= pad ? digits : String(repeating: "0", count: pad - digits.count) + digits
        }

        func request(number: Int) -> CurlRequest {
            CurlRequest(
                method: method, url: fill(url, number), headers: headers,
                body: body.map { .bytes(Array(fill($0, number).utf8)) } ?? .none)
        }
    }

    struct Tally: Sendable {
        var latencies: [Double] = []
        var statuses: [Int: Int] = [:]
        var ok = 0
        var transportErrors = 0
        var sample: String?

        mutating func merge(_ other: Tally) {
            latencies += other.latencies
            statuses.merge(other.statuses, uniquingKeysWith: +)
            ok += other.ok
            transportErrors += other.transportErrors
            if sample == nil { sample = other.sample }
        }
    }

    struct RequestsSummary: Encodable {
        let requested: Int
        let sent: Int
        let ok: Int
        let unexpected: Int
        let transport_errors: Int
        let seconds: Double
        let rate: Double
        let latency_ms: Stats.Percentiles
        let statuses: [String: Int]
        let first_problem: String?
    }
}

// MARK: - stow

/// Stores COUNT generated instances of about INSTANCE-BYTES each through STOW-RS, one instance per request,
/// CONCURRENCY clients at once; reports the rate overall and per WINDOW instances (in completion order), so a
/// slowdown as the store grows shows.
struct Stow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store generated DICOM instances through STOW-RS; print a JSON summary with per-window rates.")

    @Option(help: "The DICOMweb studies URL, e.g. http://127.0.0.1:8080/dicomweb/studies.") var url: String
    @Option(help: "Bearer token of a clinic practitioner.") var token: String
    @Option(help: "Instances to store.") var count: Int
    @Option(help: "Requests in flight at once.") var concurrency = 4
    @Option(help: "Instances per reported window.") var window = 10_000
    @Option(help: "Instances per study (one series each).") var perStudy = 100
    @Option(help: "Patients the studies are spread over.") var patients = 500
    @Option(help: "Approximate size of each instance in bytes.") var instanceBytes = 10_240
    @Option(help: "A tag that keeps this run's UIDs apart from other runs'.") var runTag = "1"

    func run() async throws {
        let client = CurlHTTPClient(
            configuration: .init(
                connectTimeout: .seconds(5), timeout: .seconds(60), maxConnectionsPerHost: concurrency,
                maxCachedConnections: 64, maxPooledHandles: 64))
        let plan = self
        let results = await ClosedLoop.run(count: count, concurrency: concurrency, maxFailures: 50) { n in
            try plan.multipart(n)
        } perform: { body in
            let response = try await client.execute(
                CurlRequest(
                    method: "POST", url: plan.url,
                    headers: [
                        ("Authorization", "Bearer \(plan.token)"),
                        ("Content-Type", "multipart/related; type=\"application/dicom\"; boundary=bench"),
                    ], body: .bytes(body)))
            guard response.status == 200 else {
                throw ClosedLoop.Failure(
                    description: "HTTP \(response.status): "
                        + String(decoding: response.body.prefix(300), as: UTF8.self))
            }
        }
        await client.shutdown()
        let times = results.finished
        let windows = Windows.rates(times, window: window)
        let seconds = times.last ?? 0
        try JSONOutput.print(
            StowSummary(
                requested: count, ok: times.count, seconds: seconds,
                rate: seconds > 0 ? Double(times.count) / seconds : 0,
                latency_ms: Stats.percentiles(results.latencies), window: window, window_rates: windows,
                instance_bytes: try multipart(0).count, first_problem: results.problem))
        if times.count != count { throw ExitCode(2) }
    }

    struct StowSummary: Encodable {
        let requested: Int
        let ok: Int
        let seconds: Double
        let rate: Double
        let latency_ms: Stats.Percentiles
        let window: Int
        let window_rates: [Double]
        let instance_bytes: Int
        let first_problem: String?
    }

    /// Instance `n` as a one-part STOW-RS body: a CT image of its study's series, padded to the size asked for.
    func multipart(_ n: Int) throws -> [UInt8] {
        let study = n / perStudy
        let root = "1.2.826.0.1.3680043.10.77.\(runTag)"
        let elements: [DICOMWriter.Element] = [
            .string(.specificCharacterSet, .CS, "ISO_IR 192"),
            .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2"),
            .string(.sopInstanceUID, .UI, "\(root).\(study).1.\(n)"),
            .string(.studyDate, .DA, "2026\(String(format: "%02d%02d", 1 + study % 12, 1 + study % 28))"),
            .string(.accessionNumber, .SH, "B\(runTag)\(study)"),
            .string(.modality, .CS, "CT"),
            .string(.patientName, .PN, "患者^\(study % patients)"),
            .string(.patientID, .LO, "P\(study % patients)"),
            .string(.studyInstanceUID, .UI, "\(root).\(study)"),
            .string(.seriesInstanceUID, .UI, "\(root).\(study).1"),
            DICOMWriter.Element(DICOMTag(0x0028, 0x0010), .US, .uint16s([64])),
            DICOMWriter.Element(DICOMTag(0x0028, 0x0011), .US, .uint16s([64])),
            DICOMWriter.Element(
                DICOMTag(0x7FE0, 0x0010), .OW,
                .bytes(Array(repeating: UInt8(n & 0xFF), count: max(2, instanceBytes - 600) & ~1))),
        ]
        let file = try DICOMWriter.write(elements)
        return Array("--bench\r\nContent-Type: application/dicom\r\n\r\n".utf8) + file
            + Array("\r\n--bench--\r\n".utf8)
    }
}

// MARK: - submit

/// Submits COUNT exams for remote reading, each with one DICOM attachment of about ATTACHMENT-BYTES: a clinic's
/// `POST /v1/exams` (a new patient each), then `POST /v1/exams/{id}/attachments` with the image. A submission is
/// timed from the first request to the answer of the second; the rate per WINDOW submissions shows whether
/// submitting slows as exams and blobs accumulate.
struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit exams with a DICOM attachment each; print a JSON summary with per-window rates.")

    @Option(help: "The hub's base URL, e.g. http://127.0.0.1:8080.") var url: String
    @Option(help: "Bearer token of a clinic practitioner.") var token: String
    @Option(help: "Submissions in all.") var count: Int
    @Option(help: "Submissions in flight at once.") var concurrency = 4
    @Option(help: "Submissions per reported window.") var window = 100
    @Option(help: "Approximate size of each attachment in bytes.") var attachmentBytes = 1_048_576
    @Option(help: "The exam's item code.") var item = "CT-CHEST"
    @Option(help: "Identifier system of the clinic's patients.") var system = "mrn:bench-clinic"
    @Option(help: "A tag that keeps this run's patients and UIDs apart from other runs'.") var runTag = "1"

    func run() async throws {
        let client = CurlHTTPClient(
            configuration: .init(
                connectTimeout: .seconds(5), timeout: .seconds(120), maxConnectionsPerHost: concurrency,
                maxCachedConnections: 64, maxPooledHandles: 64))
        let plan = self
        let results = await ClosedLoop.run(count: count, concurrency: concurrency, maxFailures: 20) { n in
            n
        } perform: { n in
            try await plan.submit(n, client: client)
        }
        await client.shutdown()
        let times = results.finished
        let seconds = times.last ?? 0
        try JSONOutput.print(
            SubmitSummary(
                requested: count, ok: times.count, seconds: seconds,
                rate: seconds > 0 ? Double(times.count) / seconds : 0,
                megabytes_per_second: seconds > 0
                    ? Double(times.count * attachmentBytes) / 1_048_576 / seconds : 0,
                latency_ms: Stats.percentiles(results.latencies), window: window,
                window_rates: Windows.rates(times, window: window), attachment_bytes: try dicom(0).count,
                first_problem: results.problem))
        if times.count != count { throw ExitCode(2) }
    }

    struct SubmitSummary: Encodable {
        let requested: Int
        let ok: Int
        let seconds: Double
        let rate: Double
        let megabytes_per_second: Double
        let latency_ms: Stats.Percentiles
        let window: Int
        let window_rates: [Double]
        let attachment_bytes: Int
        let first_problem: String?
    }

    /// Submission `n`: the exam, then its image.
    func submit(_ n: Int, client: CurlHTTPClient) async throws {
        let patient = "B\(runTag)-\(n)"
        let exam = """
            {"patient":{"identifiers":[{"system":"\(system)","value":"\(patient)"}],"name":"患者\(n)",\
            "sex":"female","birth_date":"1960-01-01"},"item_code":"\(item)","priority":"routine",\
            "clinical_info":"咳嗽两周，低热","consent":{"given":true,"method":"written"}}
            """
        let created = try await client.execute(
            CurlRequest(
                method: "POST", url: "\(url)/v1/exams",
                headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                body: .bytes(Array(exam.utf8))))
        guard created.status == 201,
            let object = try? JSONSerialization.jsonObject(with: Data(created.body)) as? [String: Any],
            let id = object["id"] as? String
        else {
            throw ClosedLoop.Failure(
                description: "POST /v1/exams: HTTP \(created.status) "
                    + String(decoding: created.body.prefix(300), as: UTF8.self))
        }
        let attached = try await client.execute(
            CurlRequest(
                method: "POST", url: "\(url)/v1/exams/\(id)/attachments",
                headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/dicom")],
                body: .bytes(try dicom(n, patient: patient))))
        guard attached.status == 201 else {
            throw ClosedLoop.Failure(
                description: "POST /v1/exams/{id}/attachments: HTTP \(attached.status) "
                    + String(decoding: attached.body.prefix(300), as: UTF8.self))
        }
    }

    /// The CT image of submission `n`, with the patient's id and pixel data that make its bytes unique.
    func dicom(_ n: Int, patient: String = "B0") throws -> [UInt8] {
        let root = "1.2.826.0.1.3680043.10.78.\(runTag)"
        var pixels = [UInt8](repeating: UInt8(n & 0xFF), count: max(2, attachmentBytes - 600) & ~1)
        withUnsafeBytes(of: UInt64(n).littleEndian) { pixels.replaceSubrange(0..<8, with: $0) }
        let elements: [DICOMWriter.Element] = [
            .string(.specificCharacterSet, .CS, "ISO_IR 192"),
            .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2"),
            .string(.sopInstanceUID, .UI, "\(root).\(n).1.1"),
            .string(.studyDate, .DA, "20261123"),
            .string(.modality, .CS, "CT"),
            .string(.patientName, .PN, "患者^\(n)"),
            .string(.patientID, .LO, patient),
            .string(.studyInstanceUID, .UI, "\(root).\(n)"),
            .string(.seriesInstanceUID, .UI, "\(root).\(n).1"),
            DICOMWriter.Element(DICOMTag(0x0028, 0x0010), .US, .uint16s([512])),
            DICOMWriter.Element(DICOMTag(0x0028, 0x0011), .US, .uint16s([UInt16(pixels.count / 1024)])),
            DICOMWriter.Element(DICOMTag(0x7FE0, 0x0010), .OW, .bytes(pixels)),
        ]
        return try DICOMWriter.write(elements)
    }
}

/// A closed loop: `concurrency` workers take operation numbers 0..<count in turn, each preparing its operation
/// (untimed) and performing it (timed), until all are done or `maxFailures` have failed.
enum ClosedLoop {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Outcome {
        /// Completion times of the operations that succeeded, in seconds from the start, sorted.
        var finished: [Double] = []
        /// Their latencies in milliseconds.
        var latencies: [Double] = []
        var problem: String?
    }

    static func run<Prepared>(
        count: Int, concurrency: Int, maxFailures: Int, prepare: @escaping @Sendable (Int) throws -> Prepared,
        perform: @escaping @Sendable (Prepared) async throws -> Void
    ) async -> Outcome {
        let cursor = SharedCounter()
        let failures = SharedCounter()
        let started = ContinuousClock.now
        var all = await withTaskGroup(of: Outcome.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var outcome = Outcome()
                    while failures.value < maxFailures {
                        let n = cursor.next()
                        if n >= count { break }
                        do {
                            let prepared = try prepare(n)
                            let sent = ContinuousClock.now
                            try await perform(prepared)
                            let now = ContinuousClock.now
                            outcome.latencies.append(Stats.milliseconds(now - sent))
                            outcome.finished.append(Stats.seconds(now - started))
                        } catch {
                            _ = failures.next()
                            outcome.problem = outcome.problem ?? "\(error)"
                        }
                    }
                    return outcome
                }
            }
            var all = Outcome()
            for await part in group {
                all.finished += part.finished
                all.latencies += part.latencies
                all.problem = all.problem ?? part.problem
            }
            return all
        }
        all.finished.sort()
        return all
    }
}

/// Rates per window of completions: `times` are completion times in seconds from the start, sorted.
enum Windows {
    static func rates(_ times: [Double], window: Int) -> [Double] {
        var rates: [Double] = []
        var start = 0
        while window > 0, start + window <= times.count {
            let from = start == 0 ? 0 : times[start - 1]
            let to = times[start + window - 1]
            rates.append(to > from ? Double(window) / (to - from) : 0)
            start += window
        }
        return rates
    }
}

// MARK: - fanout

/// Puts `requests` requests in flight at once on one CurlHTTPClient (one curl_multi driver thread) against a
/// server that holds each one, and measures how long the whole batch takes. Ideal: the hold time.
struct Fanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run ROUNDS batches of REQUESTS concurrent GETs on one CurlHTTPClient; print a JSON summary.")

    @Option(help: "URL of a server that holds each request before answering.") var url: String
    @Option(help: "Requests in flight at once (one batch).") var requests = 1000
    @Option(help: "Batches; the first opens every connection, later ones may reuse them.") var rounds = 3
    @Option(help: "How long the server holds each request, in ms (to report the overhead).") var holdMs = 200
    @Option(help: "Per-request timeout in seconds.") var timeout = 60

    func run() async throws {
        let client = CurlHTTPClient(
            configuration: .init(
                connectTimeout: .seconds(30), timeout: .seconds(timeout),
                maxConnectionsPerHost: 0, maxCachedConnections: requests + 16, maxPooledHandles: requests + 16))
        var results: [Round] = []
        for round in 1...max(1, rounds) {
            let cpuBefore = ProcessStats.cpuSeconds()
            let started = ContinuousClock.now
            let tally = await withTaskGroup(of: (Double?, Int?, String?).self) { group in
                for i in 0..<requests {
                    group.addTask {
                        let sent = ContinuousClock.now
                        do {
                            let response = try await client.execute(CurlRequest(url: "\(url)?r=\(round)&i=\(i)"))
                            return (Stats.milliseconds(ContinuousClock.now - sent), response.status, nil)
                        } catch {
                            return (nil, nil, "\(error)")
                        }
                    }
                }
                var latencies: [Double] = []
                var ok = 0
                var failed = 0
                var problem: String?
                for await (latency, status, error) in group {
                    if let latency { latencies.append(latency) }
                    if status == 200 { ok += 1 } else { failed += 1 }
                    if problem == nil, let error { problem = error }
                    if problem == nil, let status, status != 200 { problem = "HTTP \(status)" }
                }
                return (latencies, ok, failed, problem)
            }
            let seconds = Stats.seconds(ContinuousClock.now - started)
            results.append(
                Round(
                    round: round, requests: requests, ok: tally.1, failed: tally.2, seconds: seconds,
                    rate: seconds > 0 ? Double(tally.1) / seconds : 0,
                    overhead_ms: seconds * 1000 - Double(holdMs),
                    cpu_seconds: ProcessStats.cpuSeconds() - cpuBefore,
                    latency_ms: Stats.percentiles(tally.0), first_problem: tally.3))
        }
        await client.shutdown()
        let status = ProcessStats.status()
        try JSONOutput.print(
            FanoutSummary(
                requests: requests, hold_ms: holdMs, rounds: results,
                peak_rss_mb: status["VmHWM"].map { $0 / 1024 }, threads: status["Threads"].map { Int($0) }))
        if results.contains(where: { $0.failed > 0 }) { throw ExitCode(2) }
    }

    struct Round: Encodable {
        let round: Int
        let requests: Int
        let ok: Int
        let failed: Int
        let seconds: Double
        let rate: Double
        let overhead_ms: Double
        let cpu_seconds: Double
        let latency_ms: Stats.Percentiles
        let first_problem: String?
    }

    struct FanoutSummary: Encodable {
        let requests: Int
        let hold_ms: Int
        let rounds: [Round]
        let peak_rss_mb: Double?
        let threads: Int?
    }
}

// MARK: - support

final class SharedCounter: Sendable {
    private let counter = Atomic<Int>(0)
    /// Returns the current value and increments it.
    func next() -> Int { counter.add(1, ordering: .relaxed).oldValue }
    var value: Int { counter.load(ordering: .relaxed) }
}

enum Stats {
    struct Percentiles: Encodable {
        let count: Int
        let p50: Double?
        let p95: Double?
        let p99: Double?
        let max: Double?
        let mean: Double?
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    static func seconds(_ d: Duration) -> Double { milliseconds(d) / 1000 }

    /// Nearest-rank percentiles.
    static func percentiles(_ values: [Double]) -> Percentiles {
        guard !values.isEmpty else { return Percentiles(count: 0, p50: nil, p95: nil, p99: nil, max: nil, mean: nil) }
        let sorted = values.sorted()
        func rank(_ p: Double) -> Double {
            let index = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, index))]
        }
        return Percentiles(
            count: sorted.count, p50: rank(50), p95: rank(95), p99: rank(99), max: sorted.last,
            mean: sorted.reduce(0, +) / Double(sorted.count))
    }
}

enum ProcessStats {
    /// User + system CPU time of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    /// Numeric fields of /proc/self/status (kB values stay in kB).
    static func status() -> [String: Double] {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return [:] }
        var fields: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let words = parts[1].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let number = words.first.flatMap({ Double($0) }) else { continue }
            fields[String(parts[0])] = number
        }
        return fields
    }
}

enum JSONOutput {
    static func print(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        Swift.print(String(decoding: data, as: UTF8.self))
    }
}
