import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/exams/{id}/attachments`: files streamed to the content-addressed blob store, checked by kind.
struct AttachmentController {
    let attachments: Attachments

    init(env: HubEnvironment) {
        attachments = Attachments(env)
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/exams/{id}/attachments", upload)
        routes.add(.get, "/v1/exams/{id}/attachments", list)
        routes.add(.get, "/v1/exams/{id}/attachments/{sha256}", download)
    }

    @Sendable func upload(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let mediaType =
            request.headers[.contentType]?.split(separator: ";").first
            .map { $0.trimmingASCIIWhitespace().lowercased() } ?? ""
        let (stored, created) = try await attachments.upload(
            id, mediaType: mediaType, declaredLength: request.headers[.contentLength].flatMap(Int.init),
            body: request.body.map(\.readableBytesView), by: context.caller)
        return try JSONIO.response(stored, status: created ? .created : .ok)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let items = try await attachments.list(id, for: context.caller)
        return try JSONIO.response(ListResponse(Page(items: items, next: nil)))
    }

    /// Streams the stored bytes back, exactly as uploaded.
    @Sendable func download(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let sha256 = try context.parameter("sha256")
        let (attachment, content) = try await attachments.download(id, sha256: sha256, for: context.caller)
        let reader = try content.open()
        let body = ResponseBody { writer in
            try await reader.write(to: &writer)
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: attachment.mediaType, .contentLength: String(attachment.size), .eTag: "\"\(sha256)\"",
            ],
            body: body)
    }
}
