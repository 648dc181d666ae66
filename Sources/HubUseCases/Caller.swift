import HubCore
import HubStorage

/// Who asks a use case for something, and from where: the authenticated principal (none on the routes peers and
/// probes call), the network address and the request id. Every audit record a use case writes is filled from it.
public struct Caller: Sendable {
    public var principal: Principal?
    public var remoteAddress: String?
    public var requestId: String?
    /// Who the audit names when there is no principal.
    var unauthenticatedActor = "anonymous"

    public init(principal: Principal?, remoteAddress: String?, requestId: String?) {
        self.principal = principal
        self.remoteAddress = remoteAddress
        self.requestId = requestId
    }

    /// The hub itself, for work it does on its own (start-up tasks).
    static var system: Caller {
        var caller = Caller(principal: nil, remoteAddress: nil, requestId: nil)
        caller.unauthenticatedActor = "system"
        return caller
    }

    /// The authenticated principal; every route behind authentication has one.
    public func authenticated() throws(HubError) -> Principal {
        guard let principal else { throw HubError.unauthorized("a bearer token is required") }
        return principal
    }

    /// The caller as a signer; only practitioners sign clinical work.
    public func signer() throws(HubError) -> Signer {
        let principal = try authenticated()
        guard let id = principal.practitionerId else {
            throw HubError.forbidden("clinical work is done by a practitioner's token, not a service token")
        }
        return Signer(
            practitionerId: id, name: principal.name, title: principal.title, institutionId: principal.institutionId)
    }

    /// An audit event of this caller: its actor, institution, address and request id.
    public func audit(
        _ action: String, _ targetType: String, _ targetId: String, patientKey: String? = nil, detail: String? = nil
    ) -> AuditEvent {
        AuditEvent(
            actor: principal?.actor ?? unauthenticatedActor, institutionId: principal?.institutionId, action: action,
            targetType: targetType, targetId: targetId, patientKey: patientKey, remoteAddress: remoteAddress,
            requestId: requestId, detail: detail)
    }
}
