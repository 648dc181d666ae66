import CurlHTTP
import Foundation
import HTTPTypes
import Synchronization
import TestSupport
import Testing

/// A real `hubd` process on loopback, driven over HTTP with the libcurl client.
final class Daemon: Sendable {
    let dataDir: URL
    let configFile: URL
    private let process = Mutex<ChildProcess?>(nil)

    /// Writes a configuration file for the daemon; `extra` is appended YAML sections. A fixed `port` keeps the
    /// daemon's address across restarts.
    init(
        dataDir: URL, extra: String = "", hubId: String = "hub-test", region: String = "110000", port: Int = 0,
        allowInternalAddresses: Bool = true
    ) throws {
        self.dataDir = dataDir
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        configFile = dataDir.appendingPathComponent("hub.yaml")
        let yaml = """
            hub:
              id: \(hubId)
              region: "\(region)"
            http:
              host: 127.0.0.1
              port: \(port)
            storage:
              data_dir: \(dataDir.path)
            catalog:
              dir: \(repositoryRoot.appendingPathComponent("Config/catalog").path)
            log:
              level: info
            outbound:
              allow_internal_addresses: \(allowInternalAddresses)
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
    var pid: Int32? { process.withLock { $0?.pid } }
    var adminToken: String {
        get throws {
            try String(contentsOf: dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Starts the daemon and waits until it answers `/readyz`.
    func start(client: CurlHTTPClient) async throws {
        try? FileManager.default.removeItem(at: logFile)
        // Peers and webhooks of the tests are plain http:// on loopback.
        var environment = OutsideTools.defaultEnvironment
        environment["HUB_ALLOW_PLAIN_HTTP"] = "true"
        let process = try ChildProcess(
            try Self.binary.path, ["serve", "--config", configFile.path], environment: environment,
            stdout: .file(logFile.path))
        self.process.withLock { $0 = process }
        // Generous: the hub is ready in a second or two, but the tests beside this one may hold the machine.
        let deadline = ContinuousClock.now + .seconds(90)
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
        process.signal(signal)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.wait()
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

/// A real `hubd` process as the tests' fixtures call it.
typealias DaemonHub = CurlHub

extension CurlHub {
    init(_ daemon: Daemon, client: CurlHTTPClient) throws {
        self.init(baseURL: daemon.baseURL, client: client, admin: try daemon.adminToken)
    }
}

/// A hub called through the libcurl client: a `hubd` process, or an in-process hub asked to take a request longer
/// than the in-process test client waits for an answer (20 s without a byte read).
struct CurlHub: HubAPI {
    let baseURL: String
    let client: CurlHTTPClient
    let admin: String
    /// The whole request's limit; nil for none.
    var timeout: Duration? = nil

    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String?, json: Any?, raw: Data?, contentType: String?,
        headers: [String: String]
    ) async throws -> Reply {
        var fields: [(name: String, value: String)] = []
        if let token { fields.append(("Authorization", "Bearer \(token)")) }
        var body = CurlRequest.Body.none
        if let json {
            body = .bytes(Array(try JSONSerialization.data(withJSONObject: json)))
            fields.append(("Content-Type", "application/json"))
        } else if let raw {
            body = .bytes(Array(raw))
        }
        if let contentType { fields.append(("Content-Type", contentType)) }
        for (name, value) in headers { fields.append((name, value)) }
        let reply = try await client.execute(
            CurlRequest(method: method.rawValue, url: baseURL + path, headers: fields, body: body, timeout: timeout))
        var answer = HTTPFields()
        for (name, value) in reply.headers.fields {
            if let field = HTTPField.Name(name) { answer.append(HTTPField(name: field, value: value)) }
        }
        return Reply(status: reply.status, headers: answer, body: Data(reply.body))
    }
}
