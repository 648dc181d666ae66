import Foundation
import HTTPTypes
import HubConfig
import HubCore
import HubFederation
import HubStorage
import HubUseCases
import Hummingbird
import Logging

/// `/federation/v1`: what peer hubs call. Every request but `identity` is signed by the calling hub for this hub and
/// checked here: unsigned, badly signed, stale, replayed, misdirected or unknown-peer requests get 401, are counted and
/// are audited at most once a minute per claimed origin and reason. Every answer to a request that passed is signed by
/// this hub for the calling one.
struct FederationController {
    let peerRequests: PeerRequests
    let federationDirectory: FederationDirectory
    let recognitionForPeers: RecognitionForPeers
    let forwardedExams: ForwardedExams
    let identity: HubIdentity
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        peerRequests = PeerRequests(env)
        federationDirectory = FederationDirectory(env)
        recognitionForPeers = RecognitionForPeers(env)
        forwardedExams = ForwardedExams(env)
        identity = env.identity
        maxBodyBytes = env.config.maxBodyBytes
    }

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

    /// An exam a peer forwards to be read at one of this hub's centers. A retried forward finds the exam the first
    /// one created (200) instead of creating another (201).
    @Sendable func receiveExam(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let body = try await JSONIO.body(request, limit: maxBodyBytes)
        let (peer, envelope) = try await peerRequests.verify(request, body: body, context: context)
        try JSONIO.requireJSON(request)
        let message = try JSONIO.decode(ForwardedExam.self, from: body)
        let (receipt, created) = try await forwardedExams.receive(
            message, from: peer, requestId: envelope.requestId, by: context.caller)
        return try peerRequests.answer(receipt, status: created ? .created : .ok, to: peer, envelope)
    }

    /// An attachment of a forwarded exam, streamed from the submitting hub. The signature covers the path's SHA-256;
    /// bytes that do not hash to it are refused.
    @Sendable func receiveAttachment(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let originId = try context.parameter("id")
        let sha256 = try context.parameter("sha256").lowercased()
        guard sha256.utf8.count == 64, sha256.allSatisfy(\.isHexDigit) else {
            throw HubError.validation("sha256", "must be 64 hexadecimal digits")
        }
        let (peer, envelope) = try await peerRequests.verify(request, bodyDigest: sha256, context: context)
        let mediaType =
            request.headers[.contentType]?.split(separator: ";").first
            .map { $0.trimmingASCIIWhitespace().lowercased() } ?? ""
        let (stored, created) = try await forwardedExams.receiveAttachment(
            originExamId: originId, sha256: sha256, mediaType: mediaType, body: request.body.map(\.readableBytesView),
            from: peer, by: context.caller)
        return try peerRequests.answer(stored, status: created ? .created : .ok, to: peer, envelope)
    }

    /// What the reading hub says about an exam this hub forwarded to it.
    @Sendable func examEvent(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: maxBodyBytes)
        let (peer, envelope) = try await peerRequests.verify(request, body: body, context: context)
        try JSONIO.requireJSON(request)
        let event = try JSONIO.decode(ForwardedExamEvent.self, from: body)
        let applied = try await forwardedExams.apply(event, to: id, from: peer, by: context.caller)
        return try peerRequests.answer(["applied": applied], to: peer, envelope)
    }

    /// The submitting hub withdrew an exam it forwarded here.
    @Sendable func cancelExam(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let originId = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: maxBodyBytes)
        let (peer, envelope) = try await peerRequests.verify(request, body: body, context: context)
        let input = try JSONIO.decode(ReasonInput.self, from: body)
        let receipt = try await forwardedExams.cancel(originExamId: originId, input, from: peer, by: context.caller)
        return try peerRequests.answer(receipt, to: peer, envelope)
    }

    /// The submitting hub's clinic acknowledged a critical value flagged here.
    @Sendable func acknowledgeCriticalValue(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: maxBodyBytes)
        let (peer, envelope) = try await peerRequests.verify(request, body: body, context: context)
        let acknowledgement = try JSONIO.decode(Acknowledgement.self, from: body)
        let notice = try await forwardedExams.acknowledgeCriticalValue(
            id, acknowledgement, from: peer, by: context.caller)
        return try peerRequests.answer(notice, to: peer, envelope)
    }

    /// A peer's recognition query: the results this hub holds for the patient and item, plus what this hub's own
    /// peers answer when the hop limit allows relaying (peers already asked upstream are not asked again).
    @Sendable func recognitionQuery(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let body = try await JSONIO.body(request, limit: maxBodyBytes)
        let (peer, envelope) = try await peerRequests.verify(request, body: body, context: context)
        try JSONIO.requireJSON(request)
        let query = try JSONIO.decode(RecognitionQuery.self, from: body)
        let answer = try await recognitionForPeers.answer(
            query, from: peer, envelope: envelope, caller: context.caller)
        return try peerRequests.answer(answer, to: peer, envelope)
    }

    /// One result, fetched by a peer from the hub that holds it: the record keeps this hub's identity and its
    /// recognition metadata as derived here.
    @Sendable func result(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let (peer, envelope) = try await peerRequests.verify(request, body: Data(), context: context)
        let answer = try await recognitionForPeers.result(
            try context.parameter("id"), for: peer, caller: context.caller)
        return try peerRequests.answer(answer, to: peer, envelope)
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
            Identity(hubId: identity.hubId, region: identity.region, publicKey: identity.publicKey))
    }

    /// The active centers this hub offers to its peers.
    @Sendable func directory(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let (peer, envelope) = try await peerRequests.verify(request, body: Data(), context: context)
        let answer = try await federationDirectory.directory(for: peer)
        context.logger.debug("directory served", metadata: ["hub.peer": "\(peer.id)"])
        return try peerRequests.answer(answer, to: peer, envelope)
    }

    /// `GET /federation/v1/audit-head`: the calling hub's own audit head as this hub last witnessed it.
    @Sendable func witnessedAuditHead(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let (peer, envelope) = try await peerRequests.verify(request, body: Data(), context: context)
        return try peerRequests.answer(try await federationDirectory.witnessedHead(of: peer), to: peer, envelope)
    }
}

