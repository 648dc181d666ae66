import Foundation
import HTTPTypes
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

extension Idempotency {
    /// The request's `Idempotency-Key`, if it has one, scoped to the caller and bound to the method, path and body.
    static func of(_ request: Request, _ context: HubRequestContext, body: Data) throws -> Idempotency? {
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        try validate(key)
        let principal = try context.authenticated()
        return Idempotency(
            key: key, scope: principal.practitionerId ?? principal.tokenId, method: request.method.rawValue,
            path: request.uri.path, bodyDigest: digest(of: body))
    }
}

extension Created {
    /// The answer as sent: a replay says so in `Idempotent-Replayed`.
    var response: Response {
        var headers = HTTPFields()
        if replayed { headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return JSONIO.response(data: body, status: .init(code: status), headers: headers)
    }
}
