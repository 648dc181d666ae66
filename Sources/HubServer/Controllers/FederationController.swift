import Foundation
import HTTPTypes
import HubConfig
import HubCore
import HubFederation
import HubStore
import HubUseCases
import Hummingbird
import Logging

/// `/federation/v1`: what peer hubs call. Every request but `identity` is signed by the calling hub for this hub and
/// checked here: unsigned, badly signed, stale, replayed, misdirected or unknown-peer requests get 401, are counted and
/// are audited at most once a minute per claimed origin and reason. Every answer to a request that passed is signed by
/// this hub for the calling one.
struct FederationController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.get, "/federation/v1/identity", public: true, identity)
        routes.add(.get, "/federation/v1/directory", public: true, directory)
        routes.add(.get, "/federation/v1/audit-head", public: true, witnessedAuditHead)
        routes.add(.post, "/federation/v1/recognition/query", public: true, recognitionQuery)
        routes.add(.get, "/federation/v1/results/{id}", public: true, result)
        routes.add(.post, "/federation/v1/exams", public: true, receiveExam)
        routes.add(.put, "/federation/v1/exams/{id}/attachments/{sha256}", public: true, receiveAttachment)
        routes.add(.post, "/federation/v1/exams/{id}/events", public: true, examEvent)
        routes.add(.post, "/federation/v1/exams/{id}/cancel", public: true, cancelExam)
        routes.add(.post, "/federation/v1/critical-values/{id}/ack", public: true, acknowledgeCriticalValue)
    }

    var forwardedExams: ForwardedExams { ForwardedExams(env) }

    /// An exam a peer forwards to be read at one of this hub's centers. A retried forward finds the exam the first
    /// one created (200) instead of creating another (201).
    @Sendable func receiveExam(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: body, context: context)
        try JSONIO.requireJSON(request)
        let message = try JSONIO.decode(ForwardedExam.self, from: body)
        let (receipt, created) = try await forwardedExams.receive(
            message, from: peer, requestId: envelope.requestId, by: context.caller)
        return try env.answer(receipt, status: created ? .created : .ok, to: peer, envelope)
    }

    /// An attachment of a forwarded exam, streamed from the submitting hub. The signature covers the path's SHA-256;
    /// bytes that do not hash to it are refused.
    @Sendable func receiveAttachment(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let originId = try context.parameter("id")
        let sha256 = try context.parameter("sha256").lowercased()
        guard sha256.utf8.count == 64, sha256.allSatisfy(\.isHexDigit) else {
            throw HubError.validation("sha256", "must be 64 hexadecimal digits")
        }
        let (peer, envelope) = try await env.verifyPeerRequest(request, bodyDigest: sha256, context: context)
        let mediaType =
            request.headers[.contentType]?.split(separator: ";").first
            .map { $0.trimmingASCIIWhitespace().lowercased() } ?? ""
        let (stored, created) = try await forwardedExams.receiveAttachment(
            originExamId: originId, sha256: sha256, mediaType: mediaType, body: request.body.map(\.readableBytesView),
            from: peer, by: context.caller)
        return try env.answer(stored, status: created ? .created : .ok, to: peer, envelope)
    }

    /// What the reading hub says about an exam this hub forwarded to it.
    @Sendable func examEvent(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: body, context: context)
        try JSONIO.requireJSON(request)
        let event = try JSONIO.decode(ForwardedExamEvent.self, from: body)
        let applied = try await forwardedExams.apply(event, to: id, from: peer, by: context.caller)
        return try env.answer(["applied": applied], to: peer, envelope)
    }

    /// The submitting hub withdrew an exam it forwarded here.
    @Sendable func cancelExam(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let originId = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: body, context: context)
        let input = try JSONIO.decode(ReasonInput.self, from: body)
        let receipt = try await forwardedExams.cancel(originExamId: originId, input, from: peer, by: context.caller)
        return try env.answer(receipt, to: peer, envelope)
    }

    /// The submitting hub's clinic acknowledged a critical value flagged here.
    @Sendable func acknowledgeCriticalValue(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: body, context: context)
        let acknowledgement = try JSONIO.decode(Acknowledgement.self, from: body)
        let notice = try await forwardedExams.acknowledgeCriticalValue(
            id, acknowledgement, from: peer, by: context.caller)
        return try env.answer(notice, to: peer, envelope)
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
        return try env.answer(answer, to: peer, envelope)
    }

    /// One result, fetched by a peer from the hub that holds it: the record keeps this hub's identity and its
    /// recognition metadata as derived here.
    @Sendable func result(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: Data(), context: context)
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
            return env.identity.seal(
                FederatedResult(
                    hubId: env.config.hubId,
                    performerLevel: try RegistryStore.institution(db, id: result.institutionId)?.level, result: result))
        }
        return try env.answer(answer, to: peer, envelope)
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
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: Data(), context: context)
        let centers = try await env.database.read { db in
            try RegistryStore.centers(db, status: .active, after: nil, limit: 500).items
        }
        let entries = centers.map {
            RemoteCenter(
                hubId: env.config.hubId, centerId: $0.id, name: $0.name, kind: $0.kind, institutionId: $0.institutionId,
                items: $0.items, turnaroundMinutes: $0.turnaroundMinutes)
        }
        context.logger.debug("directory served", metadata: ["hub.peer": "\(peer.id)"])
        // The chain's last signed head goes with the directory: every peer that refreshes it witnesses the chain's end.
        let head = try? AuditHead.read(path: env.config.auditHeadPath)
        return try env.answer(DirectoryAnswer(items: entries, auditHead: head), to: peer, envelope)
    }

    struct DirectoryAnswer: Encodable {
        var items: [RemoteCenter]
        var next: String? = nil
        var auditHead: SignedAuditHead?

        enum CodingKeys: String, CodingKey {
            case items, next
            case auditHead = "audit_head"
        }
    }

    /// `GET /federation/v1/audit-head`: the calling hub's own audit head as this hub last witnessed it.
    @Sendable func witnessedAuditHead(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: Data(), context: context)
        let head = try await env.database.read { try WitnessedAuditHeads.witnessed($0, hubId: peer.id) }
        return try env.answer(WitnessAnswer(auditHead: head), to: peer, envelope)
    }

    struct WitnessAnswer: Codable {
        var auditHead: SignedAuditHead?

        enum CodingKeys: String, CodingKey { case auditHead = "audit_head" }
    }
}

