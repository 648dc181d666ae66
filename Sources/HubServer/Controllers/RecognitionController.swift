import Foundation
import GRDB
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Hummingbird
import Metrics

/// Who the check is about: `system|value` (a bare value is a resident ID), `{system, value}`, or a patient with
/// several identifiers.
struct PatientReference: Decodable, Sendable {
    var identifiers: [PatientIdentifier]

    init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            guard let identifier = PatientIdentifier(query: text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "use system|value, or a bare resident ID"))
            }
            identifiers = [identifier]
        } else if let identifier = try? PatientIdentifier(from: decoder) {
            identifiers = [identifier]
        } else {
            identifiers = try Patient(from: decoder).identifiers
        }
    }
}

/// `/v1/recognition`: which prior results a hospital should accept, the clinician's decision, and the statistics.
struct RecognitionController {
    let env: HubEnvironment
    private static let checks = Counter(label: "hub.recognition.checks")

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/recognition/checks", check)
        routes.add(.get, "/v1/recognition/checks/{id}", showCheck)
        routes.add(.post, "/v1/recognition/decisions", decide)
        routes.add(.get, "/v1/recognition/stats", stats)
    }

    struct CheckInput: Decodable, Sendable {
        var patient: PatientReference?
        var itemCode: String?
        var emergency: Bool?
        var department: String?
        /// Whether peer hubs are asked too (the default).
        var federated: Bool?

        enum CodingKeys: String, CodingKey {
            case patient, emergency, department, federated
            case itemCode = "item_code"
        }
    }

    @Sendable func check(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinician)
        let (input, _) = try await JSONIO.decode(CheckInput.self, from: request, limit: env.config.maxBodyBytes)
        var v = Validator()
        let identifiers = v.require(input.patient, "patient")?.identifiers ?? []
        for (i, identifier) in identifiers.enumerated() {
            if let problem = identifier.problem { v.fail("patient.identifiers[\(i)]", problem) }
        }
        let code = v.text(input.itemCode, "item_code", maxLength: 64)
        let department = v.text(input.department, "department", required: false, maxLength: 100)
        try v.check()
        let now = env.clock()
        let federated = input.federated ?? true
        // The local part first, in one read: the requester, the catalog in force, this hub's candidates and which
        // peers to ask.
        let generation = env.database.institutions.generation
        let (local, judged, targets) = try await env.database.shortRead { db in
            let (check, judged) = try env.recognitionCheck(
                db, identifiers: identifiers, code: code!, emergency: input.emergency ?? false, caller: caller,
                department: department, now: now, generation: generation)
            let targets =
                federated
                ? try env.recognitionTargets(
                    db, scope: judged.item?.scope, requesterRegion: judged.requester.region.value, excluding: [])
                : (ask: [], skipped: [])
            return (check, judged, targets)
        }
        var check = local
        if !targets.ask.isEmpty || !targets.skipped.isEmpty {
            let query = RecognitionQuery(
                patient: identifiers, itemCode: local.itemCode,
                equivalentCodes: judged.item.map { [$0.code] + $0.equivalentCodes } ?? [code!], asked: [],
                deadlineMs: env.config.federationDeadlineMilliseconds, requesterRegion: judged.requester.region.value,
                scope: judged.item?.scope)
            let (remote, outcomes) = await env.askPeers(
                targets.ask, query: query, origin: env.config.hubId, requestId: GeneratedID.make("frq", at: now),
                hops: 0, deadline: .milliseconds(env.config.federationDeadlineMilliseconds))
            let evaluated = HubEnvironment.unique(remote).filter { $0.hubId != env.config.hubId }.map {
                RecognitionRules.evaluate(
                    $0.result, hubId: $0.hubId, catalog: judged.catalog, requester: judged.requester,
                    performerLevel: $0.performerLevel, regions: RegionGroups(), now: now,
                    utcOffsetMinutes: env.config.utcOffsetMinutes)
            }
            check.candidates = RecognitionRules.order(check.candidates + evaluated)
            check.peers = outcomes + targets.skipped
        }
        let body = Data(check.jsonBytes)
        try await env.database.write { [check] db in
            try RecognitionStore.insert(db, check, body: body)
            try AuditLog.append(
                db,
                context.audit(
                    "recognition.check", "recognition_check", check.id,
                    patientKey: env.patientKeys.key(for: identifiers[0]),
                    detail:
                        "item=\(check.itemCode) candidates=\(check.candidates.count) recognizable=\(check.candidates.filter(\.recognizable).count) peers=\(check.peers.count)"
                ),
                at: now)
        }
        Self.checks.increment()
        return JSONIO.response(data: body, status: .created)
    }

    @Sendable func showCheck(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinician, .auditor)
        let id = try context.parameter("id")
        let now = env.clock()
        let check = try await env.database.write { db -> RecognitionCheck in
            guard let check = try RecognitionStore.check(db, id: id) else {
                throw HubError.notFound("recognition check", id)
            }
            guard caller.roles.contains(.auditor) || check.institutionId == caller.institutionId else {
                throw HubError.forbidden("a check is read by the institution that made it, or by auditors")
            }
            try AuditLog.append(
                db,
                context.audit(
                    "recognition.check.read", "recognition_check", id,
                    patientKey: env.patientKeys.key(for: check.patient)), at: now)
            return check
        }
        return try JSONIO.response(check)
    }

    struct DecisionInput: Decodable, Sendable {
        var checkId: String?
        var resultId: String?
        var decision: String?
        var reasonCode: Int?
        var note: String?
        var department: String?

        enum CodingKeys: String, CodingKey {
            case decision, note, department
            case checkId = "check_id"
            case resultId = "result_id"
            case reasonCode = "reason_code"
        }
    }

    @Sendable func decide(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinician)
        let (input, body) = try await JSONIO.decode(DecisionInput.self, from: request, limit: env.config.maxBodyBytes)
        var v = Validator()
        let checkId = v.text(input.checkId, "check_id", maxLength: 64)
        let decision = v.require(input.decision, "decision")
        if let decision, decision != "adopt" && decision != "retest" {
            v.fail("decision", "'\(decision)' is not one of: adopt, retest")
        }
        let note = v.text(input.note, "note", required: false, maxLength: 2000, multiline: true)
        let department = v.text(input.department, "department", required: false, maxLength: 100)
        try v.check()
        let reasons = env.config.retestReasons
        return try await env.create(request, context, body: body) { db, now -> RecognitionDecision in
            guard let check = try RecognitionStore.check(db, id: checkId!) else {
                throw HubError.validation("check_id", "recognition check '\(checkId!)' does not exist")
            }
            guard check.institutionId == caller.institutionId else {
                throw HubError.forbidden("a decision is made by the institution that ran the check")
            }
            if !(try RecognitionStore.decisions(db, checkId: check.id)).isEmpty {
                throw HubError.conflict(
                    "this check already has a decision; decisions are never changed", field: "check_id")
            }
            var reasonCode = input.reasonCode
            var candidate: RecognitionCandidate?
            if decision == "adopt" {
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
            } else {
                // An emergency is never blocked: without a stated reason it is recorded as reason 4.
                if reasonCode == nil && check.emergency { reasonCode = 4 }
                guard let code = reasonCode else {
                    throw HubError.validation(
                        "reason_code",
                        "a re-test needs one of the reason codes \(reasons.keys.sorted().map(String.init).joined(separator: ", "))"
                    )
                }
                guard reasons[code] != nil else {
                    throw HubError.validation(
                        "reason_code",
                        "\(code) is not one of \(reasons.keys.sorted().map(String.init).joined(separator: ", "))")
                }
                if code == 6 && note == nil {
                    throw HubError.validation("note", "reason 6 (other) needs a note saying why")
                }
            }
            let item = try env.catalog.index(db, version: check.catalogVersion ?? "")?.item(check.itemCode)
            let record = RecognitionDecision(
                id: GeneratedID.make("dec", at: now), checkId: check.id, resultId: candidate?.resultId,
                decision: decision!, reasonCode: reasonCode, note: note, institutionId: check.institutionId,
                department: department ?? check.department, practitionerId: caller.practitionerId,
                itemCode: check.itemCode,
                category: candidate?.category ?? item?.category, price: candidate?.price ?? .zero,
                crossInstitution: candidate.map {
                    $0.institutionId != check.institutionId || $0.hubId != env.config.hubId
                } ?? false,
                createdAt: now)
            try RecognitionStore.insert(db, record)
            try AuditLog.append(
                db,
                context.audit(
                    "recognition.\(record.decision)", "recognition_check", check.id,
                    patientKey: env.patientKeys.key(for: check.patient),
                    detail: record.resultId.map { "result=\($0)" } ?? "reason=\(reasonCode!)"), at: now)
            return record
        }
    }

    @Sendable func stats(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.auditor)
        let now = env.clock()
        let offset = env.config.utcOffsetMinutes
        let to = try request.time("to", datesAt: offset) ?? now
        let from = try request.time("from", datesAt: offset) ?? to.adding(days: -30)
        let filter = StatsFilter(
            from: from, to: to, institutionId: request.query("institution_id"), department: request.query("department"),
            itemCode: request.query("item_code"), category: try request.query("category", as: ItemCategory.self))
        let stats = try await env.database.read { try RecognitionStats.compute($0, filter) }
        return try JSONIO.response(StatsAnswer(from: from, to: to, stats: stats))
    }

    struct StatsAnswer: Encodable {
        var from: Timestamp
        var to: Timestamp
        var stats: RecognitionStats

        func encode(to encoder: any Encoder) throws {
            try stats.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(from, forKey: .from)
            try container.encode(to, forKey: .to)
        }

        enum Keys: String, CodingKey { case from, to }
    }
}

