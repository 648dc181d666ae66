import CurlHTTP
import Foundation
import Testing

@Suite("Request bodies")
struct UploadTests {
    @Test func fileBodyIsStreamedIntact() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes = pseudoRandomBytes(count: 4 * 1024 * 1024 + 17)
        let path = directory.path("upload.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var checksum = FNV1a()
        checksum.update(bytes)

        try await withServer { server in
            try await withClient { client in
                for method in ["PUT", "POST"] {
                    let response = try await client.execute(
                        CurlRequest(
                            method: method, url: server.baseURL + "/checksum", body: .file(path: path)
                        ))
                    #expect(response.status == 200)
                    #expect(response.text == "length=\(bytes.count) fnv=\(String(checksum.value, radix: 16))")
                }
            }
        }
    }

    @Test func largeInMemoryBodyArrivesIntact() async throws {
        let bytes = pseudoRandomBytes(count: 1_500_000, seed: 42)
        var checksum = FNV1a()
        checksum.update(bytes)
        try await withServer { server in
            try await withClient { client in
                let response = try await client.execute(
                    CurlRequest(
                        method: "POST", url: server.baseURL + "/checksum", body: .bytes(bytes)
                    ))
                #expect(response.text == "length=\(bytes.count) fnv=\(String(checksum.value, radix: 16))")
            }
        }
    }

    @Test func emptyFileUploadsZeroBytes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("empty.bin")
        try Data().write(to: URL(fileURLWithPath: path))
        try await withServer { server in
            try await withClient { client in
                let response = try await client.execute(
                    CurlRequest(method: "PUT", url: server.baseURL + "/checksum", body: .file(path: path)))
                #expect(response.text.hasPrefix("length=0 "))
            }
        }
    }
}
