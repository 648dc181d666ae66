import CurlHTTP
import Testing

@Suite("Requests and responses")
struct RequestResponseTests {
    @Test func getEchoesMethodTargetAndHeaders() async throws {
        try await withServer { server in
            try await withClient { client in
                let request = CurlRequest(
                    url: server.baseURL + "/echo?q=1",
                    headers: [("X-Test", "hello"), ("X-Empty", ""), ("X-Dup", "a"), ("X-Dup", "b")]
                )
                let response = try await client.execute(request)
                #expect(response.status == 200)
                #expect(response.httpVersion == .http1_1)
                #expect(response.headers["x-method"] == "GET")
                #expect(response.headers["X-TARGET"] == "/echo?q=1")
                #expect(response.headers["x-echo-x-test"] == "hello")
                #expect(response.headers["X-Echo-X-Empty"] == "")
                #expect(response.headers.values("X-Echo-X-Dup") == ["a", "b"])
                #expect(response.body.isEmpty)
                #expect(response.totalTime > .zero)
            }
        }
    }

    @Test(arguments: ["POST", "PUT", "DELETE", "PATCH"])
    func bodyMethodsSendTheirBody(method: String) async throws {
        try await withServer { server in
            try await withClient { client in
                let payload = Array("payload for \(method)".utf8)
                let request = CurlRequest(
                    method: method,
                    url: server.baseURL + "/echo",
                    headers: [("Content-Type", "text/plain")],
                    body: .bytes(payload)
                )
                let response = try await client.execute(request)
                #expect(response.status == 200)
                #expect(response.headers["X-Method"] == method)
                #expect(response.headers["X-Body-Length"] == "\(payload.count)")
                #expect(response.headers["X-Echo-Content-Type"] == "text/plain")
                // libcurl must not add its own Expect or form content type.
                #expect(response.headers["X-Echo-Expect"] == nil)
                #expect(response.body == payload)
            }
        }
    }

    @Test func bodylessPostSendsZeroContentLength() async throws {
        try await withServer { server in
            try await withClient { client in
                let response = try await client.execute(CurlRequest(method: "POST", url: server.baseURL + "/echo"))
                #expect(response.headers["X-Echo-Content-Length"] == "0")
            }
        }
    }

    @Test func headAndCustomMethodsComplete() async throws {
        try await withServer { server in
            try await withClient(.init(timeout: .seconds(10))) { client in
                let head = try await client.execute(CurlRequest(method: "HEAD", url: server.baseURL + "/echo"))
                #expect(head.status == 200)
                #expect(head.headers["X-Method"] == "HEAD")
                let custom = try await client.execute(CurlRequest(method: "PROPFIND", url: server.baseURL + "/echo"))
                #expect(custom.headers["X-Method"] == "PROPFIND")
            }
        }
    }

    @Test(arguments: [400, 404, 500, 503])
    func errorStatusesAreResponses(status: Int) async throws {
        try await withServer { server in
            try await withClient { client in
                let response = try await client.execute(CurlRequest(url: server.baseURL + "/status/\(status)"))
                #expect(response.status == status)
                #expect(response.text == "status \(status)")
            }
        }
    }

    @Test func bodyBytesArriveIntact() async throws {
        try await withServer { server in
            try await withClient { client in
                let response = try await client.execute(CurlRequest(url: server.baseURL + "/bytes?n=300000&chunked=1"))
                #expect(response.body.count == 300_000)
                #expect(response.body == (0..<300_000).map { UInt8(truncatingIfNeeded: $0 % 251) })
            }
        }
    }

    @Test func invalidRequestsAreRejectedBeforeSending() async throws {
        try await withClient { client in
            await #expect(throws: CurlHTTPError.invalidURL) {
                try await client.execute(CurlRequest(url: "ftp://127.0.0.1:1/file"))
            }
            await #expect(throws: CurlHTTPError.invalidURL) {
                try await client.execute(CurlRequest(url: "http://[not a url"))
            }
            await #expect(throws: CurlHTTPError.invalidRequest) {
                try await client.execute(
                    CurlRequest(url: "http://127.0.0.1:1/", headers: [("X-Bad", "a\r\nInjected: 1")]))
            }
            await #expect(throws: CurlHTTPError.invalidRequest) {
                try await client.execute(CurlRequest(method: "BAD METHOD", url: "http://127.0.0.1:1/"))
            }
            await #expect(throws: CurlHTTPError.invalidRequest) {
                try await client.execute(
                    CurlRequest(method: "PUT", url: "http://127.0.0.1:1/", body: .file(path: "/nonexistent/body")))
            }
        }
    }
}
