import HubConfig
import HubCore
import HubStorage

/// Practitioners' bearer tokens: issuing one (its secret shown once), listing and revoking them.
public struct Tokens: Sendable {
    let database: any Storage
    let defaultLifetimeDays: Int?
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        defaultLifetimeDays = env.config.defaultTokenLifetimeDays
        clock = env.clock
    }

    /// What an admin asks for: a label, a subset of the practitioner's roles, a lifetime.
    public struct IssueRequest: Decodable, Sendable {
        public var label: String?
        public var roles: [Role]?
        public var lifetimeDays: Int?

        public init(label: String? = nil, roles: [Role]? = nil, lifetimeDays: Int? = nil) {
            self.label = label
            self.roles = roles
            self.lifetimeDays = lifetimeDays
        }

        enum CodingKeys: String, CodingKey {
            case label, roles
            case lifetimeDays = "lifetime_days"
        }
    }

    /// The one answer that carries a token secret; it is never shown again.
    public struct Issued: Encodable, Sendable {
        public var token: String
        public var record: TokenRecord

        public func encode(to encoder: any Encoder) throws {
            try record.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(token, forKey: .token)
        }

        enum Keys: String, CodingKey { case token }
    }

    /// Only an admin issues tokens; checked before the request's body is read, and again by the issue.
    public func authorizeIssue(by caller: Caller) throws(HubError) {
        try caller.authenticated().require(.admin)
    }

    /// Issues a token to an active practitioner with some or all of their roles, for `lifetime_days` (default
    /// `auth.default_token_lifetime_days`).
    public func issue(_ input: IssueRequest, to practitionerId: String, by caller: Caller) async throws -> Issued {
        try authorizeIssue(by: caller)
        var v = Validator()
        let label = v.text(input.label, "label", required: false, maxLength: 100)
        if let days = input.lifetimeDays, !(1...3650).contains(days) {
            v.fail("lifetime_days", "must be a whole number of days in 1...3650")
        }
        try v.check()
        let lifetimeDays = input.lifetimeDays ?? defaultLifetimeDays
        let now = clock()
        let id = practitionerId
        return try await database.write { db in
            guard let practitioner = try db.practitioner(id: id) else {
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
            let (record, secret) = try db.issueToken(
                practitionerId: id, institutionId: practitioner.institutionId, roles: roles, label: label,
                createdBy: caller.principal?.actor, lifetimeDays: lifetimeDays, now: now)
            try db.appendAudit(
                caller.audit("token.issue", "token", record.id, detail: "practitioner=\(id)"), at: now)
            return Issued(token: secret, record: record)
        }
    }

    /// A practitioner's tokens, for an admin or the practitioner.
    public func list(of practitionerId: String, for caller: Caller) async throws -> [TokenRecord] {
        let principal = try caller.authenticated()
        guard principal.isAdmin || principal.practitionerId == practitionerId else {
            throw HubError.forbidden("only an admin or the practitioner may list these tokens")
        }
        return try await database.read { db in
            guard try db.practitioner(id: practitionerId) != nil else {
                throw HubError.notFound("practitioner", practitionerId)
            }
            return try db.tokens(practitionerId: practitionerId)
        }
    }

    /// Revokes a token at once, for an admin or the token's practitioner.
    public func revoke(_ id: String, by caller: Caller) async throws -> TokenRecord {
        let principal = try caller.authenticated()
        let now = clock()
        return try await database.write { db in
            guard let token = try db.token(id: id) else { throw HubError.notFound("token", id) }
            guard
                principal.isAdmin
                    || (principal.practitionerId != nil && principal.practitionerId == token.practitionerId)
            else {
                throw HubError.forbidden("only an admin or the token's practitioner may revoke it")
            }
            try db.revokeToken(id: id, now: now)
            db.invalidateCachedPrincipals()
            try db.appendAudit(caller.audit("token.revoke", "token", id), at: now)
            guard let revoked = try db.token(id: id) else { throw HubError.notFound("token", id) }
            return revoked
        }
    }
}
