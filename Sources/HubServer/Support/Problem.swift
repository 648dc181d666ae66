import Foundation
import HTTPTypes
import HubCore
import HubStorage
import Hummingbird
import Logging
import NIOCore

/// `application/problem+json` (RFC 9457) for every error that reaches a client.
struct ProblemDocument: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var code: String
    var field: String?
    var errors: [HubError.FieldProblem]?
    var requestId: String?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, code, field, errors
        case requestId = "request_id"
    }

    init(_ error: HubError, requestId: String?) {
        self.init(
            code: error.code, status: error.status, title: error.title, detail: error.detail, fields: error.fields,
            requestId: requestId)
    }

    init(
        code: String, status: Int, title: String, detail: String, fields: [HubError.FieldProblem] = [],
        requestId: String?
    ) {
        self.type = "https://alliancehub.invalid/problems/" + code.replacingOccurrences(of: "_", with: "-")
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
        self.field = fields.first?.field
        self.errors = fields.isEmpty ? nil : fields
        self.requestId = requestId
    }

    func response(headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/problem+json"
        let body = (try? HubJSON.encode(self)) ?? Data(#"{"code":"internal_error","status":500}"#.utf8)
        return Response(
            status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every thrown error into a problem document; unknown errors become a logged 500 that reveals nothing.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HubError {
            var headers = HTTPFields()
            if error.status == 401 { headers[.wwwAuthenticate] = #"Bearer realm="alliancehub""# }
            if let seconds = error.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
            return ProblemDocument(error, requestId: context.id).response(headers: headers)
        } catch let error as any HTTPResponseError {
            return Self.translate(error.status, request: request, requestId: context.id).response()
        } catch {
            context.logger.error("unhandled error", metadata: ["error.message": "\(error)"])
            let hubError = HubError.internalError(
                "the hub could not complete the request; it has been logged with this request id")
            return ProblemDocument(hubError, requestId: context.id).response()
        }
    }

    /// A refusal of the HTTP framework (no route, a method not allowed, a body too large) as a problem document.
    static func translate(_ status: HTTPResponse.Status, request: Request, requestId: String?) -> ProblemDocument {
        switch status.code {
        case 404:
            return ProblemDocument(
                code: "not_found", status: 404, title: "Not found",
                detail: "no route for \(request.method) \(request.uri.path)", requestId: requestId)
        case 405:
            return ProblemDocument(
                code: "method_not_allowed", status: 405, title: "Method not allowed",
                detail: "\(request.method) is not allowed on \(request.uri.path)", requestId: requestId)
        case 413: return ProblemDocument(HubError.payloadTooLarge(limit: 0), requestId: requestId)
        default:
            return ProblemDocument(
                code: "http_\(status.code)", status: status.code, title: status.reasonPhrase,
                detail: status.reasonPhrase, requestId: requestId)
        }
    }
}
