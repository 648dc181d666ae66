import Foundation
import HubServer
import Testing
import Yams

@Suite struct OpenAPITests {
    /// Every route the hub answers is described, and every described operation exists.
    @Test func theDocumentListsExactlyTheRoutesThatExist() async throws {
        try await withHub { hub in
            let reply = try await hub.get("/openapi.yaml")
            #expect(reply.status == 200)
            let document = try #require(try Yams.load(yaml: reply.text) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: Any])
            let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
            var described = Set<String>()
            for (path, item) in paths {
                for key in (item as? [String: Any] ?? [:]).keys where methods.contains(key) {
                    described.insert("\(key.uppercased()) \(path)")
                }
            }
            let registered = Set(hub.hub.routes.map { "\($0.method) \($0.path)" })
            #expect(registered.subtracting(described).sorted() == [], "routes missing from openapi.yaml")
            #expect(described.subtracting(registered).sorted() == [], "operations in openapi.yaml that do not exist")
            #expect(registered.count >= 26)
        }
    }

    @Test func theServedDocumentIsTheRepositoryFile() async throws {
        let file = try Data(contentsOf: repositoryRoot.appendingPathComponent("openapi.yaml"))
        try await withHub { hub in
            let served = try await hub.get("/openapi.yaml")
            #expect(served.body == file)
        }
    }
}
