import Foundation
import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// Practitioners of an institution and their bearer tokens.
struct PractitionerController {
    let practitioners: Practitioners
    let tokens: Tokens
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        practitioners = Practitioners(env)
        tokens = Tokens(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/institutions/{id}/practitioners", create)
        routes.add(.get, "/v1/institutions/{id}/practitioners", list)
        routes.add(.get, "/v1/practitioners/{id}", show)
        routes.add(.patch, "/v1/practitioners/{id}", update)
        routes.add(.post, "/v1/practitioners/{id}/tokens", issueToken)
        routes.add(.get, "/v1/practitioners/{id}/tokens", listTokens)
        routes.add(.delete, "/v1/tokens/{id}", revokeToken)
        routes.add(.get, "/v1/me", me)
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try practitioners.authorizeChange(by: context.caller)
        let institutionId = try context.parameter("id")
        let (input, body) = try await JSONIO.decode(PractitionerInput.self, from: request, limit: maxBodyBytes)
        return try await practitioners.register(
            input, in: institutionId, by: context.caller, idempotency: Idempotency.of(request, context, body: body)
        ).response
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let institutionId = try context.parameter("id")
        let page = try await practitioners.list(
            in: institutionId, after: request.cursor, limit: try request.limit(), for: context.caller)
        return try JSONIO.response(ListResponse(page))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await practitioners.practitioner(try context.parameter("id"), for: context.caller))
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try practitioners.authorizeChange(by: context.caller)
        let id = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(PractitionerInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(try await practitioners.update(id, with: input, by: context.caller))
    }

    @Sendable func issueToken(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try tokens.authorizeIssue(by: context.caller)
        if request.headers[.init("Idempotency-Key")!] != nil {
            // Replaying would need the secret stored in clear; a retried issue must be a new, deliberate call.
            throw HubError.validation(
                "Idempotency-Key", "is not accepted here: a token secret is shown once and never replayed")
        }
        let id = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: maxBodyBytes)
        var input = Tokens.IssueRequest()
        if !body.isEmpty {
            try JSONIO.requireJSON(request)
            input = try JSONIO.decode(Tokens.IssueRequest.self, from: body)
        }
        return try JSONIO.response(try await tokens.issue(input, to: id, by: context.caller), status: .created)
    }

    @Sendable func listTokens(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let list = try await tokens.list(of: try context.parameter("id"), for: context.caller)
        return try JSONIO.response(ListResponse(Page(items: list, next: nil)))
    }

    @Sendable func revokeToken(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await tokens.revoke(try context.parameter("id"), by: context.caller))
    }

    struct Me: Encodable {
        var tokenId: String
        var practitionerId: String?
        var institutionId: String?
        var roles: [Role]
        var title: PractitionerTitle?
        var name: String?
        var expiresAt: Timestamp?

        enum CodingKeys: String, CodingKey {
            case roles, title, name
            case tokenId = "token_id"
            case practitionerId = "practitioner_id"
            case institutionId = "institution_id"
            case expiresAt = "expires_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tokenId, forKey: .tokenId)
            try c.encodeIfPresent(practitionerId, forKey: .practitionerId)
            try c.encodeIfPresent(institutionId, forKey: .institutionId)
            try c.encode(roles, forKey: .roles)
            try c.encodeIfPresent(title, forKey: .title)
            try c.encodeIfPresent(name, forKey: .name)
            // Always present, null for a token without expiry.
            try c.encode(expiresAt, forKey: .expiresAt)
        }
    }

    @Sendable func me(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let p = try context.authenticated()
        return try JSONIO.response(
            Me(
                tokenId: p.tokenId, practitionerId: p.practitionerId, institutionId: p.institutionId,
                roles: p.roles.sorted(), title: p.title, name: p.name, expiresAt: p.expiresAt))
    }
}
