import Foundation
import Testing

/// The package's layers, as `Docs/architecture.md` draws them: each module imports only what its layer may. A
/// door (HubServer) never reaches the database itself; the use cases never know HTTP; the domain imports nothing.
@Suite struct ModuleBoundaryTests {
    /// What every Swift module may import besides its own layer's list.
    static let platform: Set<String> = ["Foundation", "Dispatch", "Synchronization", "Glibc", "Musl", "Darwin"]

    /// The modules each module may import (beyond `platform`).
    static let allowed: [String: Set<String>] = [
        "HubCore": [],
        "DICOM": ["CZlib"],
        "DIMSE": [],
        "HL7": [],
        "CurlHTTP": ["CCurl", "CCurlShim", "Logging", "ServiceLifecycle"],
        "HubStorage": ["HubCore", "Crypto"],
        "HubStore": ["HubCore", "HubStorage", "GRDB", "Crypto", "Logging", "Metrics"],
        "HubConfig": ["HubCore", "HubStorage", "Logging", "Yams"],
        "HubFederation": [
            "HubCore", "HubStorage", "CurlHTTP", "HL7", "Crypto", "Logging", "Metrics", "ServiceLifecycle",
        ],
        "HubUseCases": [
            "HubCore", "HubStorage", "HubConfig", "HubFederation", "CurlHTTP", "DICOM", "HL7", "Crypto", "Logging",
            "Metrics", "ServiceLifecycle", "Yams",
        ],
        "HL7Door": [
            "HL7", "NetworkDoor", "HubCore", "HubConfig", "HubStorage", "HubUseCases", "NIOCore", "NIOPosix",
            "Logging", "ServiceLifecycle",
        ],
        "NetworkDoor": ["HubFederation", "Logging", "NIOCore", "Synchronization"],
        "DICOMDoor": [
            "DIMSE", "DICOM", "NetworkDoor", "HubCore", "HubConfig", "HubStorage", "HubUseCases", "NIOCore",
            "NIOPosix", "Logging", "ServiceLifecycle",
        ],
        "HubServer": [
            "DICOMDoor", "HL7Door", "HubCore", "HubStorage", "HubStore", "HubConfig", "HubFederation", "HubUseCases",
            "CurlHTTP",
            "DICOM",
            "Crypto",
            "Logging", "Metrics", "Prometheus", "ServiceLifecycle", "Hummingbird", "HTTPTypes", "NIOCore",
        ],
        "hubd": ["HubConfig", "HubServer", "Hummingbird", "ArgumentParser", "Logging"],
        "hubctl": [
            "HubCore", "HubStore", "HubConfig", "HubFederation", "CurlHTTP", "GRDB", "ArgumentParser", "Crypto",
            "_CryptoExtras",
        ],
    ]

    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// The modules each Swift file of `module` imports, by file.
    static func imports(of module: String) throws -> [(file: String, module: String)] {
        let root = sources.appendingPathComponent(module)
        guard let files = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var found: [(String, String)] = []
        for case let file as String in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                var words = line.split(separator: " ").map(String.init)
                while let first = words.first, first.hasPrefix("@") { words.removeFirst() }
                guard words.count >= 2, words[0] == "import" else { continue }
                found.append((file, words[1].split(separator: ".").first.map(String.init) ?? words[1]))
            }
        }
        return found
    }

    @Test(arguments: allowed.keys.sorted())
    func aModuleImportsOnlyWhatItsLayerMay(_ module: String) throws {
        let imports = try Self.imports(of: module)
        // A module allowed nothing (the domain, the DIMSE codec) may well import nothing.
        #expect(!imports.isEmpty || Self.allowed[module] == [], "no Swift file found in Sources/\(module)")
        let allowed = Self.allowed[module, default: []].union(Self.platform)
        for (file, imported) in imports where !allowed.contains(imported) {
            Issue.record("Sources/\(module)/\(file) imports \(imported), which \(module) may not import")
        }
    }

    /// The one file of the server that chooses the store: everything else speaks `HubStorage`'s protocols, so another
    /// backend plugs in there.
    @Test func onlyTheWiringNamesTheSQLiteStore() throws {
        let wiring = "Application+build.swift"
        let naming = try Self.imports(of: "HubServer").filter { $0.module == "HubStore" }.map(\.file)
        #expect(naming == [wiring], "HubServer files importing HubStore: \(naming.sorted())")
    }

    @Test func everyModuleHasItsRules() throws {
        let modules = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path).filter { name in
            // C modules (a module map or C sources) are not held to Swift import rules.
            (try? Self.imports(of: name).isEmpty == false) ?? false
        }
        #expect(Set(modules).isSubset(of: Set(Self.allowed.keys)), "modules without rules: \(modules.sorted())")
    }
}
