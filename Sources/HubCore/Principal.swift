/// Who is calling: resolved from a bearer token for every request.
public struct Principal: Sendable, Equatable {
    public var tokenId: String
    public var practitionerId: String?
    public var institutionId: String?
    public var roles: Set<Role>
    public var title: PractitionerTitle?
    public var name: String?
    /// When the token stops working; nil for a token without expiry.
    public var expiresAt: Timestamp?

    public init(
        tokenId: String, practitionerId: String?, institutionId: String?, roles: Set<Role>,
        title: PractitionerTitle? = nil, name: String? = nil, expiresAt: Timestamp? = nil
    ) {
        self.tokenId = tokenId
        self.practitionerId = practitionerId
        self.institutionId = institutionId
        self.roles = roles
        self.title = title
        self.name = name
        self.expiresAt = expiresAt
    }

    /// True once the token's lifetime has passed at `now`.
    public func isExpired(at now: Timestamp) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }

    public var isAdmin: Bool { roles.contains(.admin) }

    /// The actor string recorded in the audit log.
    public var actor: String { practitionerId ?? "token:\(tokenId)" }

    /// Passes when the principal holds at least one of `roles`; otherwise a 403 naming what is needed.
    public func require(_ roles: Role...) throws(HubError) {
        try requireAny(of: roles)
    }

    /// Passes when the principal holds at least one of `roles`; otherwise a 403 naming what is needed.
    public func requireAny(of roles: [Role]) throws(HubError) {
        guard !self.roles.isDisjoint(with: roles) else {
            throw HubError.forbidden("this operation needs the role \(roles.map(\.rawValue).joined(separator: " or "))")
        }
    }

    /// Admins, or staff of `institutionId` holding one of `roles` (any role when empty).
    public func requireAdminOrMember(of institutionId: String, roles: [Role] = []) throws(HubError) {
        if isAdmin { return }
        guard self.institutionId == institutionId else {
            throw HubError.forbidden("only staff of institution '\(institutionId)' or an admin may do this")
        }
        if !roles.isEmpty, self.roles.isDisjoint(with: roles) {
            throw HubError.forbidden("this operation needs the role \(roles.map(\.rawValue).joined(separator: " or "))")
        }
    }
}
