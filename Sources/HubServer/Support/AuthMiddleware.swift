import Foundation
import HubCore
import HubStorage
import HubUseCases
import Hummingbird
import Logging

/// Reads `Authorization: Bearer <token>` and resolves it to a `Principal` (see `Authentication`): a missing,
/// malformed, unknown, revoked, expired or suspended token gets 401; what each route allows is checked by its use
/// case (403). Each refusal is counted in `hub.auth.refused` by reason and logged at most once a minute per remote
/// address and reason.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let authentication: Authentication

    init(env: HubEnvironment) {
        authentication = Authentication(env)
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let target = request.uri.path
        guard let header = request.headers[.authorization] else {
            throw await authentication.refuse(
                "missing", "send a token as 'Authorization: Bearer <token>'", caller: context.caller, target: target)
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw await authentication.refuse(
                "scheme", "the Authorization header must use the Bearer scheme", caller: context.caller,
                target: target)
        }
        let secret = String(parts[1].trimmingASCIIWhitespace())
        let principal = try await authentication.principal(secret: secret, caller: context.caller, target: target)
        var context = context
        context.principal = principal
        context.logger[metadataKey: "hub.actor"] = .string(principal.actor)
        return try await next(request, context)
    }
}
