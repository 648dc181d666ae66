import CurlHTTP
import Foundation
import Synchronization
import Testing

/// A real `hubd` process on loopback, driven over HTTP with the libcurl client.
final class Daemon: Sendable {
    let dataDir: URL
    let configFile: URL
    private let process = Mutex<Process?>(nil)

    /// Writes a configuration file for the daemon; `extra` is appended YAML sections.
    init(dataDir: URL, extra: String = "") throws {
        self.dataDir = dataDir
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        configFile = dataDir.appendingPathComponent("hub.yaml")
        let yaml = """
            hub:
              id: hub-test
            http:
              host: 127.0.0.1
              port: 0
            storage:
              data_dir: \(dataDir.path)
            catalog:
              dir: \(repositoryRoot.appendingPathComponent("Config/catalog").path)
            log:
              level: info
            \(extra)
            """
        try yaml.write(to: configFile, atomically: true, encoding: .utf8)
    }

    static var binary: URL {
        get throws {
            let candidates = [
                URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
                    "hubd"),
                repositoryRoot.appendingPathComponent(".build/debug/hubd"),
            ]
            guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "hubd is not built"])
            }
            return found
        }
    }

    /// The daemon writes its log here; tests read the file rather than a pipe, because libdispatch's readability
    /// sources have crashed on Linux when a pipe closes under them.
    var logFile: URL { dataDir.appendingPathComponent("hubd.log") }
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The port of the most recent start, read from the daemon's log.
    var port: Int {
        let text = log
        guard let range = text.range(of: #"listening on 127\.0\.0\.1:\d+"#, options: [.regularExpression, .backwards])
        else { return 0 }
        return Int(text[range].split(separator: ":").last!) ?? 0
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The process id of the running daemon, if one was started.
    var pid: Int32? { process.withLock { $0?.processIdentifier } }
    var adminToken: String {
        get throws {
            try String(contentsOf: dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Starts the daemon and waits until it answers `/readyz`.
    func start(client: CurlHTTPClient) async throws {
        try? FileManager.default.removeItem(at: logFile)
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: logFile)
        let process = Process()
        process.executableURL = try Self.binary
        process.arguments = ["serve", "--config", configFile.path]
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try output.close()
        self.process.withLock { $0 = process }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if port != 0, let reply = try? await client.execute(CurlRequest(url: baseURL + "/readyz")),
                reply.status == 200
            {
                return
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "hubd did not become ready:\n\(log)"])
    }

    /// Sends `signal` and waits for the process to end; returns its exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) async -> Int32 {
        guard let process = process.withLock({ $0 }) else { return -1 }
        kill(process.processIdentifier, signal)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }

    /// A JSON request to the daemon.
    func call(
        _ client: CurlHTTPClient, _ method: String, _ path: String, token: String?, json: Any? = nil
    ) async throws -> (Int, [String: Any]) {
        var headers: [(name: String, value: String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        var body = CurlRequest.Body.none
        if let json {
            headers.append(("Content-Type", "application/json"))
            body = .bytes(Array(try JSONSerialization.data(withJSONObject: json)))
        }
        let reply = try await client.execute(
            CurlRequest(method: method, url: baseURL + path, headers: headers, body: body))
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
        return (reply.status, object)
    }
}
