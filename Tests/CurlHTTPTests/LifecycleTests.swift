import CurlHTTP
import Logging
import ServiceLifecycle
import Testing

@Suite("Shutdown and lifecycle")
struct LifecycleTests {
    @Test func shutdownFailsInFlightAndLaterRequests() async throws {
        try await withServer { server in
            let client = CurlHTTPClient()
            let tasks = (0..<3).map { _ in
                Task { try await client.execute(CurlRequest(url: server.baseURL + "/trickle?count=1200&interval=50")) }
            }
            try await Task.sleep(for: .milliseconds(300))
            let (_, elapsed) = await measure { await client.shutdown() }
            #expect(elapsed < .seconds(30))
            for task in tasks {
                await #expect(throws: CurlHTTPError.shutdown) { try await task.value }
            }
            await #expect(throws: CurlHTTPError.shutdown) {
                try await client.execute(CurlRequest(url: server.baseURL + "/echo"))
            }
            await #expect(throws: CurlHTTPError.shutdown) {
                try await client.stream(CurlRequest(url: server.baseURL + "/echo"))
            }
            await client.shutdown()
        }
    }

    @Test func serviceGroupGracefulShutdownStopsClient() async throws {
        try await withServer { server in
            let client = CurlHTTPClient()
            let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            let group = ServiceGroup(configuration: .init(services: [client], logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let response = try await client.execute(CurlRequest(url: server.baseURL + "/echo"))
                #expect(response.status == 200)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await #expect(throws: CurlHTTPError.shutdown) {
                try await client.execute(CurlRequest(url: server.baseURL + "/echo"))
            }
        }
    }

    @Test func droppingClientWithoutShutdownDoesNotHang() async throws {
        try await withServer { server in
            var client: CurlHTTPClient? = CurlHTTPClient()
            let response = try await client?.execute(CurlRequest(url: server.baseURL + "/echo"))
            #expect(response?.status == 200)
            client = nil
            #expect(client == nil)
        }
    }
}
