import Foundation
import GRDB
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Hummingbird

/// What a clinic sends to submit an exam.
struct ExamInput: Decodable, Sendable {
    var patient: Patient?
    var itemCode: String?
    var priority: Priority?
    var clinicalInfo: String?
    var consent: Consent?
    var centerId: String?

    enum CodingKeys: String, CodingKey {
        case patient, priority, consent
        case itemCode = "item_code"
        case clinicalInfo = "clinical_info"
        case centerId = "center_id"
    }
}

/// An exam as clients see it: the record, its FHIR Task status, and its attachments.
struct ExamView: Encodable, Sendable {
    var exam: Exam
    var attachments: [Attachment]

    func encode(to encoder: any Encoder) throws {
        try exam.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(exam.step.taskStatus, forKey: .status)
        try container.encode(exam.step.rawValue, forKey: .businessStatus)
        try container.encode(attachments, forKey: .attachments)
    }

    enum Keys: String, CodingKey {
        case status, attachments
        case businessStatus = "business_status"
    }
}

/// Which side of the exam the caller is on.
enum ExamSide {
    case clinic, center
}

/// `/v1/exams`: submission, reading back, and listing.
struct ExamController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/exams", submit)
        routes.add(.get, "/v1/exams", list)
        routes.add(.get, "/v1/exams/{id}", show)
    }

    @Sendable func submit(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinic)
        guard let clinicId = caller.institutionId else {
            throw HubError.forbidden("exams are submitted by the staff of an institution")
        }
        let signer = try env.signer(caller)
        let (input, body) = try await JSONIO.decode(ExamInput.self, from: request, limit: env.config.maxBodyBytes)
        return try await env.create(request, context, body: body) { db, now in
            var v = Validator()
            let patient = v.require(input.patient, "patient")
            patient?.validate(&v)
            let code = v.text(input.itemCode, "item_code", maxLength: 64)
            let priority = input.priority ?? .routine
            let clinicalInfo = v.text(
                input.clinicalInfo, "clinical_info", required: false, maxLength: 5000, multiline: true)
            if let consent = input.consent {
                if !consent.given { v.fail("consent.given", "the patient's consent to remote reading is required") }
            } else {
                v.fail("consent", "the patient's consent to remote reading must be recorded")
            }
            let today = env.today(at: now)
            guard let catalog = try env.catalog.inForce(db, on: today) else {
                throw HubError.conflict("no recognition catalog is in force")
            }
            let item = code.flatMap { catalog.item($0) }
            if let code, item == nil { v.fail("item_code", "'\(code)' is not in the catalog in force") }
            try v.check()
            guard let clinic = try RegistryStore.institution(db, id: clinicId) else {
                throw HubError.notFound("institution", clinicId)
            }
            var consent = input.consent!
            consent.recordedAt = consent.recordedAt ?? now
            consent.recordedBy = consent.recordedBy ?? signer.practitionerId
            var exam = Exam(
                id: GeneratedID.make("exm", at: now), clinicId: clinicId, submittedBy: signer, patient: patient!,
                itemCode: item!.code, itemName: item!.name, itemKind: item!.kind, priority: priority,
                clinicalInfo: clinicalInfo, consent: consent,
                accessionNumber: Self.accessionNumber(at: now, utcOffsetMinutes: env.config.utcOffsetMinutes),
                centerId: nil, routingNote: nil, step: .awaitingRouting, claim: nil, reports: [], returnReason: nil,
                cancelReason: nil, resultId: nil, milestones: Milestones(submittedAt: now), updatedAt: now)
            exam = try env.route(db, exam, item: item!, clinic: clinic, requested: input.centerId, now: now)
            let keys = env.patientKeys.keys(for: exam.patient)
            try ExamStore.insert(db, exam, patientKeys: keys)
            try AuditLog.append(
                db,
                context.audit(
                    "exam.submit", "exam", exam.id, patientKey: keys.first,
                    detail: exam.centerId.map { "routed to \($0)" } ?? exam.routingNote), at: now)
            return ExamView(exam: exam, attachments: [])
        }
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let caller = try context.authenticated()
        let now = env.clock()
        let view = try await env.database.write { db in
            guard let exam = try ExamStore.exam(db, id: id) else { throw HubError.notFound("exam", id) }
            _ = try env.side(of: caller, for: exam, db)
            try AuditLog.append(
                db, context.audit("exam.read", "exam", id, patientKey: env.patientKeys.keys(for: exam.patient).first),
                at: now)
            return ExamView(exam: exam, attachments: try ExamStore.attachments(db, examId: id))
        }
        return try JSONIO.response(view)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        guard let institutionId = caller.institutionId else {
            throw HubError.forbidden("exams are listed by the staff of an institution")
        }
        let step = try request.query("status", as: ExamStep.self)
        let centerFilter = request.query("center_id")
        var patientFilter: [String]?
        if let patient = request.query("patient") {
            guard let identifier = PatientIdentifier(query: patient) else {
                throw HubError.validation("patient", "use system|value, or a bare resident ID")
            }
            patientFilter = [env.patientKeys.key(for: identifier)]
        }
        let patientKeys = patientFilter
        let limit = try request.limit()
        let cursor = request.cursor
        let now = env.clock()
        let page = try await env.database.write { db in
            var clinicId: String?
            var centerIds: [String]?
            if caller.roles.contains(.clinic) && centerFilter == nil {
                clinicId = institutionId
            } else if !caller.roles.isDisjoint(with: [.reader, .verifier]) {
                let own = try RegistryStore.centers(db, institutionId: institutionId, after: nil, limit: 500).items.map(
                    \.id)
                centerIds = centerFilter.map { own.contains($0) ? [$0] : [] } ?? own
            } else {
                throw HubError.forbidden("exams are listed by clinic staff, readers and verifiers")
            }
            let page = try ExamStore.exams(
                db, clinicId: clinicId, centerIds: centerIds, step: step, patientKeys: patientKeys, after: cursor,
                limit: limit)
            try AuditLog.append(
                db,
                context.audit(
                    "exam.list", "exams", institutionId, patientKey: patientKeys?.first,
                    detail: "count=\(page.items.count)"),
                at: now)
            return page
        }
        return try JSONIO.response(
            ListResponse(Page(items: page.items.map { ExamView(exam: $0, attachments: []) }, next: page.next)))
    }

    /// A DICOM Accession Number (SH, at most 16 characters): `A`, the date, and 8 random characters.
    /// The date is the hub's civil date (`hub.utc_offset_minutes`).
    static func accessionNumber(at now: Timestamp, utcOffsetMinutes: Int) -> String {
        let date = now.civilDate(utcOffsetMinutes: utcOffsetMinutes)
        let id = GeneratedID.make("x", at: now)
        let compact = String(date.year % 100) + String(format: "%02d%02d", date.month, date.day)
        return "A" + compact + id.suffix(8).uppercased()
    }
}

