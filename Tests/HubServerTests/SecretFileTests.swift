import Foundation
import HubServer
import HubStore
import TestSupport
import Testing

@Suite struct SecretFileTests {
    /// The keys and the admin token are the owner's from their first byte (0600), and the data folder is too (0700),
    /// even when it existed with a wider mode before the first start.
    @Test func keysTokenAndDataFolderAreTheOwnersOnly() async throws {
        let testHub = try TestHub()
        defer { testHub.remove() }
        #expect(chmod(testHub.directory.path, 0o755) == 0)
        let config = testHub.config
        try await testHub.run { hub in
            let me = try await hub.get("/v1/me", token: hub.admin)
            #expect(me.status == 200)
            for path in [config.federationKeyPath, config.identifierKeyPath, config.adminTokenPath] {
                #expect(try fileMode(path) == 0o600, "\(path)")
            }
            #expect(try fileMode(config.dataDir) == 0o700)
        }
        // Written again when created by another path: a fresh key folder made by SecretFile itself.
        let nested = testHub.directory.appendingPathComponent("nested/keys/k").path
        try SecretFile.write(nested, contents: Data("secret".utf8), replacing: false)
        #expect(try fileMode(nested) == 0o600)
        #expect(try fileMode((nested as NSString).deletingLastPathComponent) == 0o700)
        #expect(throws: SecretFile.Exists.self) {
            try SecretFile.write(nested, contents: Data("other".utf8), replacing: false)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: nested)) == Data("secret".utf8), "a key is never replaced")
    }

    /// A key file that is there but cannot be used stops hubd with a message naming it, and is left as it was: a new
    /// identifier key would orphan every patient key hash, a new hub key the federation identity.
    @Test func anUnusableKeyFileStopsHubdNamingItAndStaysAsItWas() async throws {
        let cases: [(name: String, file: String, damage: @Sendable (String) throws -> Void)] = [
            (
                "short identifier key", "identifier.key",
                { try Data("c2hvcnQ=\n".utf8).write(to: URL(fileURLWithPath: $0)) }
            ),
            ("corrupt hub key", "hub.key", { try Data("not a key at all\n".utf8).write(to: URL(fileURLWithPath: $0)) }),
            (
                "unreadable identifier key", "identifier.key",
                { try FileManager.default.createDirectory(atPath: $0, withIntermediateDirectories: false) }
            ),
        ]
        for (name, file, damage) in cases {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "hub-key-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let daemon = try Daemon(dataDir: directory)
            let path = directory.appendingPathComponent(file).path
            try damage(path)
            let before = FileManager.default.contents(atPath: path)
            let (status, output) = try await offPool {
                try ChildProcess.run(try Daemon.binary.path, ["serve", "--config", daemon.configFile.path])
            }
            let text = String(decoding: output, as: UTF8.self)
            #expect(status != 0, "\(name): \(text)")
            #expect(text.contains(path) && text.contains("will not replace it"), "\(name): \(text)")
            #expect(FileManager.default.contents(atPath: path) == before, "\(name): the file is unchanged")
            #expect(!text.contains("listening on"), "\(name): the hub never served")
        }
    }
}
