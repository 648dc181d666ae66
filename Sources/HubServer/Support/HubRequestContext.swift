import Foundation
import HubCore
import HubUseCases
import Hummingbird
import NIOCore

/// Per-request state: Hummingbird's core storage plus who is calling and from where.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthMiddleware` on every authenticated route.
    public var principal: Principal?
    /// The peer address, recorded in the audit log.
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Who is calling, as the use cases see it.
    public var caller: Caller { Caller(principal: principal, remoteAddress: remoteAddress, requestId: id) }

    /// The authenticated principal; routes behind `AuthMiddleware` always have one.
    public func authenticated() throws(HubError) -> Principal {
        try caller.authenticated()
    }
}
