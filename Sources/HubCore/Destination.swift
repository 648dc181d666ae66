/// Where a delivery of the outbox goes, as its row names it (`webhook:<institution>`, `peer:<hub>`, ...).
public enum Destination: Sendable, Hashable, CustomStringConvertible {
    /// An institution's webhook: reports, critical values, notices.
    case webhook(institutionId: String)
    /// An institution's escalation address (its webhook's when it has none): critical values not acknowledged in
    /// time.
    case escalation(institutionId: String)
    /// A peer hub: forwarded exams, their attachments and events, reports back, acknowledgements.
    case peer(hubId: String)
    /// A hospital system's HL7 application, over MLLP: orders to a center's RIS or LIS, reports to a clinic's HIS.
    case hl7(applicationId: String)
    /// The URL the delivery carries itself.
    case url

    /// The destination a row names; nil for a name no version of the hub writes.
    public init?(_ text: String) {
        if text == "url" {
            self = .url
            return
        }
        let scheme = text.prefix { $0 != ":" }
        guard scheme.count < text.count else { return nil }
        let name = String(text.dropFirst(scheme.count + 1))
        switch scheme {
        case "webhook": self = .webhook(institutionId: name)
        case "escalation": self = .escalation(institutionId: name)
        case "peer": self = .peer(hubId: name)
        case "hl7": self = .hl7(applicationId: name)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .webhook(let id): "webhook:\(id)"
        case .escalation(let id): "escalation:\(id)"
        case .peer(let id): "peer:\(id)"
        case .hl7(let id): "hl7:\(id)"
        case .url: "url"
        }
    }
}
