import Foundation
import HTTPTypes
import HubCore
import HubServer
import HubStore
import Testing

@Suite struct HealthTests {
    @Test func healthAndReadinessAnswerWithoutAToken() async throws {
        try await withHub { hub in
            #expect(try await hub.get("/healthz").status == 200)
            let ready = try await hub.get("/readyz")
            #expect(ready.status == 200)
            #expect(ready["hub_id"] == "hub-local")
        }
    }

    @Test func readinessNeedsMigrations() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-ready-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try AppDatabase(path: directory.appendingPathComponent("hub.sqlite").path)
        #expect(await database.isReady() == false)
        try database.migrate()
        #expect(await database.isReady() == true)
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        try await withHub { hub in
            _ = try await hub.get("/v1/institutions", token: hub.admin)
            _ = try await hub.get("/v1/institutions/nope", token: hub.admin)
            let metrics = try await hub.get("/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.contentType?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"http_route="/v1/institutions/{id}""#))
            #expect(metrics.text.contains(#"http_response_status_code="404""#))
            #expect(metrics.text.contains("hub_db_write_duration"))
        }
    }

    @Test func unknownRoutesAnswerProblemJSON() async throws {
        try await withHub { hub in
            let reply = try await hub.get("/nowhere")
            #expect(reply.status == 404)
            #expect(reply.contentType == "application/problem+json")
            #expect(reply["code"] == "not_found")
            #expect(reply.headers[HTTPField.Name("X-Request-Id")!] != nil)
        }
    }
}
