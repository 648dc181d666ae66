import Foundation
import TestSupport

struct OpenSSLError: Error, CustomStringConvertible {
    let description: String
}

/// A throwaway PKI made with the `openssl` CLI: a CA, a server certificate for
/// 127.0.0.1/localhost and a client certificate, all signed by the CA.
struct TLSFixture {
    let directory: TemporaryDirectory
    var caFile: String { self.directory.path("ca.pem") }
    var serverCertificate: String { self.directory.path("server.pem") }
    var serverKey: String { self.directory.path("server.key") }
    var clientCertificate: String { self.directory.path("client.pem") }
    var clientKey: String { self.directory.path("client.key") }

    /// Fails (never skips) when openssl is missing, so a CI image without it
    /// cannot silently pass the TLS tests.
    static func openSSLPath() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/openssl"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw OpenSSLError(
            description:
                "the TLS tests need the openssl CLI, which is not on PATH (\(path)); install it (apt-get install openssl)"
        )
    }

    init() throws {
        self.directory = try TemporaryDirectory()
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.run(
            ["req", "-x509"] + ec + [
                "-keyout", self.directory.path("ca.key"), "-out", self.caFile, "-days", "2",
                "-subj", "/CN=CurlHTTP Test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try self.issue(
            name: "server", subject: "/CN=127.0.0.1",
            extensions: [
                "subjectAltName=IP:127.0.0.1,DNS:localhost", "extendedKeyUsage=serverAuth",
            ])
        try self.issue(
            name: "client", subject: "/CN=curlhttp-test-client",
            extensions: [
                "extendedKeyUsage=clientAuth"
            ])
    }

    private func issue(name: String, subject: String, extensions: [String]) throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let request = self.directory.path("\(name).csr")
        let extensionFile = self.directory.path("\(name).ext")
        try (["basicConstraints=CA:FALSE"] + extensions).joined(separator: "\n")
            .write(toFile: extensionFile, atomically: true, encoding: .utf8)
        try Self.run(
            ["req"] + ec + [
                "-keyout", self.directory.path("\(name).key"), "-out", request, "-subj", subject,
            ])
        try Self.run([
            "x509", "-req", "-in", request, "-CA", self.caFile, "-CAkey", self.directory.path("ca.key"),
            "-CAcreateserial", "-out", self.directory.path("\(name).pem"), "-days", "2",
            "-extfile", extensionFile,
        ])
    }

    private static func run(_ arguments: [String]) throws {
        let (status, output) = try ChildProcess.run(try self.openSSLPath(), arguments)
        let text = String(decoding: output, as: UTF8.self)
        guard status == 0 else {
            throw OpenSSLError(description: "openssl \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }
}

/// `openssl s_server -www` requiring a client certificate, on a kernel-chosen port.
final class OpenSSLServer {
    let port: Int
    private let process: ChildProcess

    init(fixture: TLSFixture) throws {
        // Standard input is a pipe kept open and silent: s_server treats its end of file as a command to stop.
        self.process = try ChildProcess(
            try TLSFixture.openSSLPath(),
            [
                "s_server", "-accept", "127.0.0.1:0", "-www",
                "-cert", fixture.serverCertificate, "-key", fixture.serverKey,
                "-CAfile", fixture.caFile, "-Verify", "1",
            ], stdout: .pipe, stderr: .null, stdinPipe: true)
        var seen = ""
        while true {
            guard let data = process.readSome() else {
                throw OpenSSLError(description: "openssl s_server exited early; output: \(seen)")
            }
            seen += String(decoding: data, as: UTF8.self)
            // Prints "ACCEPT 127.0.0.1:<port>" once listening.
            if let line = seen.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT") }),
                let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) })
            {
                self.port = port
                break
            }
        }
    }

    func stop() {
        process.signal(SIGKILL)
        process.wait()
    }
}