extension HubEnvironment {
    /// Judges every prior result of the patient for the item (equivalent codes count as the same item) against the
    /// catalog in force now.
    func recognitionCheck(
        _ db: Database, identifiers: [PatientIdentifier], code: String, emergency: Bool, caller: Principal,
        department: String?, now: Timestamp, generation: Int
    ) throws -> (RecognitionCheck, CheckContext) {
        guard let institutionId = caller.institutionId,
            let requester = try database.institution(db, id: institutionId, generation: generation)
        else {
            throw HubError.forbidden("recognition checks are made by the clinicians of an institution")
        }
        let catalog = try catalog.inForce(db, on: today(at: now))
        let canonical = catalog?.item(code)?.code ?? code
        let results = try RecognitionStore.results(
            db, patientKeys: identifiers.map(patientKeys.key(for:)), itemCode: canonical)
        var levels: [String: InstitutionLevel] = [:]
        var candidates: [RecognitionCandidate] = []
        for result in results {
            if levels[result.institutionId] == nil {
                levels[result.institutionId] =
                    try database.institution(db, id: result.institutionId, generation: generation)?.level
            }
            candidates.append(
                RecognitionRules.evaluate(
                    result, hubId: config.hubId, catalog: catalog, requester: requester,
                    performerLevel: levels[result.institutionId], regions: RegionGroups(), now: now,
                    utcOffsetMinutes: config.utcOffsetMinutes))
        }
        let check = RecognitionCheck(
            id: GeneratedID.make("chk", at: now), institutionId: institutionId, practitionerId: caller.practitionerId,
            department: department, patient: identifiers[0], itemCode: canonical, requestedCode: code,
            emergency: emergency,
            catalogVersion: catalog?.version.version, candidates: RecognitionRules.order(candidates), createdAt: now)
        return (check, CheckContext(catalog: catalog, requester: requester, item: catalog?.item(code)))
    }
}

/// What a check was judged against, kept to judge the peers' results the same way.
struct CheckContext: Sendable {
    var catalog: CatalogIndex?
    var requester: Institution
    var item: CatalogItem?
}
