import Foundation
import HubCore
import HubStore
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

    /// The authenticated caller; routes behind `AuthMiddleware` always have one.
    public func caller() throws(HubError) -> Principal {
        guard let principal else { throw HubError.unauthorized("a bearer token is required") }
        return principal
    }

    /// An audit event for this request, filled with the caller, institution, address and request id.
    public func audit(
        _ action: String, _ targetType: String, _ targetId: String, patientKey: String? = nil, detail: String? = nil
    ) -> AuditEvent {
        AuditEvent(
            actor: principal?.actor ?? "anonymous", institutionId: principal?.institutionId, action: action,
            targetType: targetType, targetId: targetId, patientKey: patientKey, remoteAddress: remoteAddress,
            requestId: id, detail: detail)
    }
}
