import CurlHTTP
import Testing

@Suite("TLS")
struct TLSTests {
    @Test func mutualTLSWithPrivateCA() async throws {
        let fixture = try TLSFixture()
        defer { fixture.directory.remove() }
        let server = try OpenSSLServer(fixture: fixture)
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/"
        let trusted = CurlHTTPClient.TLSConfiguration(
            caFile: fixture.caFile,
            clientCertificateFile: fixture.clientCertificate,
            clientKeyFile: fixture.clientKey
        )

        try await withClient(.init(tls: trusted, timeout: .seconds(10))) { client in
            let response = try await client.execute(CurlRequest(url: url))
            #expect(response.status == 200)
            #expect(response.text.contains("s_server"))

            // localhost is in the SAN too.
            let byName = try await client.execute(CurlRequest(url: "https://localhost:\(server.port)/"))
            #expect(byName.status == 200)

            // HTTP/2 is offered through ALPN; s_server declines, so HTTP/1.x is used.
            let negotiated = try await client.execute(CurlRequest(url: url, httpVersion: .http2))
            #expect(negotiated.status == 200)
            #expect(negotiated.httpVersion == .http1_0)

            // No caFile: the system store does not know our CA.
            var untrusted = trusted
            untrusted.caFile = nil
            await #expect(throws: CurlHTTPError.tlsFailure) {
                try await client.execute(CurlRequest(url: url, tls: untrusted))
            }

            // No client certificate: the server's -Verify rejects the handshake.
            var anonymous = trusted
            anonymous.clientCertificateFile = nil
            anonymous.clientKeyFile = nil
            let error = await #expect(throws: CurlHTTPError.self) {
                try await client.execute(CurlRequest(url: url, tls: anonymous))
            }
            #expect(error == .tlsFailure)
        }
    }

    @Test func verificationCanBeDisabledExplicitly() async throws {
        let fixture = try TLSFixture()
        defer { fixture.directory.remove() }
        let server = try OpenSSLServer(fixture: fixture)
        defer { server.stop() }
        let insecure = CurlHTTPClient.TLSConfiguration(
            verifyPeer: false,
            verifyHost: false,
            clientCertificateFile: fixture.clientCertificate,
            clientKeyFile: fixture.clientKey
        )
        try await withClient(.init(tls: insecure, timeout: .seconds(10))) { client in
            let response = try await client.execute(CurlRequest(url: "https://127.0.0.1:\(server.port)/"))
            #expect(response.status == 200)
        }
    }
}