extension HubEnvironment {
    /// The caller as a signer; only practitioners sign clinical work.
    func signer(_ principal: Principal) throws -> Signer {
        guard let id = principal.practitionerId else {
            throw HubError.forbidden("clinical work is done by a practitioner's token, not a service token")
        }
        return Signer(
            practitionerId: id, name: principal.name, title: principal.title, institutionId: principal.institutionId)
    }

    /// Whether the caller sees the exam as its clinic or as staff of its center; neither is a 403. Staff who are
    /// both (a hospital that submits to a center it hosts) are on the side `preferred` asks for.
    func side(
        of principal: Principal, for exam: Exam, _ db: Database, preferring preferred: ExamSide = .clinic
    ) throws
        -> ExamSide
    {
        let clinic = principal.institutionId == exam.clinicId && principal.roles.contains(.clinic)
        var center = false
        if let centerId = exam.centerId, !principal.roles.isDisjoint(with: [.reader, .verifier]),
            let host = try RegistryStore.center(db, id: centerId), host.institutionId == principal.institutionId
        {
            center = true
        }
        switch (clinic, center) {
        case (true, true): return preferred
        case (true, false): return .clinic
        case (false, true): return .center
        case (false, false):
            throw HubError.forbidden("only the submitting clinic and the reading center may see this exam")
        }
    }

    /// Routes an exam: to the named center when it fits (a peer hub's center: forwarded there), otherwise to the
    /// least-loaded fitting center of the clinic's alliances, otherwise to a peer hub's center that offers the item;
    /// with none, the exam waits with the reason.
    func route(
        _ db: Database, _ exam: Exam, item: CatalogItem, clinic: Institution, requested: String?, now: Timestamp
    ) throws -> Exam {
        let today = self.today(at: now)
        if let requested {
            if try RegistryStore.center(db, id: requested) == nil,
                let remote = try PeerStore.remoteCenter(db, centerId: requested)
            {
                // A peer hub's center, as its directory lists it: the exam is forwarded there.
                guard remote.items.contains(item.code) else {
                    throw HubError.validation(
                        "center_id", "\(remote.hubId)'s center '\(requested)' does not offer \(item.code)")
                }
                return try forward(db, exam, to: remote, clinic: clinic, now: now)
            }
            guard let center = try RegistryStore.center(db, id: requested),
                let host = try RegistryStore.institution(db, id: center.institutionId)
            else {
                throw HubError.validation("center_id", "center '\(requested)' does not exist")
            }
            let load = try ExamStore.openWork(db, centerIds: [center.id])
            let candidate = RoutingCandidate(center: center, host: host, openWork: load[center.id] ?? 0)
            if let reason = Routing.refusal(candidate, item: item, clinic: clinic, on: today, requireAlliance: false) {
                throw HubError.validation("center_id", reason)
            }
            return try ExamWorkflow.apply(.route(centerId: center.id), to: exam, at: now)
        }
        let offering = try RegistryStore.centers(db, kind: nil, item: item.code, after: nil, limit: 500).items
        let load = try ExamStore.openWork(db, centerIds: offering.map(\.id))
        var candidates: [RoutingCandidate] = []
        for center in offering {
            if let host = try RegistryStore.institution(db, id: center.institutionId) {
                candidates.append(RoutingCandidate(center: center, host: host, openWork: load[center.id] ?? 0))
            }
        }
        switch Routing.choose(item: item, clinic: clinic, candidates: candidates, on: today) {
        case .success(let center):
            return try ExamWorkflow.apply(.route(centerId: center.id), to: exam, at: now)
        case .failure(let failure):
            // No local center fits: a peer hub's center that offers the item reads it instead.
            if let remote = try forwardTarget(db, item: item, priority: exam.priority) {
                return try forward(db, exam, to: remote, clinic: clinic, now: now)
            }
            var waiting = exam
            waiting.routingNote = failure.reason
            return waiting
        }
    }
}
