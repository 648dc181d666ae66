import Foundation
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Hummingbird

/// Practitioners of an institution and their bearer tokens.
struct PractitionerController {
    let env: HubEnvironment

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
        try context.authenticated().require(.admin)
        let institutionId = try context.parameter("id")
        let (input, body) = try await JSONIO.decode(
            PractitionerInput.self, from: request, limit: env.config.maxBodyBytes)
        return try await env.create(request, context, body: body) { db, now in
            guard try RegistryStore.institution(db, id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            let practitioner = try input.validatedNew(
                id: GeneratedID.make("prc", at: now), institutionId: institutionId, now: now)
            try RegistryStore.insert(db, practitioner)
            try AuditLog.append(db, context.audit("practitioner.create", "practitioner", practitioner.id), at: now)
            return practitioner
        }
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let institutionId = try context.parameter("id")
        try context.authenticated().requireAdminOrMember(of: institutionId)
        let limit = try request.limit()
        let cursor = request.cursor
        let page = try await env.database.read { db in
            guard try RegistryStore.institution(db, id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            return try RegistryStore.practitioners(db, institutionId: institutionId, after: cursor, limit: limit)
        }
        return try JSONIO.response(ListResponse(page))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let practitioner = try await visiblePractitioner(context)
        return try JSONIO.response(practitioner)
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let id = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(PractitionerInput.self, from: request, limit: env.config.maxBodyBytes)
        let now = env.clock()
        let updated = try await env.database.write { db in
            guard let current = try RegistryStore.practitioner(db, id: id) else {
                throw HubError.notFound("practitioner", id)
            }
            let next = try input.applied(to: current, now: now)
            try RegistryStore.update(db, next)
            env.database.invalidatePrincipals(after: db)
            try AuditLog.append(db, context.audit("practitioner.update", "practitioner", id), at: now)
            return next
        }
        return try JSONIO.response(updated)
    }

    struct TokenRequest: Decodable {
        var label: String?
        var roles: [Role]?
        var lifetimeDays: Int?

        enum CodingKeys: String, CodingKey {
            case label, roles
            case lifetimeDays = "lifetime_days"
        }
    }

    /// The one answer that carries a token secret; it is never shown again.
    struct IssuedToken: Encodable, Sendable {
        var token: String
        var record: TokenRecord

        func encode(to encoder: any Encoder) throws {
            try record.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(token, forKey: .token)
        }

        enum Keys: String, CodingKey { case token }
    }

    @Sendable func issueToken(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        if request.headers[.init("Idempotency-Key")!] != nil {
            // Replaying would need the secret stored in clear; a retried issue must be a new, deliberate call.
            throw HubError.validation(
                "Idempotency-Key", "is not accepted here: a token secret is shown once and never replayed")
        }
        let id = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        var decoded = TokenRequest()
        if !body.isEmpty {
            try JSONIO.requireJSON(request)
            decoded = try JSONIO.decode(TokenRequest.self, from: body)
        }
        let input = decoded
        var v = Validator()
        let label = v.text(input.label, "label", required: false, maxLength: 100)
        if let days = input.lifetimeDays, !(1...3650).contains(days) {
            v.fail("lifetime_days", "must be a whole number of days in 1...3650")
        }
        try v.check()
        let lifetimeDays = input.lifetimeDays ?? env.config.defaultTokenLifetimeDays
        let now = env.clock()
        let issued = try await env.database.write { db in
            guard let practitioner = try RegistryStore.practitioner(db, id: id) else {
                throw HubError.notFound("practitioner", id)
            }
            guard practitioner.status == .active else {
                throw HubError.conflict("practitioner '\(id)' is suspended")
            }
            let roles = input.roles ?? practitioner.roles
            if roles.isEmpty { throw HubError.validation("roles", "must name at least one role") }
            for (i, role) in roles.enumerated() where !practitioner.roles.contains(role) {
                throw HubError.validation("roles[\(i)]", "'\(role.rawValue)' is not one of the practitioner's roles")
            }
            let (record, secret) = try TokenStore.issue(
                db, practitionerId: id, institutionId: practitioner.institutionId, roles: roles, label: label,
                createdBy: context.principal?.actor, lifetimeDays: lifetimeDays, now: now)
            try AuditLog.append(
                db, context.audit("token.issue", "token", record.id, detail: "practitioner=\(id)"), at: now)
            return IssuedToken(token: secret, record: record)
        }
        return try JSONIO.response(issued, status: .created)
    }

    @Sendable func listTokens(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let caller = try context.authenticated()
        guard caller.isAdmin || caller.practitionerId == id else {
            throw HubError.forbidden("only an admin or the practitioner may list these tokens")
        }
        let tokens = try await env.database.read { db in
            guard try RegistryStore.practitioner(db, id: id) != nil else { throw HubError.notFound("practitioner", id) }
            return try TokenStore.tokens(db, practitionerId: id)
        }
        return try JSONIO.response(ListResponse(Page(items: tokens, next: nil)))
    }

    @Sendable func revokeToken(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let caller = try context.authenticated()
        let now = env.clock()
        let record = try await env.database.write { db in
            guard let token = try TokenStore.token(db, id: id) else { throw HubError.notFound("token", id) }
            guard caller.isAdmin || (caller.practitionerId != nil && caller.practitionerId == token.practitionerId)
            else {
                throw HubError.forbidden("only an admin or the token's practitioner may revoke it")
            }
            try TokenStore.revoke(db, id: id, now: now)
            env.database.invalidatePrincipals(after: db)
            try AuditLog.append(db, context.audit("token.revoke", "token", id), at: now)
            return try TokenStore.token(db, id: id)!
        }
        return try JSONIO.response(record)
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

    private func visiblePractitioner(_ context: HubRequestContext) async throws -> Practitioner {
        let id = try context.parameter("id")
        let caller = try context.authenticated()
        guard let practitioner = try await env.database.read({ try RegistryStore.practitioner($0, id: id) }) else {
            throw HubError.notFound("practitioner", id)
        }
        try caller.requireAdminOrMember(of: practitioner.institutionId)
        return practitioner
    }
}
