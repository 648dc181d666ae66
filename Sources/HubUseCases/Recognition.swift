import Foundation
import HubConfig
import HubCore
import HubFederation
import HubStorage
import Metrics

/// Mutual recognition (检查检验结果互认): which prior results a hospital may accept instead of repeating the test,
/// here and at the peer hubs, each with the reasons it may or may not; the clinician's decision, with the national
/// re-test reasons; and the statistics regulators read.
public struct Recognition: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let catalogs: CatalogStore
    let candidates: RecognitionCandidates
    let federation: FederatedRecognition
    let patientKeys: PatientKeys
    let hubId: String
    let deadlineMilliseconds: Int
    let utcOffsetMinutes: Int
    let retestReasons: [Int: String]
    let clock: @Sendable () -> Timestamp
    private static let checks = Counter(label: "hub.recognition.checks")

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        catalogs = env.catalog
        candidates = RecognitionCandidates(env)
        federation = env.federatedRecognition
        patientKeys = env.patientKeys
        hubId = env.config.hubId
        deadlineMilliseconds = env.config.federationDeadlineMilliseconds
        utcOffsetMinutes = env.config.utcOffsetMinutes
        retestReasons = env.config.retestReasons
        clock = env.clock
    }

    /// Who the check is about: `system|value` (a bare value is a resident ID), `{system, value}`, or a patient with
    /// several identifiers.
    public struct PatientReference: Decodable, Sendable {
        public var identifiers: [PatientIdentifier]

        public init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                guard let identifier = PatientIdentifier(query: text) else {
                    throw DecodingError.dataCorrupted(
                        .init(
                            codingPath: decoder.codingPath, debugDescription: "use system|value, or a bare resident ID")
                    )
                }
                identifiers = [identifier]
            } else if let identifier = try? PatientIdentifier(from: decoder) {
                identifiers = [identifier]
            } else {
                identifiers = try Patient(from: decoder).identifiers
            }
        }
    }

    /// What a clinician asks.
    public struct CheckInput: Decodable, Sendable {
        public var patient: PatientReference?
        public var itemCode: String?
        public var emergency: Bool?
        public var department: String?
        /// Whether peer hubs are asked too (the default).
        public var federated: Bool?

        enum CodingKeys: String, CodingKey {
            case patient, emergency, department, federated
            case itemCode = "item_code"
        }
    }

    /// A clinician's decision on a check.
    public struct DecisionInput: Decodable, Sendable {
        public var checkId: String?
        public var resultId: String?
        public var decision: String?
        public var reasonCode: Int?
        public var note: String?
        public var department: String?

        enum CodingKeys: String, CodingKey {
            case decision, note, department
            case checkId = "check_id"
            case resultId = "result_id"
            case reasonCode = "reason_code"
        }
    }

    /// The statistics of a period, with the period.
    public struct StatsAnswer: Encodable, Sendable {
        var from: Timestamp
        var to: Timestamp
        var stats: RecognitionStats

        public func encode(to encoder: any Encoder) throws {
            try stats.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(from, forKey: .from)
            try container.encode(to, forKey: .to)
        }

        enum Keys: String, CodingKey { case from, to }
    }

    /// What a check was judged against, kept to judge the peers' results the same way.
    struct CheckContext: Sendable {
        var catalog: CatalogIndex?
        var requester: Institution
        var item: CatalogItem?
    }

    /// Only clinicians run checks and decide; checked before the request's body is read, and again by each.
    public func authorizeClinician(_ caller: Caller) throws(HubError) {
        try caller.authenticated().require(.clinician)
    }

    /// Judges every prior result of the patient for the item, here and (unless `federated` is false) at the peer
    /// hubs in scope, and stores the check with its audit record; answers the check's JSON document.
    public func check(_ input: CheckInput, by caller: Caller) async throws -> Data {
        try authorizeClinician(caller)
        let principal = try caller.authenticated()
        var v = Validator()
        let identifiers = v.require(input.patient, "patient")?.identifiers ?? []
        for (i, identifier) in identifiers.enumerated() {
            if let problem = identifier.problem { v.fail("patient.identifiers[\(i)]", problem) }
        }
        let code = v.text(input.itemCode, "item_code", maxLength: 64)
        let department = v.text(input.department, "department", required: false, maxLength: 100)
        try v.check()
        guard let code else { throw HubError.validation("item_code", "is required") }
        let now = clock()
        let federated = input.federated ?? true
        // The local part first, in one read: the requester, the catalog in force, this hub's candidates and which
        // peers to ask.
        let (local, judged, targets) = try await database.shortRead { db in
            let (check, judged) = try localCheck(
                db, identifiers: identifiers, code: code, emergency: input.emergency ?? false, caller: principal,
                department: department, now: now)
            let targets =
                federated
                ? try federation.targets(
                    db, scope: judged.item?.scope, requesterRegion: judged.requester.region.value, excluding: [])
                : (ask: [], skipped: [])
            return (check, judged, targets)
        }
        var check = local
        if !targets.ask.isEmpty || !targets.skipped.isEmpty {
            let query = RecognitionQuery(
                patient: identifiers, itemCode: local.itemCode,
                equivalentCodes: judged.item.map { [$0.code] + $0.equivalentCodes } ?? [code], asked: [],
                deadlineMs: deadlineMilliseconds, requesterRegion: judged.requester.region.value,
                scope: judged.item?.scope)
            let (remote, outcomes) = await federation.ask(
                targets.ask, query: query, origin: hubId, requestId: GeneratedID.make("frq", at: now), hops: 0,
                deadline: .milliseconds(deadlineMilliseconds))
            let asked = Set(identifiers)
            let evaluated = FederatedRecognition.unique(remote).filter { $0.hubId != hubId }.map {
                var candidate = RecognitionRules.evaluate(
                    $0.result, hubId: $0.hubId, catalog: judged.catalog, requester: judged.requester,
                    performerLevel: $0.performerLevel, regions: RegionGroups(), now: now,
                    utcOffsetMinutes: utcOffsetMinutes)
                candidate.foundBy = $0.result.patient.identifiers.first(where: asked.contains).map {
                    FoundBy(identifier: $0, linked: false)
                }
                return candidate
            }
            check.candidates = RecognitionRules.order(check.candidates + evaluated)
            check.peers = outcomes + targets.skipped
        }
        let body = Data(check.jsonBytes)
        let patientKey = patientKeys.key(for: identifiers[0])
        try await database.write { [check] db in
            try db.insert(check, body: body)
            try db.appendAudit(
                caller.audit(
                    "recognition.check", "recognition_check", check.id, patientKey: patientKey,
                    detail:
                        "item=\(check.itemCode) candidates=\(check.candidates.count) recognizable=\(check.candidates.filter(\.recognizable).count) peers=\(check.peers.count)"
                ),
                at: now)
        }
        Self.checks.increment()
        return body
    }

    /// Judges every prior result of the patient held here against the catalog in force now.
    private func localCheck(
        _ db: any StoreReader, identifiers: [PatientIdentifier], code: String, emergency: Bool, caller: Principal,
        department: String?, now: Timestamp
    ) throws -> (RecognitionCheck, CheckContext) {
        guard let institutionId = caller.institutionId,
            let requester = try db.cachedInstitution(id: institutionId)
        else {
            throw HubError.forbidden("recognition checks are made by the clinicians of an institution")
        }
        let index = try catalog.index(db, at: now)
        let canonical = index?.item(code)?.code ?? code
        let found = try candidates.results(db, patient: identifiers, codes: [canonical])
        let judged = found.map { result, level, foundBy in
            var candidate = RecognitionRules.evaluate(
                result, hubId: hubId, catalog: index, requester: requester, performerLevel: level,
                regions: RegionGroups(), now: now, utcOffsetMinutes: utcOffsetMinutes)
            candidate.foundBy = foundBy
            return candidate
        }
        let check = RecognitionCheck(
            id: GeneratedID.make("chk", at: now), institutionId: institutionId, practitionerId: caller.practitionerId,
            department: department, patient: identifiers[0], itemCode: canonical, requestedCode: code,
            emergency: emergency, catalogVersion: index?.version.version, candidates: RecognitionRules.order(judged),
            createdAt: now)
        return (check, CheckContext(catalog: index, requester: requester, item: index?.item(code)))
    }

    /// A stored check, for the institution that made it and for auditors; the reading is audited.
    public func storedCheck(_ id: String, for caller: Caller) async throws -> RecognitionCheck {
        let principal = try caller.authenticated()
        try principal.require(.clinician, .auditor)
        let now = clock()
        return try await database.write { db -> RecognitionCheck in
            guard let check = try db.recognitionCheck(id: id) else {
                throw HubError.notFound("recognition check", id)
            }
            guard principal.roles.contains(.auditor) || check.institutionId == principal.institutionId else {
                throw HubError.forbidden("a check is read by the institution that made it, or by auditors")
            }
            try db.appendAudit(
                caller.audit(
                    "recognition.check.read", "recognition_check", id, patientKey: patientKeys.key(for: check.patient)),
                at: now)
            return check
        }
    }

    /// Records the decision on a check: a recognizable candidate adopted, or a re-test with one of the configured
    /// reasons (an emergency without one is recorded as reason 4; reason 6, other, needs a note). A check has one
    /// decision, never changed.
    public func decide(_ input: DecisionInput, by caller: Caller, idempotency: Idempotency?) async throws -> Created {
        try authorizeClinician(caller)
        let principal = try caller.authenticated()
        var v = Validator()
        let checkId = v.text(input.checkId, "check_id", maxLength: 64)
        var decision: RecognitionDecision.Kind?
        if let text = v.require(input.decision, "decision") {
            decision = RecognitionDecision.Kind(rawValue: text)
            if decision == nil { v.fail("decision", "'\(text)' is not one of: adopt, retest") }
        }
        let note = v.text(input.note, "note", required: false, maxLength: 2000, multiline: true)
        let department = v.text(input.department, "department", required: false, maxLength: 100)
        try v.check()
        guard let checkId, let decision else { throw HubError.validation("check_id", "is required") }
        let reasons = retestReasons
        let codes = reasons.keys.sorted().map(String.init).joined(separator: ", ")
        let (hubId, catalogs, patientKeys) = (hubId, catalogs, patientKeys)
        return try await database.create(idempotency: idempotency, now: clock()) { db, now -> RecognitionDecision in
            guard let check = try db.recognitionCheck(id: checkId) else {
                throw HubError.validation("check_id", "recognition check '\(checkId)' does not exist")
            }
            guard check.institutionId == principal.institutionId else {
                throw HubError.forbidden("a decision is made by the institution that ran the check")
            }
            if !(try db.decisions(checkId: check.id)).isEmpty {
                throw HubError.conflict(
                    "this check already has a decision; decisions are never changed", field: "check_id")
            }
            var reasonCode = input.reasonCode.map(RetestReason.init(code:))
            var candidate: RecognitionCandidate?
            switch decision {
            case .adopt:
                guard let resultId = input.resultId else {
                    throw HubError.validation("result_id", "name the result adopted")
                }
                guard let found = check.candidates.first(where: { $0.resultId == resultId }) else {
                    throw HubError.validation("result_id", "'\(resultId)' is not a candidate of this check")
                }
                guard found.recognizable else {
                    throw HubError.validation(
                        "result_id",
                        "'\(resultId)' is not recognizable: \(found.reasons.map(\.code.rawValue).joined(separator: ", "))"
                    )
                }
                if reasonCode != nil { throw HubError.validation("reason_code", "an adoption has no re-test reason") }
                candidate = found
            case .retest:
                // An emergency is never blocked: without a stated reason it is recorded as the emergency reason.
                if reasonCode == nil && check.emergency { reasonCode = .emergency }
                guard let reason = reasonCode else {
                    throw HubError.validation("reason_code", "a re-test needs one of the reason codes \(codes)")
                }
                guard reasons[reason.code] != nil else {
                    throw HubError.validation("reason_code", "\(reason.code) is not one of \(codes)")
                }
                if reason == .other && note == nil {
                    throw HubError.validation("note", "reason 6 (other) needs a note saying why")
                }
            }
            let item = try catalogs.index(db, version: check.catalogVersion ?? "")?.item(check.itemCode)
            let record = RecognitionDecision(
                id: GeneratedID.make("dec", at: now), checkId: check.id, resultId: candidate?.resultId,
                decision: decision, reasonCode: reasonCode, note: note, institutionId: check.institutionId,
                department: department ?? check.department, practitionerId: principal.practitionerId,
                itemCode: check.itemCode,
                category: candidate?.category ?? item?.category, price: candidate?.price ?? .zero,
                crossInstitution: candidate.map { $0.institutionId != check.institutionId || $0.hubId != hubId }
                    ?? false,
                createdAt: now)
            try db.insert(record)
            try db.appendAudit(
                caller.audit(
                    "recognition.\(record.decision.rawValue)", "recognition_check", check.id,
                    patientKey: patientKeys.key(for: check.patient),
                    detail: record.resultId.map { "result=\($0)" } ?? "reason=\(reasonCode?.code ?? 0)"), at: now)
            return record
        }
    }

    /// The statistics of a period (default: the 30 days to now), for auditors and regulators.
    public func stats(
        from: Timestamp?, to: Timestamp?, institutionId: String?, department: String?, itemCode: String?,
        category: ItemCategory?, for caller: Caller
    ) async throws -> StatsAnswer {
        try caller.authenticated().require(.auditor)
        let to = to ?? clock()
        let from = from ?? to.adding(days: -30)
        let filter = StatsFilter(
            from: from, to: to, institutionId: institutionId, department: department, itemCode: itemCode,
            category: category)
        let stats = try await database.read { try $0.recognitionStats(filter) }
        return StatsAnswer(from: from, to: to, stats: stats)
    }
}
