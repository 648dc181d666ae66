import CurlHTTP
import Testing

@Suite("Streaming responses")
struct StreamingTests {
    @Test func streamedBodyMatchesWithBackpressure() async throws {
        try await withServer { server in
            // A tiny high-water mark forces many pause/resume cycles.
            try await withClient(.init(timeout: .seconds(120), streamingHighWaterMark: 4096)) { client in
                let response = try await client.stream(CurlRequest(url: server.baseURL + "/bytes?n=2000000&chunked=1"))
                #expect(response.status == 200)
                #expect(response.headers["Transfer-Encoding"] == "chunked")
                var received: [UInt8] = []
                var chunks = 0
                for try await chunk in response.body {
                    received += chunk
                    chunks += 1
                    if chunks % 50 == 0 { await Task.yield() }
                }
                #expect(received.count == 2_000_000)
                #expect(received == (0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 % 251) })
            }
        }
    }

    @Test func streamReturnsHeadBeforeBodyCompletes() async throws {
        try await withServer { server in
            try await withClient { client in
                // The whole body needs about 60 s; the head must not wait for it.
                let (response, elapsed) = try await measure {
                    try await client.stream(CurlRequest(url: server.baseURL + "/trickle?count=1200&interval=50"))
                }
                #expect(elapsed < .seconds(30))
                #expect(response.headers["Content-Length"] == "1200")
                var iterator = response.body.makeAsyncIterator()
                let first = try await iterator.next()
                #expect(first?.allSatisfy { $0 == UInt8(ascii: "x") } == true)
            }
        }
    }

    @Test func streamEnforcesCapAndEmptyBodies() async throws {
        try await withServer { server in
            try await withClient { client in
                let big = try await client.stream(
                    CurlRequest(url: server.baseURL + "/bytes?n=100000&chunked=1", maxResponseBytes: 1000))
                await #expect(throws: CurlHTTPError.tooLarge) { try await big.body.collect() }

                let empty = try await client.stream(CurlRequest(url: server.baseURL + "/status/404"))
                #expect(empty.status == 404)
                #expect(try await empty.body.collect() == Array("status 404".utf8))
            }
        }
    }

    @Test func cancellingTheReaderAbortsTheTransfer() async throws {
        try await withServer { server in
            try await withClient { client in
                let response = try await client.stream(
                    CurlRequest(url: server.baseURL + "/trickle?count=1200&interval=50"))
                let reader = Task {
                    var count = 0
                    for try await chunk in response.body { count += chunk.count }
                    return count
                }
                try await Task.sleep(for: .milliseconds(200))
                let (_, elapsed) = await measure {
                    reader.cancel()
                    return await reader.result
                }
                #expect(elapsed < .seconds(30))
                let after = try await client.execute(CurlRequest(url: server.baseURL + "/echo"))
                #expect(after.status == 200)
            }
        }
    }
}