extension HubEnvironment {
    /// Checks a hub-to-hub request's signature, time, hop count and novelty; returns the calling peer and what the
    /// request says about itself.
    func verifyPeerRequest(
        _ request: Request, body: Data, context: HubRequestContext
    ) async throws -> (Peer, FederationEnvelope) {
        try await verifyPeerRequest(request, bodyDigest: FederationEnvelope.digest(body), context: context)
    }

    /// The same check for a body not read yet, whose digest (hex SHA-256) the request promises. The signature must be
    /// for this hub (its id) and cover the whole request target, query string included. A refusal is counted and
    /// written down by `recordRefusal`, at most once a minute per claimed origin and reason.
    func verifyPeerRequest(
        _ request: Request, bodyDigest: String, context: HubRequestContext
    ) async throws -> (Peer, FederationEnvelope) {
        let now = clock()
        let header: (String) -> String? = { name in request.headers[HTTPField.Name(name)!] }
        let target = request.head.path ?? request.uri.path
        let config = self.config
        let envelope = FederationEnvelope(
            header: header, destination: config.hubId, method: request.method.rawValue, target: target,
            bodyDigest: bodyDigest)
        let claimed = header("X-Hub-Id")
        let peer = try await database.read { db -> Peer? in
            guard let claimed, ResourceID.isValid(claimed) else { return nil }
            return try PeerStore.peer(db, id: claimed)
        }
        func refuse(
            _ reason: String, _ detail: String, status: Int = 401, code: String = "unauthorized"
        ) async -> HubError {
            // A hub this hub does not know is named by the attacker: every such claim is one origin.
            let origin = peer?.id ?? "unknown"
            let claim = claimed.map { " (claimed '\(String($0.prefix(64)))')" } ?? ""
            await recordRefusal(
                .federation, origin: origin, reason: reason, detail: detail + (peer == nil ? claim : ""),
                target: target, context: context)
            return HubError(code: code, status: status, title: "Peer request refused", detail: detail)
        }
        guard let envelope, let signature = header(FederationEnvelope.signatureHeader) else {
            throw await refuse("unsigned", "the request is not signed by a peer hub")
        }
        guard header(FederationEnvelope.protocolHeader) == FederationEnvelope.protocolVersion else {
            throw await refuse(
                "protocol",
                "the request is signed with an older hub-to-hub signature; this hub needs X-Hub-Protocol: "
                    + "\(FederationEnvelope.protocolVersion) (both hubs must run the same version)")
        }
        guard let peer, peer.status == .active else {
            throw await refuse("unknown_hub", "'\(envelope.hubId)' is not a known, active peer of this hub")
        }
        guard abs(now.millisecondsSinceEpoch / 1000 - envelope.timestamp) <= Int64(config.federationMaxSkewSeconds)
        else {
            throw await refuse(
                "stale", "the signature time is more than \(config.federationMaxSkewSeconds) s from this hub's clock")
        }
        guard envelope.verify(signature: signature, publicKey: peer.publicKey) else {
            if let destination = header("X-Hub-Destination"), destination != config.hubId {
                throw await refuse(
                    "wrong_destination",
                    "the request is signed for hub '\(String(destination.prefix(64)))', not for \(config.hubId)")
            }
            throw await refuse(
                "bad_signature",
                "the signature does not verify with \(peer.id)'s public key for this hub, method, target and body")
        }
        guard envelope.hops <= config.federationMaxHops else {
            throw await refuse(
                "hop_limit", "the request has passed \(envelope.hops) hubs; the limit is \(config.federationMaxHops)",
                status: 422, code: "hop_limit")
        }
        guard envelope.origin != config.hubId else {
            throw await refuse(
                "loop", "request \(envelope.requestId) started at this hub and came back through \(peer.id)",
                status: 422, code: "loop_detected")
        }
        let first = try await database.write { db in
            let first = try PeerStore.firstSighting(
                db, hubId: envelope.origin, requestId: envelope.requestId, now: now)
            try PeerStore.forgetSightings(db, before: now.adding(milliseconds: -Self.sightingLifetime(config)))
            return first
        }
        guard first else {
            throw await refuse(
                "replay", "request \(envelope.requestId) from \(envelope.origin) was already received (replay or loop)")
        }
        return (peer, envelope)
    }

    /// How long a request id is remembered, in milliseconds. A signature time is accepted while it is within the skew
    /// of this hub's clock, in whole seconds: from the first sighting, a replay can be accepted by its time for at
    /// most twice the skew plus one second. Ids are kept a second longer than that.
    static func sightingLifetime(_ config: HubConfiguration) -> Int64 {
        (Int64(config.federationMaxSkewSeconds) * 2 + 2) * 1000
    }

    /// This hub's answer to `peer`'s signed request, signed over the status, the body's digest, the request id and
    /// both hubs' ids, so the asking hub can tell an answer changed on the way.
    func answer(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, to peer: Peer, _ envelope: FederationEnvelope
    ) throws -> Response {
        let data = try HubJSON.encode(value)
        var headers = HTTPFields()
        for (name, value) in identity.signAnswer(
            requester: peer.id, requestId: envelope.requestId, status: Int(status.code), body: data)
        {
            headers[HTTPField.Name(name)!] = value
        }
        return JSONIO.response(data: data, status: status, headers: headers)
    }
}
