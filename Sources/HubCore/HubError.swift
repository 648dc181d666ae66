/// The one error family that reaches clients.
///
/// Every failure a caller can act on is a `HubError` with a stable machine `code` and a `kind`. Each door maps the
/// kind to its protocol (the HTTP server to a status and `application/problem+json`); HubCore only decides *what*
/// went wrong, never how it is rendered.
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

    /// What sort of failure it is, whatever door the request came through.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The input breaks a rule (a field, a value, a combination).
        case invalid
        /// The input cannot be read at all.
        case malformed
        case notFound
        /// No valid credentials.
        case unauthenticated
        /// The caller may not do this.
        case forbidden
        /// The current state does not allow it (a transition, a duplicate, a version).
        case conflict
        /// More than the hub takes at once.
        case tooLarge
        /// A format the hub does not take.
        case unsupportedFormat
        /// No form of the answer the caller accepts exists.
        case notAcceptable
        /// Asked before what it depends on has arrived; asking again later will work.
        case notYet
        /// The hub cannot serve it now; asking again later may work.
        case unavailable
        /// Another hub this one needed did not answer, or answered wrongly.
        case peerFailed
        /// A failure the hub cannot explain to the caller.
        case `internal`
    }

    /// Stable machine code, e.g. `validation_failed`. Clients switch on this, never on `title`.
    public var code: String
    public var kind: Kind
    /// Short human summary that does not change between occurrences.
    public var title: String
    /// Human explanation of this occurrence.
    public var detail: String
    /// Every offending field; the first one is the primary `field` of the problem document.
    public var fields: [FieldProblem]
    /// For an `unavailable` failure: when to try again.
    public var retryAfterSeconds: Int?

    public init(code: String, kind: Kind, title: String, detail: String, fields: [FieldProblem] = []) {
        self.code = code
        self.kind = kind
        self.title = title
        self.detail = detail
        self.fields = fields
    }

    /// The first offending field, if the problem is about input.
    public var field: String? { fields.first?.field }

    public var description: String { "\(code) (\(kind.rawValue)): \(detail)" }

    // MARK: The catalog of codes. Add new ones here; never rename one that shipped.

    public static func validation(_ field: String, _ detail: String) -> HubError {
        HubError(
            code: "validation_failed", kind: .invalid, title: "The request is not valid",
            detail: "\(field): \(detail)", fields: [FieldProblem(field: field, detail: detail)])
    }

    public static func validation(_ problems: [FieldProblem]) -> HubError {
        let detail = problems.map { "\($0.field): \($0.detail)" }.joined(separator: "; ")
        return HubError(
            code: "validation_failed", kind: .invalid, title: "The request is not valid", detail: detail,
            fields: problems)
    }

    public static func malformed(_ detail: String, field: String? = nil) -> HubError {
        HubError(
            code: "malformed_request", kind: .malformed, title: "The request body cannot be read", detail: detail,
            fields: field.map { [FieldProblem(field: $0, detail: detail)] } ?? [])
    }

    public static func notFound(_ what: String, _ id: String) -> HubError {
        HubError(code: "not_found", kind: .notFound, title: "Not found", detail: "\(what) '\(id)' does not exist")
    }

    public static func unauthorized(_ detail: String) -> HubError {
        HubError(code: "unauthorized", kind: .unauthenticated, title: "Authentication required", detail: detail)
    }

    public static func forbidden(_ detail: String) -> HubError {
        HubError(code: "forbidden", kind: .forbidden, title: "Not allowed", detail: detail)
    }

    public static func conflict(_ detail: String, field: String? = nil) -> HubError {
        HubError(
            code: "conflict", kind: .conflict, title: "Conflicts with the current state", detail: detail,
            fields: field.map { [FieldProblem(field: $0, detail: detail)] } ?? [])
    }

    public static func invalidTransition(_ detail: String) -> HubError {
        HubError(code: "invalid_transition", kind: .conflict, title: "Transition not allowed", detail: detail)
    }

    public static func idempotencyKeyReused(_ detail: String) -> HubError {
        HubError(
            code: "idempotency_key_reused", kind: .invalid, title: "Idempotency-Key was used for another request",
            detail: detail, fields: [FieldProblem(field: "Idempotency-Key", detail: detail)])
    }

    public static func payloadTooLarge(limit: Int) -> HubError {
        HubError(
            code: "payload_too_large", kind: .tooLarge, title: "Request body too large",
            detail: "the body exceeds the limit of \(limit) bytes")
    }

    public static func unsupportedMediaType(_ detail: String) -> HubError {
        HubError(
            code: "unsupported_media_type", kind: .unsupportedFormat, title: "Unsupported media type", detail: detail)
    }

    public static func unavailable(_ detail: String) -> HubError {
        HubError(code: "unavailable", kind: .unavailable, title: "Service unavailable", detail: detail)
    }

    /// A failure the hub cannot explain to the client; the details go to the log, under the request id.
    public static func internalError(_ detail: String) -> HubError {
        HubError(code: "internal_error", kind: .internal, title: "Internal error", detail: detail)
    }
}
