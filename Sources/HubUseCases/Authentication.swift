import HubCore
import HubStorage

/// Resolves a bearer token's secret to the principal it stands for. Unknown, revoked, expired or suspended tokens
/// are refused (counted and written down by `Refusals`). A token's roles are those it was issued with that its
/// practitioner holds now. Resolved tokens are cached: changes made through this hub clear the cache at commit, and
/// changes made by another process within about a second (`Storage.noticeOtherWriters`).
public struct Authentication: Sendable {
    let database: any Storage
    let refusals: Refusals
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        refusals = Refusals(env)
        clock = env.clock
    }

    /// The principal of `secret`, as sent by `caller` in `Authorization: Bearer <secret>` to `target`; a refusal is
    /// thrown as a `401` and written down under the caller's address and `reason`.
    public func principal(secret: String, caller: Caller, target: String) async throws -> Principal {
        // Tokens this hub issues have a fixed shape; anything else cannot match and costs no database read.
        guard secret.hasPrefix("hub_"), (20...100).contains(secret.utf8.count) else {
            throw await refuse("malformed", "the token is not valid", caller: caller, target: target)
        }
        let digest = TokenStore.digest(secret)
        await database.noticeOtherWriters()
        let (cached, generation) = database.principals.lookup(digest)
        var resolved = cached
        if resolved == nil {
            resolved = try await database.shortRead { try $0.resolveToken(secret: secret) }
            if let resolved { database.principals.store(resolved, for: digest, generation: generation) }
        }
        guard let principal = resolved else {
            throw await refuse(
                "unknown", "the token is unknown, revoked, or belongs to a suspended account", caller: caller,
                target: target)
        }
        if let expiresAt = principal.expiresAt, principal.isExpired(at: clock()) {
            throw await refuse(
                "expired", "the token expired at \(expiresAt); ask an admin for a new one", caller: caller,
                target: target)
        }
        return principal
    }

    /// Counts and writes down a refused bearer token; answers the error to send.
    public func refuse(_ reason: String, _ detail: String, caller: Caller, target: String) async -> HubError {
        await refusals.record(
            .bearer, origin: caller.remoteAddress ?? "unknown", reason: reason, detail: detail, target: target,
            caller: caller)
        return HubError.unauthorized(detail)
    }
}
