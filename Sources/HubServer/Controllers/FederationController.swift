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
        routes.add(.post, "/federation/v1/recognition/query", public: true, recognitionQuery)
        routes.add(.get, "/federation/v1/results/{id}", public: true, result)
    }

    /// A peer's recognition query: the results this hub holds for the patient and item, plus what this hub's own
    /// peers answer when the hop limit allows relaying (peers already asked upstream are not asked again).
    @Sendable func recognitionQuery(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: body, context: context)
        try JSONIO.requireJSON(request)
        let query = try JSONIO.decode(RecognitionQuery.self, from: body)
        if let (field, detail) = query.problem() { throw HubError.validation(field, detail) }
        let now = env.clock()
        let relay = envelope.hops + 1 <= env.config.federationMaxHops
        let (held, targets) = try await env.database.write { db in
            let held = try env.heldResults(db, query: query, now: now)
            let targets =
                relay
                ? try env.recognitionTargets(
                    db, scope: query.requesterRegion == nil ? nil : query.scope,
                    requesterRegion: query.requesterRegion ?? "",
                    excluding: Set(query.asked + [peer.id, envelope.origin, env.config.hubId]))
                : (ask: [], skipped: [])
            try AuditLog.append(
                db,
                AuditEvent(
                    actor: "peer:\(peer.id)", institutionId: nil, action: "federation.recognition.query",
                    targetType: "patient", targetId: query.itemCode,
                    patientKey: query.patient.first.map(env.patientKeys.key(for:)),
                    remoteAddress: context.remoteAddress,
                    requestId: context.id,
                    detail:
                        "origin=\(envelope.origin) request=\(envelope.requestId) hops=\(envelope.hops) results=\(held.count)"
                ),
                at: now)
            return (held, targets)
        }
        // Peers this hub skips are its own business: only those it asked are reported upstream.
        var answer = RecognitionQueryAnswer(hubId: env.config.hubId, results: held, peers: [])
        if !targets.ask.isEmpty {
            let budget = query.deadlineMs - min(query.deadlineMs / 5, 200)
            let (relayed, outcomes) = await env.askPeers(
                targets.ask, query: query, origin: envelope.origin, requestId: envelope.requestId,
                hops: envelope.hops + 1, deadline: .milliseconds(max(1, budget)))
            answer.results = HubEnvironment.unique(held + relayed)
            answer.peers = outcomes
        }
        return try JSONIO.response(answer)
    }

    /// One result, fetched by a peer from the hub that holds it: the record keeps this hub's identity and its
    /// recognition metadata as derived here.
    @Sendable func result(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let (peer, _) = try await env.verifyPeerRequest(request, body: Data(), context: context)
        let id = try context.parameter("id")
        let now = env.clock()
        let answer = try await env.database.write { db -> FederatedResult in
            guard let result = try ResultStore.result(db, id: id) else { throw HubError.notFound("result", id) }
            try AuditLog.append(
                db,
                AuditEvent(
                    actor: "peer:\(peer.id)", institutionId: nil, action: "federation.result.read",
                    targetType: "result", targetId: id, patientKey: env.patientKeys.keys(for: result.patient).first,
                    remoteAddress: context.remoteAddress, requestId: context.id), at: now)
            return FederatedResult(
                hubId: env.config.hubId,
                performerLevel: try RegistryStore.institution(db, id: result.institutionId)?.level, result: result)
        }
        return try JSONIO.response(answer)
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

    /// The active centers this hub offers to its peers.
    @Sendable func directory(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let (peer, _) = try await env.verifyPeerRequest(request, body: Data(), context: context)
        let centers = try await env.database.read { db in
            try RegistryStore.centers(db, status: .active, after: nil, limit: 500).items
        }
        let entries = centers.map {
            RemoteCenter(
                hubId: env.config.hubId, centerId: $0.id, name: $0.name, kind: $0.kind, institutionId: $0.institutionId,
                items: $0.items, turnaroundMinutes: $0.turnaroundMinutes)
        }
        context.logger.debug("directory served", metadata: ["hub.peer": "\(peer.id)"])
        return try JSONIO.response(ListResponse(Page(items: entries, next: nil)))
    }
}

extension HubEnvironment {
    /// Checks a hub-to-hub request's signature, time, hop count and novelty; returns the calling peer and what the
    /// request says about itself.
    func verifyPeerRequest(
        _ request: Request, body: Data, context: HubRequestContext
    ) async throws -> (Peer, FederationEnvelope) {
        let now = clock()
        let header: (String) -> String? = { name in request.headers[HTTPField.Name(name)!] }
        let envelope = FederationEnvelope(
            header: header, method: request.method.rawValue, path: request.uri.path, body: body)
        let signature = header(FederationEnvelope.signatureHeader)
        let config = self.config
        let outcome: Result<(Peer, FederationEnvelope), HubError> = try await database.write { db in
            func refuse(
                _ reason: String, status: Int = 401, code: String = "unauthorized"
            ) throws -> Result<(Peer, FederationEnvelope), HubError> {
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
            guard envelope.origin != config.hubId else {
                return try refuse(
                    "request \(envelope.requestId) started at this hub and came back through \(peer.id)", status: 422,
                    code: "loop_detected")
            }
            guard try PeerStore.firstSighting(db, hubId: envelope.origin, requestId: envelope.requestId, now: now)
            else {
                return try refuse(
                    "request \(envelope.requestId) from \(envelope.origin) was already received (replay or loop)")
            }
            try PeerStore.forgetSightings(
                db, before: now.adding(milliseconds: -Int64(config.federationMaxSkewSeconds) * 2000))
            return .success((peer, envelope))
        }
        return try outcome.get()
    }
}
