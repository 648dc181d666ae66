import CurlHTTP
import Testing

@Suite("Cancellation")
struct CancellationTests {
    @Test func cancellingMidTransferThrowsCancelledPromptly() async throws {
        try await withServer { server in
            try await withClient { client in
                // 1200 bytes at one per 50 ms: about 60 s if not cancelled.
                let task = Task {
                    try await client.execute(CurlRequest(url: server.baseURL + "/trickle?count=1200&interval=50"))
                }
                try await Task.sleep(for: .milliseconds(300))
                let (result, elapsed) = await measure {
                    task.cancel()
                    return await task.result
                }
                #expect(elapsed < .seconds(30))
                #expect(throws: CurlHTTPError.cancelled) { try result.get() }

                let after = try await client.execute(CurlRequest(url: server.baseURL + "/echo"))
                #expect(after.status == 200)
            }
        }
    }

    @Test func alreadyCancelledTaskNeverStarts() async throws {
        try await withServer { server in
            try await withClient { client in
                let task = Task {
                    withUnsafeCurrentTask { $0?.cancel() }
                    return try await client.execute(CurlRequest(url: server.baseURL + "/slow?ms=3000"))
                }
                await #expect(throws: CurlHTTPError.cancelled) { try await task.value }
                #expect(server.acceptedConnections == 0)
            }
        }
    }

    @Test func manyCancellationsRacingCompletionsLeaveClientUsable() async throws {
        try await withServer { server in
            try await withClient { client in
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<50 {
                        let task = Task { try await client.execute(CurlRequest(url: server.baseURL + "/echo")) }
                        group.addTask {
                            if index % 2 == 0 { await Task.yield() }
                            task.cancel()
                            // Either outcome is fine; it must simply not hang or crash.
                            _ = await task.result
                        }
                    }
                }
                let response = try await client.execute(CurlRequest(url: server.baseURL + "/echo"))
                #expect(response.status == 200)
            }
        }
    }
}
