import HubConfig
import HubCore
import HubFederation
import HubStorage

/// What this hub answers peer hubs about its results: a recognition query (the results it holds for the patient and
/// item, plus what its own peers answer when the hop limit allows relaying), and one result by id. Every result
/// leaves sealed by this hub, so the hub that asked can relay it on as evidence; every answer is audited.
public struct RecognitionForPeers: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let candidates: RecognitionCandidates
    let federation: FederatedRecognition
    let identity: HubIdentity
    let patientKeys: PatientKeys
    let hubId: String
    let maxHops: Int
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        candidates = RecognitionCandidates(env)
        federation = env.federatedRecognition
        identity = env.identity
        patientKeys = env.patientKeys
        hubId = env.config.hubId
        maxHops = env.config.federationMaxHops
        clock = env.clock
    }

    /// The answer to `peer`'s query, whose signed request says `envelope`. Peers this hub skips are its own business:
    /// only those it asked are reported upstream, and those already asked upstream are not asked again.
    public func answer(
        _ query: RecognitionQuery, from peer: Peer, envelope: FederationEnvelope, caller: Caller
    ) async throws -> RecognitionQueryAnswer {
        if let (field, detail) = query.problem() { throw HubError.validation(field, detail) }
        let now = clock()
        let relay = envelope.hops + 1 <= maxHops
        let hubId = hubId
        let (held, targets) = try await database.write { db in
            let held = try heldResults(db, query: query, now: now)
            let targets =
                relay
                ? try federation.targets(
                    db, scope: query.requesterRegion == nil ? nil : query.scope,
                    requesterRegion: query.requesterRegion ?? "",
                    excluding: Set(query.asked + [peer.id, envelope.origin, hubId]))
                : (ask: [], skipped: [])
            try db.appendAudit(
                AuditEvent(
                    actor: "peer:\(peer.id)", institutionId: nil, action: "federation.recognition.query",
                    targetType: "patient", targetId: query.itemCode,
                    patientKey: query.patient.first.map(patientKeys.key(for:)), remoteAddress: caller.remoteAddress,
                    requestId: caller.requestId,
                    detail:
                        "origin=\(envelope.origin) request=\(envelope.requestId) hops=\(envelope.hops) results=\(held.count)"
                ),
                at: now)
            return (held, targets)
        }
        var answer = RecognitionQueryAnswer(hubId: hubId, results: held, peers: [])
        if !targets.ask.isEmpty {
            let budget = FederatedRecognition.lessTheWayBack(query.deadlineMs)
            let (relayed, outcomes) = await federation.ask(
                targets.ask, query: query, origin: envelope.origin, requestId: envelope.requestId,
                hops: envelope.hops + 1, deadline: .milliseconds(budget))
            answer.results = FederatedRecognition.unique(held + relayed)
            answer.peers = outcomes
        }
        return answer
    }

    /// The results this hub holds for the patient and item (equivalent codes included), sealed, with their
    /// performer's level and this hub's recognition metadata.
    private func heldResults(
        _ db: any StoreReader, query: RecognitionQuery, now: Timestamp
    ) throws -> [FederatedResult] {
        let index = try catalog.index(db, at: now)
        var codes: [String] = []
        for code in [query.itemCode] + query.equivalentCodes {
            let canonical = index?.item(code)?.code ?? code
            if !codes.contains(canonical) { codes.append(canonical) }
        }
        return try candidates.results(db, patient: query.patient, codes: codes).map {
            identity.seal(FederatedResult(hubId: hubId, performerLevel: $0.performerLevel, result: $0.result))
        }
    }

    /// One result, fetched by `peer`: sealed by this hub, with its recognition metadata as derived here.
    public func result(_ id: String, for peer: Peer, caller: Caller) async throws -> FederatedResult {
        let now = clock()
        let (identity, hubId, patientKeys) = (identity, hubId, patientKeys)
        return try await database.write { db -> FederatedResult in
            guard let result = try db.result(id: id) else { throw HubError.notFound("result", id) }
            try db.appendAudit(
                AuditEvent(
                    actor: "peer:\(peer.id)", institutionId: nil, action: "federation.result.read",
                    targetType: "result", targetId: id, patientKey: patientKeys.keys(for: result.patient).first,
                    remoteAddress: caller.remoteAddress, requestId: caller.requestId), at: now)
            return identity.seal(
                FederatedResult(
                    hubId: hubId, performerLevel: try db.institution(id: result.institutionId)?.level,
                    result: result))
        }
    }
}
