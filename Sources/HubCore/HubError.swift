/// The one error family that reaches clients.
///
/// Every failure a caller can act on is a `HubError` with a stable machine `code`. The server maps it to
/// `application/problem+json`; HubCore only decides *what* went wrong, never how it is rendered.
public struct HubError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A problem with one input field, so a client can point at the exact field.
    public struct FieldProblem: Sendable, Equatable, Codable {
        public var field: String
        public var detail: String
        public init(field: String, detail: String) {
            self.field = field
            self.detail = detail
        }
    }

    /// Stable machine code, e.g. `validation_failed`. Clients switch on this, never on `title`.
    public var code: String
    /// HTTP status the code maps to.
    public var status: Int
    /// Short human summary that does not change between occurrences.
    public var title: String
    /// Human explanation of this occurrence.
    public var detail: String
    /// Every offending field; the first one is the primary `field` of the problem document.
    public var fields: [FieldProblem]
    /// For a `503`: when to try again, sent as `Retry-After`.
    public var retryAfterSeconds: Int?

    public init(code: String, status: Int, title: String, detail: String, fields: [FieldProblem] = []) {
        self.code = code
        self.status = status
        self.title = title
        self.detail = detail
        self.fields = fields
    }

    /// The first offending field, if the problem is about input.
    public var field: String? { fields.first?.field }

    public var description: String { "\(code) (\(status)): \(detail)" }

    // MARK: The catalog of codes. Add new ones here; never rename one that shipped.

    public static func validation(_ field: String, _ detail: String) -> HubError {
        HubError(
            code: "validation_failed", status: 422, title: "The request is not valid",
            detail: "\(field): \(detail)", fields: [FieldProblem(field: field, detail: detail)])
    }

    public static func validation(_ problems: [FieldProblem]) -> HubError {
        let detail = problems.map { "\($0.field): \($0.detail)" }.joined(separator: "; ")
        return HubError(
            code: "validation_failed", status: 422, title: "The request is not valid", detail: detail, fields: problems)
    }

    public static func malformed(_ detail: String, field: String? = nil) -> HubError {
        HubError(
            code: "malformed_request", status: 400, title: "The request body cannot be read", detail: detail,
            fields: field.map { [FieldProblem(field: $0, detail: detail)] } ?? [])
    }

    public static func notFound(_ what: String, _ id: String) -> HubError {
        HubError(code: "not_found", status: 404, title: "Not found", detail: "\(what) '\(id)' does not exist")
    }

    public static func unauthorized(_ detail: String) -> HubError {
        HubError(code: "unauthorized", status: 401, title: "Authentication required", detail: detail)
    }

    public static func forbidden(_ detail: String) -> HubError {
        HubError(code: "forbidden", status: 403, title: "Not allowed", detail: detail)
    }

    public static func conflict(_ detail: String, field: String? = nil) -> HubError {
        HubError(
            code: "conflict", status: 409, title: "Conflicts with the current state", detail: detail,
            fields: field.map { [FieldProblem(field: $0, detail: detail)] } ?? [])
    }

    public static func invalidTransition(_ detail: String) -> HubError {
        HubError(code: "invalid_transition", status: 409, title: "Transition not allowed", detail: detail)
    }

    public static func idempotencyKeyReused(_ detail: String) -> HubError {
        HubError(
            code: "idempotency_key_reused", status: 422, title: "Idempotency-Key was used for another request",
            detail: detail, fields: [FieldProblem(field: "Idempotency-Key", detail: detail)])
    }

    public static func payloadTooLarge(limit: Int) -> HubError {
        HubError(
            code: "payload_too_large", status: 413, title: "Request body too large",
            detail: "the body exceeds the limit of \(limit) bytes")
    }

    public static func unsupportedMediaType(_ detail: String) -> HubError {
        HubError(code: "unsupported_media_type", status: 415, title: "Unsupported media type", detail: detail)
    }

    public static func unavailable(_ detail: String) -> HubError {
        HubError(code: "unavailable", status: 503, title: "Service unavailable", detail: detail)
    }

    /// A failure the hub cannot explain to the client; the details go to the log, under the request id.
    public static func internalError(_ detail: String) -> HubError {
        HubError(code: "internal_error", status: 500, title: "Internal error", detail: detail)
    }
}
