import Foundation
import HubConfig
import HubServer
import Testing

@Suite struct ConfigurationTests {
    func file(_ yaml: String) throws -> (String, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("hub.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, directory)
    }

    @Test func flagsBeatEnvironmentBeatFileBeatDefaults() throws {
        let (path, directory) = try file(
            "hub:\n  id: from-file\n  region: \"420100\"\nhttp:\n  port: 9001\n  host: 0.0.0.0\nlog:\n  level: debug\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try HubConfiguration.load(
            file: path, explicitFile: true, environment: ["HUB_PORT": "9002", "HUB_ID": "from-env"],
            overrides: .init(hubId: "from-flag"))
        #expect(config.hubId == "from-flag")
        #expect(config.port == 9002)
        #expect(config.host == "0.0.0.0")
        #expect(config.region == "420100")
        #expect(config.logLevel == .debug)
        #expect(config.maxBodyBytes == HubConfiguration().maxBodyBytes)
    }

    @Test func relativePathsInTheFileFollowTheFile() throws {
        let (path, directory) = try file("storage:\n  data_dir: ../var/hub\ncatalog:\n  dir: catalog\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try HubConfiguration.load(file: path, explicitFile: true, environment: [:])
        #expect(config.dataDir == directory.appendingPathComponent("../var/hub").path)
        #expect(config.catalogDir == directory.appendingPathComponent("catalog").path)
        let fromEnv = try HubConfiguration.load(file: path, explicitFile: true, environment: ["HUB_DATA_DIR": "rel"])
        #expect(fromEnv.dataDir == "rel", "paths from the environment are taken as given")
    }

    @Test(arguments: [
        ("http:\n  prot: 80\n", "http.prot"), ("htp:\n  port: 80\n", "htp"), ("http:\n  port: 70000\n", "http.port"),
        ("hub:\n  region: \"12345\"\n", "hub.region"), ("log:\n  level: loud\n", "log.level"),
        ("http: [1, 2]\n", "http"),
        ("federation:\n  peers: hub-city\n", "federation.peers"),
        ("federation:\n  peers:\n    - id: hub-city\n      url: ftp://x\n", "federation.peers[0].url"),
        ("federation:\n  peers:\n    - id: hub-city\n      colour: red\n", "federation.peers[0].colour"),
        ("federation:\n  deadline_ms: 0\n", "federation.deadline_ms"),
        ("storage:\n  durability: sometimes\n", "storage.durability"),
    ])
    func mistakesNameTheKey(_ yaml: String, _ key: String) throws {
        let (path, directory) = try file(yaml)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: HubConfiguration.Problem.self) {
            try HubConfiguration.load(file: path, explicitFile: true, environment: [:])
        }
        do {
            _ = try HubConfiguration.load(file: path, explicitFile: true, environment: [:])
        } catch let problem as HubConfiguration.Problem {
            #expect(problem.key == key)
        }
    }

    @Test func peersAndFederationTimesAreRead() throws {
        let key = "MCowBQYDK2VwAyEAq2m8vZ4y0b8rXl1z1K3n5Yb0cQ=="
        let (path, directory) = try file(
            """
            federation:
              peer_timeout_ms: 250
              deadline_ms: 400
              directory_refresh_seconds: 60
              peers:
                - id: hub-city
                  url: https://hub.city.example.cn/
                  public_key: "\(String(key.suffix(44)))"
                  region: "420100"
                  serves: [recognition, imaging]
            """)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try HubConfiguration.load(file: path, explicitFile: true, environment: [:])
        #expect(config.federationPeerTimeoutMilliseconds == 250)
        #expect(config.federationDeadlineMilliseconds == 400)
        #expect(config.federationDirectoryRefreshSeconds == 60)
        #expect(config.federationPeers.count == 1)
        #expect(config.federationPeers.first?.id == "hub-city")
        #expect(config.federationPeers.first?.serves == ["recognition", "imaging"])
    }

    @Test func durabilityIsFullUnlessRelaxed() throws {
        #expect(HubConfiguration().durability == .full)
        let (path, directory) = try file("storage:\n  durability: normal\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try HubConfiguration.load(file: path, explicitFile: true, environment: [:]).durability == .normal)
        let fromEnv = try HubConfiguration.load(
            file: path, explicitFile: true, environment: ["HUB_DURABILITY": "full"])
        #expect(fromEnv.durability == .full)
    }

    @Test func aMissingDefaultFileMeansBuiltInDefaultsButAMissingNamedFileIsAnError() throws {
        let config = try HubConfiguration.load(file: "/nonexistent/hub.yaml", explicitFile: false, environment: [:])
        #expect(config == HubConfiguration())
        #expect(throws: HubConfiguration.Problem.self) {
            try HubConfiguration.load(file: "/nonexistent/hub.yaml", explicitFile: true, environment: [:])
        }
    }

    @Test func theShippedConfigurationLoads() throws {
        let path = repositoryRoot.appendingPathComponent("Config/hub.yaml").path
        let config = try HubConfiguration.load(file: path, explicitFile: true, environment: [:])
        #expect(config.port == 8080)
        #expect(config.durability == .full)
        #expect(config.catalogDir.hasSuffix("Config/catalog"))
        #expect((config.dataDir as NSString).standardizingPath == repositoryRoot.appendingPathComponent("data").path)
    }
}
