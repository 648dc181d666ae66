import Foundation
import HubCore
import HubStore
import HubUseCases
import Hummingbird
import Logging

/// Resolves `Authorization: Bearer <token>` to a `Principal`. Unknown, revoked, expired or suspended tokens get 401;
/// what each route allows is checked by the route itself (403). A token's roles are those it was issued with that its
/// practitioner holds now. Resolved tokens are cached: changes made through this hub clear the cache at commit, and
/// changes made by another process on the same file within `AppDatabase.otherWritersStaleness` (1 s). Each refusal is
/// counted in `hub.auth.refused` by reason and logged at most once a minute per remote address and reason.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let env: HubEnvironment

    var database: AppDatabase { env.database }
    var clock: @Sendable () -> Timestamp { env.clock }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        func refuse(_ reason: String, _ detail: String) async -> HubError {
            await env.recordRefusal(
                .bearer, origin: context.remoteAddress ?? "unknown", reason: reason, detail: detail,
                target: request.uri.path, context: context)
            return HubError.unauthorized(detail)
        }
        guard let header = request.headers[.authorization] else {
            throw await refuse("missing", "send a token as 'Authorization: Bearer <token>'")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw await refuse("scheme", "the Authorization header must use the Bearer scheme")
        }
        let secret = String(parts[1].trimmingASCIIWhitespace())
        // Tokens this hub issues have a fixed shape; anything else cannot match and costs no database read.
        guard secret.hasPrefix("hub_"), (20...100).contains(secret.utf8.count) else {
            throw await refuse("malformed", "the token is not valid")
        }
        let digest = TokenStore.digest(secret)
        await database.noticeOtherWriters()
        let (cached, generation) = database.principals.lookup(digest)
        var resolved = cached
        if resolved == nil {
            resolved = try await database.shortRead { try TokenStore.resolve($0, secret: secret) }
            if let resolved { database.principals.store(resolved, for: digest, generation: generation) }
        }
        guard let principal = resolved else {
            throw await refuse("unknown", "the token is unknown, revoked, or belongs to a suspended account")
        }
        if let expiresAt = principal.expiresAt, principal.isExpired(at: clock()) {
            throw await refuse("expired", "the token expired at \(expiresAt); ask an admin for a new one")
        }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "hub.actor"] = .string(principal.actor)
        return try await next(request, context)
    }
}
