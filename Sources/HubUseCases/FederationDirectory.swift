import HubConfig
import HubCore
import HubFederation
import HubStorage

/// What this hub shows its peers about itself: the active centers it offers (with the audit chain's last signed
/// head, so every peer that refreshes the directory witnesses the chain's end), and a peer's own audit head as this
/// hub last witnessed it.
public struct FederationDirectory: Sendable {
    let database: any Storage
    let hubId: String
    let auditHeadPath: String

    public init(_ env: HubEnvironment) {
        database = env.database
        hubId = env.config.hubId
        auditHeadPath = env.config.auditHeadPath
    }

    /// The body of `GET /federation/v1/directory`.
    public struct Answer: Encodable, Sendable {
        var items: [RemoteCenter]
        var next: String? = nil
        var auditHead: SignedAuditHead?

        enum CodingKeys: String, CodingKey {
            case items, next
            case auditHead = "audit_head"
        }
    }

    /// The directory as `peer` sees it.
    public func directory(for peer: Peer) async throws -> Answer {
        let centers = try await database.read { db in
            try db.centers(status: .active, after: nil, limit: 500).items
        }
        let entries = centers.map {
            RemoteCenter(
                hubId: hubId, centerId: $0.id, name: $0.name, kind: $0.kind, institutionId: $0.institutionId,
                items: $0.items, turnaroundMinutes: $0.turnaroundMinutes)
        }
        return Answer(items: entries, auditHead: try? AuditHead.read(path: auditHeadPath))
    }

    /// `peer`'s own audit head, as this hub last witnessed it.
    public func witnessedHead(of peer: Peer) async throws -> AuditWitnesses.Answer {
        AuditWitnesses.Answer(
            auditHead: try await database.read { try $0.witnessedHead(hubId: peer.id) })
    }
}
