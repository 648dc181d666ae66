import CurlHTTP
import Testing

@Suite("Concurrency and connection reuse")
struct ConcurrencyAndReuseTests {
    @Test func fiveHundredConcurrentRequestsSucceed() async throws {
        try await withServer { server in
            try await withClient(.init(timeout: .seconds(30), maxConnectionsPerHost: 8)) { client in
                let echoed = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<500 {
                        group.addTask {
                            let response = try await client.execute(
                                CurlRequest(
                                    method: "POST",
                                    url: server.baseURL + "/echo?n=\(index)",
                                    headers: [("X-Index", "\(index)")],
                                    body: .bytes(Array("body \(index)".utf8))
                                ))
                            return response.status == 200
                                && response.headers["X-Echo-X-Index"] == "\(index)"
                                && response.text == "body \(index)"
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(echoed == 500)
                #expect(server.acceptedConnections <= 8)
            }
        }
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        try await withServer { server in
            try await withClient { client in
                for index in 0..<25 {
                    let response = try await client.execute(CurlRequest(url: server.baseURL + "/echo?i=\(index)"))
                    #expect(response.status == 200)
                }
                #expect(server.acceptedConnections <= 2)
                #expect(server.acceptedConnections >= 1)
            }
        }
    }
}
