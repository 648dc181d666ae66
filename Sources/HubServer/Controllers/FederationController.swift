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
    var peerRequests: PeerRequests { PeerRequests(env) }
    var federationDirectory: FederationDirectory { FederationDirectory(env) }
    var recognitionForPeers: RecognitionForPeers { RecognitionForPeers(env) }

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

    struct Received: Encodable {
        var examId: String
        var step: ExamStep
        var accessionNumber: String
        var centerId: String?

        enum CodingKeys: String, CodingKey {
            case step
            case examId = "exam_id"
            case accessionNumber = "accession_number"
            case centerId = "center_id"
        }
    }

    /// An exam a peer forwards to be read at one of this hub's centers. A retried forward finds the exam the first
    /// one created (200) instead of creating another (201).
    @Sendable func receiveExam(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: body, context: context)
        try JSONIO.requireJSON(request)
        let message = try JSONIO.decode(ForwardedExam.self, from: body)
        let now = env.clock()
        let (exam, created) = try await env.database.write { db in
            let (exam, created) = try env.receiveForwarded(db, message, from: peer, now: now)
            try AuditLog.append(
                db,
                AuditEvent(
                    actor: "peer:\(peer.id)", institutionId: nil,
                    action: created ? "federation.exam.receive" : "federation.exam.receive.repeat", targetType: "exam",
                    targetId: exam.id, patientKey: env.patientKeys.keys(for: exam.patient).first,
                    remoteAddress: context.remoteAddress, requestId: context.id,
                    detail:
                        "origin exam \(message.originExamId) request \(envelope.requestId) center \(message.centerId)"),
                at: now)
            return (exam, created)
        }
        return try env.answer(
            Received(examId: exam.id, step: exam.step, accessionNumber: exam.accessionNumber, centerId: exam.centerId),
            status: created ? .created : .ok, to: peer, envelope)
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
        guard let kind = AttachmentController.kinds[mediaType] else {
            throw HubError.unsupportedMediaType("'\(mediaType)' is not an attachment type")
        }
        guard
            let exam = try await env.database.read({
                try ExamStore.exam($0, originHub: peer.id, originExamId: originId)
            })
        else {
            // The exam's own forward may still be on its way: the sender retries.
            throw HubError(
                code: "too_early", status: 425, title: "Exam not received yet",
                detail: "exam \(originId) from \(peer.id) has not arrived here yet")
        }
        let examId = exam.id
        let remote = context.remoteAddress
        let requestId = context.id
        let (stored, created) = try await AttachmentController(env: env).ingest(
            request.body, mediaType: mediaType, kind: kind, exam: exam, uploadedBy: "peer:\(peer.id)",
            expectedSHA256: sha256
        ) { action, detail, key in
            AuditEvent(
                actor: "peer:\(peer.id)", institutionId: nil, action: action, targetType: "exam", targetId: examId,
                patientKey: key, remoteAddress: remote, requestId: requestId, detail: detail)
        }
        return try env.answer(stored, status: created ? .created : .ok, to: peer, envelope)
    }

    /// What the reading hub says about an exam this hub forwarded to it.
    @Sendable func examEvent(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: body, context: context)
        try JSONIO.requireJSON(request)
        let event = try JSONIO.decode(ForwardedExamEvent.self, from: body)
        let now = env.clock()
        let applied = try await env.database.write { db -> Bool in
            let exam = try env.applyForwardedEvent(db, examId: id, event, from: peer, now: now)
            try AuditLog.append(
                db,
                AuditEvent(
                    actor: "peer:\(peer.id)", institutionId: nil, action: "federation.exam.event", targetType: "exam",
                    targetId: id, remoteAddress: context.remoteAddress, requestId: context.id,
                    detail: "\(event.event) revision \(event.revision)\(exam == nil ? " (already applied)" : "")"),
                at: now)
            return exam != nil
        }
        return try env.answer(["applied": applied], to: peer, envelope)
    }

    struct CancelInput: Decodable {
        var reason: String?
    }

    /// The submitting hub withdrew an exam it forwarded here.
    @Sendable func cancelExam(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let originId = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: body, context: context)
        let input = try JSONIO.decode(CancelInput.self, from: body)
        let now = env.clock()
        let exam = try await env.database.write { db -> Exam in
            guard let exam = try ExamStore.exam(db, originHub: peer.id, originExamId: originId) else {
                // The exam's own forward may still be on its way: the sender retries.
                throw HubError(
                    code: "too_early", status: 425, title: "Exam not received yet",
                    detail: "exam \(originId) from \(peer.id) has not arrived here yet")
            }
            if exam.step == .cancelled { return exam }
            let action = ExamAction.cancel(reason: input.reason ?? "withdrawn by \(peer.id)")
            var next = try ExamWorkflow.apply(action, to: exam, at: now)
            next = try env.effects(of: action, before: exam, after: next, db, now: now)
            try ExamStore.update(db, next)
            try AuditLog.append(
                db,
                AuditEvent(
                    actor: "peer:\(peer.id)", institutionId: nil, action: "exam.cancel", targetType: "exam",
                    targetId: exam.id, remoteAddress: context.remoteAddress, requestId: context.id,
                    detail: input.reason), at: now)
            return next
        }
        return try env.answer(
            Received(examId: exam.id, step: exam.step, accessionNumber: exam.accessionNumber, centerId: exam.centerId),
            to: peer, envelope)
    }

    /// The submitting hub's clinic acknowledged a critical value flagged here.
    @Sendable func acknowledgeCriticalValue(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        let (peer, envelope) = try await env.verifyPeerRequest(request, body: body, context: context)
        let acknowledgement = try JSONIO.decode(Acknowledgement.self, from: body)
        let now = env.clock()
        let notice = try await env.database.write { db -> CriticalValueNotice in
            guard var notice = try CriticalValueStore.notice(db, id: id),
                let exam = try ExamStore.exam(db, id: notice.examId), exam.origin?.hubId == peer.id
            else {
                throw HubError.notFound("critical value", id)
            }
            guard notice.acknowledgement == nil else { return notice }
            notice.acknowledgement = acknowledgement
            try CriticalValueStore.update(db, notice)
            try AuditLog.append(
                db,
                AuditEvent(
                    actor: "peer:\(peer.id)", institutionId: nil, action: "critical_value.ack",
                    targetType: "critical_value", targetId: id, remoteAddress: context.remoteAddress,
                    requestId: context.id,
                    detail: "exam=\(notice.examId) acknowledged at \(peer.id)"), at: now
            )
            return notice
        }
        return try env.answer(notice, to: peer, envelope)
    }

    /// A peer's recognition query: the results this hub holds for the patient and item, plus what this hub's own
    /// peers answer when the hop limit allows relaying (peers already asked upstream are not asked again).
    @Sendable func recognitionQuery(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
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
            Identity(hubId: env.identity.hubId, region: env.identity.region, publicKey: env.identity.publicKey))
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

extension HubEnvironment {
    func verifyPeerRequest(
        _ request: Request, body: Data, context: HubRequestContext
    ) async throws -> (Peer, FederationEnvelope) {
        try await PeerRequests(self).verify(request, body: body, context: context)
    }

    func verifyPeerRequest(
        _ request: Request, bodyDigest: String, context: HubRequestContext
    ) async throws -> (Peer, FederationEnvelope) {
        try await PeerRequests(self).verify(request, bodyDigest: bodyDigest, context: context)
    }

    func answer(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, to peer: Peer, _ envelope: FederationEnvelope
    ) throws -> Response {
        try PeerRequests(self).answer(value, status: status, to: peer, envelope)
    }
}
