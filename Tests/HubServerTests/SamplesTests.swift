import Crypto
import Foundation
import HubConfig
import HubServer
import TestSupport
import Testing
import Yams

/// `Samples/`: the request samples match `openapi.yaml`, the three-hub configuration loads, the unit is hardened.
@Suite struct SamplesTests {
    static let samples = repositoryRoot.appendingPathComponent("Samples")

    /// Every write operation, as `openapi.yaml` lists it: operationId → (method, path, operation).
    static func writeOperations() throws -> [String: (method: String, path: String, operation: [String: Any])] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        var operations: [String: (method: String, path: String, operation: [String: Any])] = [:]
        for (path, item) in paths {
            for (method, value) in item as? [String: Any] ?? [:] where ["post", "put", "patch"].contains(method) {
                let operation = try #require(value as? [String: Any])
                let id = try #require(operation["operationId"] as? String, "\(method) \(path) has no operationId")
                operations[id] = (method.uppercased(), path, operation)
            }
        }
        return operations
    }

    @Test func everyWriteOperationHasASampleRequestThatIsJSON() throws {
        let operations = try Self.writeOperations()
        #expect(operations.count >= 30)
        let folder = Self.samples.appendingPathComponent("requests")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(files.subtracting(operations.keys.map { "\($0).json" }).sorted() == [], "samples of no operation")
        for (id, spec) in operations.sorted(by: { $0.key < $1.key }) {
            let file = folder.appendingPathComponent("\(id).json")
            guard let data = try? Data(contentsOf: file) else {
                Issue.record("Samples/requests/\(id).json is missing")
                continue
            }
            guard let sample = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                Issue.record("Samples/requests/\(id).json is not a JSON object")
                continue
            }
            #expect(sample["operation"] as? String == id)
            #expect(sample["method"] as? String == spec.method, "\(id)")
            #expect(
                Self.matches(sample["path"] as? String ?? "", template: spec.path), "\(id): \(sample["path"] ?? "")")
            let content = (spec.operation["requestBody"] as? [String: Any])?["content"] as? [String: Any] ?? [:]
            if content.isEmpty {
                #expect(sample["body"] == nil, "\(id) takes no body")
            } else if let json = content["application/json"] as? [String: Any] {
                let body = try #require(sample["body"] as? [String: Any], "\(id) needs a JSON body")
                let required = Self.requiredFields(json["schema"] as? [String: Any] ?? [:])
                #expect(required.subtracting(body.keys).sorted() == [], "\(id) lacks required fields")
                let headers = sample["headers"] as? [String: String] ?? [:]
                #expect(headers["Content-Type"] == "application/json", "\(id)")
            } else {
                #expect(
                    sample["body_file"] != nil || sample["body_lines"] != nil, "\(id): a non-JSON body is described")
            }
        }
    }

    /// A concrete path (`/v1/exams/exm_01example/claim`) matches its template (`/v1/exams/{id}/claim`).
    static func matches(_ path: String, template: String) -> Bool {
        let concrete = path.split(separator: "/")
        let pattern = template.split(separator: "/")
        return concrete.count == pattern.count
            && zip(concrete, pattern).allSatisfy { $1.hasPrefix("{") || $0 == $1 }
    }

    /// The top-level fields a schema requires, following `$ref` and `allOf`.
    static func requiredFields(_ schema: [String: Any]) -> Set<String> {
        var fields = Set(schema["required"] as? [String] ?? [])
        if let reference = schema["$ref"] as? String, let resolved = resolve(reference) {
            fields.formUnion(requiredFields(resolved))
        }
        for part in schema["allOf"] as? [[String: Any]] ?? [] { fields.formUnion(requiredFields(part)) }
        return fields
    }

    static func resolve(_ reference: String) -> [String: Any]? {
        guard
            let text = try? String(contentsOf: repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8),
            let document = (try? Yams.load(yaml: text)) as? [String: Any]
        else { return nil }
        var node: Any? = document
        for key in reference.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(key)] }
        return node as? [String: Any]
    }

    /// With real keys where the files say PASTE-…, the three configurations load and chain county → city → province.
    @Test func theThreeHubConfigurationsLoadAndChainCountyCityProvince() throws {
        let folder = Self.samples.appendingPathComponent("three-hubs")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("three-hubs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var loaded: [String: HubConfiguration] = [:]
        for name in ["county", "city", "province"] {
            var text = try String(contentsOf: folder.appendingPathComponent("\(name).yaml"), encoding: .utf8)
            #expect(text.contains("PASTE-"), "\(name).yaml ships without keys")
            for hub in ["hub-county", "hub-city", "hub-province"] {
                let key = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
                text = text.replacingOccurrences(of: "PASTE-\(hub)-PUBLIC-KEY", with: key)
            }
            let file = scratch.appendingPathComponent("\(name).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            loaded[name] = try HubConfiguration.load(file: file.path, explicitFile: true, environment: [:])
        }
        let county = try #require(loaded["county"])
        let city = try #require(loaded["city"])
        let province = try #require(loaded["province"])
        #expect([county.hubId, city.hubId, province.hubId] == ["hub-county", "hub-city", "hub-province"])
        #expect(Set([county.port, city.port, province.port]).count == 3)
        #expect(county.federationPeers.map(\.id) == ["hub-city"])
        #expect(Set(city.federationPeers.compactMap(\.id)) == ["hub-county", "hub-province"])
        #expect(province.federationPeers.map(\.id) == ["hub-city"])
        #expect(county.federationPeers.first?.serves?.contains("recognition") == true)
        #expect(city.federationDeadlineMilliseconds < county.federationDeadlineMilliseconds)
        // Relative paths are resolved against each file's folder: the catalog is the repository's.
        #expect(county.catalogDir.hasSuffix("/../../Config/catalog"))
        #expect(FileManager.default.fileExists(atPath: folder.path + "/../../Config/catalog/2026.1.yaml"))
    }

    @Test func theSystemdUnitIsHardened() throws {
        let unit = try String(
            contentsOf: Self.samples.appendingPathComponent("systemd/hubd.service"), encoding: .utf8)
        for directive in [
            "DynamicUser=yes", "StateDirectory=alliancehub", "ProtectSystem=strict", "NoNewPrivileges=yes",
            "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=",
            "SystemCallFilter=@system-service", "ExecStart=/usr/local/bin/hubd serve",
        ] {
            #expect(unit.contains(directive), "hubd.service lacks \(directive)")
        }
    }

    @Test func theDemoScriptIsValidBash() throws {
        let (status, output) = try ChildProcess.run(
            "bash", ["-n", Self.samples.appendingPathComponent("demo.sh").path])
        #expect(status == 0, "\(String(decoding: output, as: UTF8.self))")
        #expect(FileManager.default.isExecutableFile(atPath: Self.samples.appendingPathComponent("demo.sh").path))
    }
}
