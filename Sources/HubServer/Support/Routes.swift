import Foundation
import HTTPTypes
import HubCore
import Hummingbird
import Synchronization

/// One registered route, as the OpenAPI document must list it.
public struct RouteEntry: Sendable, Hashable {
    public var method: String
    public var path: String
}

/// Registers every route through one door and remembers it, so `openapi.yaml` can be checked against the routes
/// that really exist. Routes are either public or behind bearer-token authentication.
final class Routes {
    typealias Handler = @Sendable (Request, HubRequestContext) async throws -> Response

    private let open: Router<HubRequestContext>
    private let authenticated: RouterGroup<HubRequestContext>
    private let entries = Mutex<[RouteEntry]>([])

    init(router: Router<HubRequestContext>, auth: AuthMiddleware) {
        self.open = router
        self.authenticated = router.group().add(middleware: auth)
    }

    /// Every route registered so far.
    var all: [RouteEntry] { entries.withLock { $0 } }

    func add(_ method: HTTPRequest.Method, _ path: String, public isPublic: Bool = false, _ handler: @escaping Handler)
    {
        entries.withLock { $0.append(RouteEntry(method: method.rawValue, path: path)) }
        if isPublic {
            open.on(RouterPath(path), method: method, use: handler)
        } else {
            authenticated.on(RouterPath(path), method: method, use: handler)
        }
    }
}

extension HubRequestContext {
    /// A path parameter that the route declares.
    func parameter(_ name: String) throws -> String {
        guard let raw = parameters.get(name) else { throw HubError.malformed("missing path parameter \(name)") }
        // The router hands over the path segment as sent; codes such as `NEUT#` arrive percent-encoded.
        guard let value = raw.removingPercentEncoding else {
            throw HubError.validation(name, "is not valid percent-encoding")
        }
        return value
    }
}