/// The HTTP side of hub-to-hub requests: the request's headers and target checked by `PeerRequestVerifier` (a
/// refusal counted and written down by `Refusals`, at most once a minute per claimed origin and reason), and this
/// hub's signed answers.
struct PeerRequests: Sendable {
    let verifier: PeerRequestVerifier
    let refusals: Refusals
    let identity: HubIdentity

    init(_ env: HubEnvironment) {
        verifier = PeerRequestVerifier(
            database: env.database, hubId: env.config.hubId, maxSkewSeconds: env.config.federationMaxSkewSeconds,
            maxHops: env.config.federationMaxHops, clock: env.clock)
        refusals = Refusals(env)
        identity = env.identity
    }

    /// Checks a hub-to-hub request's signature, time, hop count and novelty; returns the calling peer and what the
    /// request says about itself.
    func verify(_ request: Request, body: Data, context: HubRequestContext) async throws -> (Peer, FederationEnvelope) {
        try await verify(request, bodyDigest: FederationEnvelope.digest(body), context: context)
    }

    /// The same check for a body not read yet, whose digest (hex SHA-256) the request promises. The signature must be
    /// for this hub (its id) and cover the whole request target, query string included.
    func verify(
        _ request: Request, bodyDigest: String, context: HubRequestContext
    ) async throws -> (Peer, FederationEnvelope) {
        let target = request.head.path ?? request.uri.path
        do {
            return try await verifier.verify(
                header: { request.headers[HTTPField.Name($0)!] }, method: request.method.rawValue, target: target,
                bodyDigest: bodyDigest)
        } catch let refusal as PeerRequestVerifier.Refusal {
            await refusals.record(
                .federation, origin: refusal.origin, reason: refusal.reason, detail: refusal.detail, target: target,
                caller: context.caller)
            throw refusal.error
        }
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
