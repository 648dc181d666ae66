import CurlHTTP
import Foundation
import HTTPTypes
import HubConfig
import HubCore
import HubFederation
import HubServer
import HubStore
import HubUseCases
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The repository's root, found from this file, so tests use the real `Config/catalog`.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A hub on its own temporary data directory and a free loopback port.
struct TestHub {
    let directory: URL
    var config: HubConfiguration
    /// Stands in for DNS when the hub checks outgoing addresses; nil for the system's resolver.
    var outboundResolver: OutboundAddressPolicy.Resolver?

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        config = HubConfiguration()
        config.host = "127.0.0.1"
        config.port = 0
        config.dataDir = directory.path
        config.catalogDir = repositoryRoot.appendingPathComponent("Config/catalog").path
        // Peers and webhooks of the tests are plain http:// on loopback.
        config.federationAllowPlainHTTP = true
        // The tests' receivers and peers listen on loopback.
        config.outboundAllowInternalAddresses = true
        // Commits are not flushed one by one: a test's process may stop, its machine does not lose power, and the
        // flushes of many hubs at once (ext4 commits its whole journal for each) stall the time-bound tests beside
        // them. What a flushed commit means is tested on the store (HubStoreTests) and with real daemons killed.
        config.durability = .normal
    }

    /// Starts the hub, runs `body` against it over real HTTP, then shuts it down.
    func run<T: Sendable>(
        clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
        _ body: @Sendable (HubClient) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "test-hub")
        logger.logLevel = .error
        let hub = try buildHub(config, logger: logger, clock: clock, outboundResolver: outboundResolver)
        let adminTokenPath = config.adminTokenPath
        return try await hub.app.test(.live) { client in
            let admin = try String(contentsOfFile: adminTokenPath, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return try await body(HubClient(client: client, admin: admin, hub: hub))
        }
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// One answer, with its JSON parsed for easy assertions.
struct Reply: Sendable {
    var status: Int
    var headers: HTTPFields
    var body: Data

    var json: [String: Any] {
        ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:]
    }

    subscript(key: String) -> String? { json[key] as? String }

    var items: [[String: Any]] { (json["items"] as? [[String: Any]]) ?? [] }

    var contentType: String? { headers[.contentType] }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A hub the tests call over HTTP: one in this process, or a real `hubd` process.
protocol HubAPI: Sendable {
    var admin: String { get }
    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String?, json: Any?, raw: Data?, contentType: String?,
        headers: [String: String]
    ) async throws -> Reply
}

extension HubAPI {
    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: Any? = nil, raw: Data? = nil,
        contentType: String? = nil, headers: [String: String] = [:]
    ) async throws -> Reply {
        try await send(method, path, token: token, json: json, raw: raw, contentType: contentType, headers: headers)
    }
}

/// Calls the hub as clients do.
struct HubClient: HubAPI {
    let client: any TestClientProtocol
    let admin: String
    let hub: BuiltHub

    var env: HubEnvironment { hub.env }
    /// The SQLite store behind `env.database`.
    var database: AppDatabase { hub.database }

    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String?, json: Any?, raw: Data?, contentType: String?,
        headers: [String: String]
    ) async throws -> Reply {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            fields[.contentType] = "application/json"
        } else if let raw {
            body = ByteBuffer(bytes: raw)
        }
        if let contentType { fields[.contentType] = contentType }
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        let response = try await client.execute(uri: path, method: method, headers: fields, body: body)
        return Reply(
            status: Int(response.status.code), headers: response.headers, body: Data(response.body.readableBytesView))
    }

}

extension HubClient {
    /// Runs `body` with this hub called through libcurl, for a request that may keep the hub busy longer than the
    /// in-process test client waits without reading a byte (20 s) on a loaded machine.
    func throughCurl<T: Sendable>(_ body: @Sendable (CurlHub) async throws -> T) async throws -> T {
        let port = try #require(client.port)
        let curl = CurlHTTPClient()
        do {
            let value = try await body(CurlHub(baseURL: "http://127.0.0.1:\(port)", client: curl, admin: admin))
            await curl.shutdown()
            return value
        } catch {
            await curl.shutdown()
            throw error
        }
    }
}

extension HubAPI {
    /// Adds `target` as a peer of this hub, with the identity `target` publishes, reached at `url`.
    func addPeer(_ target: some HubAPI, id: String, region: String, url: String, serves: [String]) async throws {
        let identity = try await target.get("/federation/v1/identity")
        let added = try await call(
            .post, "/v1/peers", token: admin,
            json: ["id": id, "url": url, "public_key": identity["public_key"]!, "region": region, "serves": serves])
        try #require(added.status == 201, "\(added.text)")
    }

    func get(_ path: String, token: String? = nil) async throws -> Reply {
        try await call(.get, path, token: token)
    }

    // MARK: Fixtures

    @discardableResult
    func institution(
        _ id: String, level: String = "primary", region: String = "420102", alliances: [String] = ["wh-alliance"]
    ) async throws -> Reply {
        let reply = try await call(
            .post, "/v1/institutions", token: admin,
            json: ["id": id, "name": "机构 \(id)", "level": level, "region": region, "alliances": alliances])
        try #require(reply.status == 201, "creating institution \(id): \(reply.text)")
        return reply
    }

    /// Creates a practitioner and a token for them; returns (practitioner id, token).
    func practitioner(
        at institution: String, title: String = "attending", roles: [String]
    ) async throws -> (
        String, String
    ) {
        let created = try await call(
            .post, "/v1/institutions/\(institution)/practitioners", token: admin,
            json: ["name": "医生", "title": title, "roles": roles])
        try #require(created.status == 201, "creating practitioner: \(created.text)")
        let id = created["id"]!
        let token = try await call(.post, "/v1/practitioners/\(id)/tokens", token: admin)
        try #require(token.status == 201, "issuing token: \(token.text)")
        return (id, token["token"]!)
    }

    func centerBody(
        id: String, institution: String, kind: String = "imaging", items: [String] = ["CT-CHEST", "DR-CHEST"],
        validFrom: String = "2026-01-01", validTo: String = "2027-12-31"
    ) -> [String: Any] {
        [
            "id": id, "name": "区域影像中心", "kind": kind, "institution_id": institution, "items": items,
            "modalities": kind == "imaging" ? ["CT", "DX"] : kind == "ecg" ? ["ECG"] : [], "daily_capacity": 120,
            "hours": [["days": ["mon", "tue", "wed", "thu", "fri"], "open": "08:00", "close": "17:30"]],
            "turnaround_minutes": ["routine": 240, "urgent": 120, "asap": 60, "stat": 30],
            "qualifications": [
                [
                    "type": ["lab": "nccl_eqa", "ecg": "ecg_qc", "pathology": "pathology_qc"][kind] ?? "imaging_qc",
                    "items": items, "valid_from": validFrom,
                    "valid_to": validTo, "issuer": "湖北省医学影像质控中心",
                ]
            ],
        ]
    }
}

/// Creates a fresh hub, runs the test, and removes the hub's files.
func withHub<T: Sendable>(
    clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }, _ body: @Sendable (HubClient) async throws -> T
) async throws -> T {
    let hub = try TestHub()
    defer { hub.remove() }
    return try await hub.run(clock: clock, body)
}
