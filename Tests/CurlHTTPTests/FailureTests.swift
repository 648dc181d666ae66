import CurlHTTP
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Transport failures")
struct FailureTests {
    @Test func slowResponseHitsTotalTimeout() async throws {
        try await withServer { server in
            try await withClient { client in
                let (outcome, elapsed) = await measure {
                    await #expect(throws: CurlHTTPError.timeout) {
                        try await client.execute(
                            CurlRequest(url: server.baseURL + "/slow?ms=60000", timeout: .milliseconds(200)))
                    }
                }
                #expect(elapsed < .seconds(30))
                #expect(outcome?.curlCode == 28)
                #expect(outcome?.detail?.isEmpty == false)
            }
        }
    }

    @Test func silentServerHitsTotalTimeout() async throws {
        try await withServer(.silent) { server in
            try await withClient { client in
                let (_, elapsed) = await measure {
                    await #expect(throws: CurlHTTPError.timeout) {
                        try await client.execute(CurlRequest(url: server.baseURL + "/", timeout: .milliseconds(200)))
                    }
                }
                #expect(elapsed < .seconds(30))
            }
        }
    }

    @Test func closedPortIsConnectionRefused() async throws {
        let port = try Sockets.closedPort()
        try await withClient { client in
            let error = await #expect(throws: CurlHTTPError.connectionRefused) {
                try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/"))
            }
            #expect(error?.curlCode == 7)
        }
    }

    /// A listener whose accept queue is full drops SYNs, so connect() hangs.
    @Test func fullBacklogHitsConnectTimeout() async throws {
        let (listener, port) = try Sockets.listenLoopback(backlog: 0)
        var fillers: [Int32] = []
        defer {
            fillers.forEach { close($0) }
            close(listener)
        }
        for _ in 0..<4 {
            fillers.append(try Sockets.connectNonBlocking(port: port))
        }
        try await Task.sleep(for: .milliseconds(50))
        try await withClient { client in
            let (_, elapsed) = await measure {
                await #expect(throws: CurlHTTPError.connectTimeout) {
                    try await client.execute(
                        CurlRequest(
                            url: "http://127.0.0.1:\(port)/", connectTimeout: .milliseconds(300), timeout: .seconds(60)
                        ))
                }
            }
            #expect(elapsed < .seconds(30))
        }
    }

    @Test func responseOverCapIsTooLarge() async throws {
        try await withServer { server in
            try await withClient(.init(maxResponseBytes: 10_000)) { client in
                // Content-Length known up front: libcurl refuses before reading.
                await #expect(throws: CurlHTTPError.tooLarge) {
                    try await client.execute(CurlRequest(url: server.baseURL + "/bytes?n=50000"))
                }
                // Chunked: the write callback stops at the first byte over.
                await #expect(throws: CurlHTTPError.tooLarge) {
                    try await client.execute(CurlRequest(url: server.baseURL + "/bytes?n=50000&chunked=1"))
                }
                // Per-request override lifts the client's cap.
                let response = try await client.execute(
                    CurlRequest(url: server.baseURL + "/bytes?n=50000", maxResponseBytes: 50_000))
                #expect(response.body.count == 50_000)
            }
        }
    }

    @Test func errorsCarryDiagnostics() async throws {
        let port = try Sockets.closedPort()
        try await withClient { client in
            do throws(CurlHTTPError) {
                _ = try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/"))
                Issue.record("expected a failure")
            } catch {
                #expect(error.description.contains("connectionRefused"))
                #expect(error.description.contains("CURLcode 7"))
            }
        }
    }
}
