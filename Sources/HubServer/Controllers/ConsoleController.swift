import Foundation
import HTTPTypes
import HubCore
import Hummingbird
import NIOCore

/// The web console at `/console/`: static HTML, CSS and JavaScript shipped in this module's resources. The pages hold
/// no data of their own; they call the public `/v1` API with the bearer token the user pastes in, so these routes
/// need no token themselves.
struct ConsoleController {
    let files: ConsoleFiles

    func register(_ routes: Routes) {
        // The router ignores a trailing slash: `/console` and `/console/` are the same route.
        routes.add(.get, "/console", public: true) { _, _ in try files.response(for: "index.html") }
        routes.add(.get, "/console/{file}", public: true) { _, context in
            try files.response(for: try context.parameter("file"))
        }
    }
}

/// The console's files, read once from the module bundle.
struct ConsoleFiles: Sendable {
    struct File: Sendable {
        var contentType: String
        var bytes: Data
    }

    let files: [String: File]

    /// Scripts may come from this origin only and never inline; pages talk to this origin only; nothing may frame
    /// them. Styles are files too, so no `unsafe-inline` anywhere.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "svg": "image/svg+xml",
    ]

    init(directory: URL?) {
        var files: [String: File] = [:]
        let names = directory.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0.path) } ?? []
        for name in names {
            guard let type = Self.contentTypes[(name as NSString).pathExtension],
                let bytes = try? Data(contentsOf: directory!.appendingPathComponent(name))
            else { continue }
            files[name] = File(contentType: type, bytes: bytes)
        }
        self.files = files
    }

    /// The files shipped with the hub.
    static let bundled = ConsoleFiles(directory: Bundle.module.url(forResource: "Console", withExtension: nil))

    func response(for name: String) throws -> Response {
        guard let file = files[name] else { throw HubError.notFound("console file", name) }
        var headers: HTTPFields = [
            .contentType: file.contentType, .contentSecurityPolicy: Self.contentSecurityPolicy,
            .xContentTypeOptions: "nosniff", .cacheControl: "no-cache",
        ]
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}
