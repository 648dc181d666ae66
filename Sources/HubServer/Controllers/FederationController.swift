import Foundation
import HTTPTypes
import HubCore
import HubFederation
import HubStore
import Hummingbird
import Logging

/// `/federation/v1`: what peer hubs call. Every request but `identity` is signed by the calling hub and checked here:
/// unsigned, badly signed, stale, replayed or unknown-peer requests get 401 and are audited.
struct FederationController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.get, "/federation/v1/identity", public: true, identity)
        routes.add(.get, "/federation/v1/directory", public: true, directory)
    }

    struct Identity: Encodable {
        var hubId: String
        var region: String
        var publicKey: String

        enum CodingKeys: String, CodingKey {
            case region
            case hubId = "hub_id"
            case publicKey = "public_key"
        }
    }

    @Sendable func identity(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(
            Identity(hubId: env.identity.hubId, region: env.identity.region, publicKey: env.identity.publicKey))
    }

    struct DirectoryEntry: Encodable {
        var hubId: String
        var centerId: String
        var name: String
        var kind: CenterKind
        var institutionId: String
        var items: [String]
        var turnaroundMinutes: TurnaroundTargets

        enum CodingKeys: String, CodingKey {
            case name, kind, items
            case hubId = "hub_id"
            case centerId = "center_id"
            case institutionId = "institution_id"
            case turnaroundMinutes = "turnaround_minutes"
        }
    }

    /// The active centers this hub offers to its peers.
    @Sendable func directory(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let peer = try await env.verifyPeer(request, body: Data(), context: context)
        let centers = try await env.database.read { db in
            try RegistryStore.centers(db, status: .active, after: nil, limit: 500).items
        }
        let entries = centers.map {
            DirectoryEntry(
                hubId: env.config.hubId, centerId: $0.id, name: $0.name, kind: $0.kind, institutionId: $0.institutionId,
                items: $0.items, turnaroundMinutes: $0.turnaroundMinutes)
        }
        context.logger.debug("directory served", metadata: ["hub.peer": "\(peer.id)"])
        return try JSONIO.response(ListResponse(Page(items: entries, next: nil)))
    }
}

extension HubEnvironment {
    /// Checks a hub-to-hub request's signature, time, hop count and novelty; returns the calling peer.
    func verifyPeer(_ request: Request, body: Data, context: HubRequestContext) async throws -> Peer {
        let now = clock()
        let header: (String) -> String? = { name in request.headers[HTTPField.Name(name)!] }
        let envelope = FederationEnvelope(
            header: header, method: request.method.rawValue, path: request.uri.path, body: body)
        let signature = header(FederationEnvelope.signatureHeader)
        let config = self.config
        let outcome: Result<Peer, HubError> = try await database.write { db in
            func refuse(
                _ reason: String, status: Int = 401, code: String = "unauthorized"
            ) throws -> Result<Peer, HubError> {
                try AuditLog.append(
                    db,
                    AuditEvent(
                        actor: "peer:\(envelope?.hubId ?? "unknown")", institutionId: nil, action: "federation.refused",
                        targetType: "federation", targetId: request.uri.path, remoteAddress: context.remoteAddress,
                        requestId: context.id, detail: reason), at: now)
                return .failure(HubError(code: code, status: status, title: "Peer request refused", detail: reason))
            }
            guard let envelope, let signature else { return try refuse("the request is not signed by a peer hub") }
            guard let peer = try PeerStore.peer(db, id: envelope.hubId), peer.status == .active else {
                return try refuse("'\(envelope.hubId)' is not a known, active peer of this hub")
            }
            guard abs(now.millisecondsSinceEpoch / 1000 - envelope.timestamp) <= Int64(config.federationMaxSkewSeconds)
            else {
                return try refuse(
                    "the signature time is more than \(config.federationMaxSkewSeconds) s from this hub's clock")
            }
            guard envelope.verify(signature: signature, publicKey: peer.publicKey) else {
                return try refuse("the signature does not verify with \(peer.id)'s public key")
            }
            guard envelope.hops <= config.federationMaxHops else {
                return try refuse(
                    "the request has passed \(envelope.hops) hubs; the limit is \(config.federationMaxHops)",
                    status: 422,
                    code: "hop_limit")
            }
            guard try PeerStore.firstSighting(db, hubId: envelope.origin, requestId: envelope.requestId, now: now)
            else {
                return try refuse(
                    "request \(envelope.requestId) from \(envelope.origin) was already received (replay or loop)")
            }
            try PeerStore.forgetSightings(
                db, before: now.adding(milliseconds: -Int64(config.federationMaxSkewSeconds) * 2000))
            return .success(peer)
        }
        return try outcome.get()
    }
}
