import Foundation
import HubConfig
import HubCore
import HubStorage

/// What a clinic sends to submit an exam.
public struct ExamInput: Decodable, Sendable {
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
public struct ExamView: Encodable, Sendable {
    public var exam: Exam
    public var attachments: [Attachment]

    public init(exam: Exam, attachments: [Attachment]) {
        self.exam = exam
        self.attachments = attachments
    }

    public func encode(to encoder: any Encoder) throws {
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

/// Which exams a caller lists (`GET /v1/exams`).
public struct ExamQuery: Sendable {
    public var step: ExamStep?
    public var centerId: String?
    public var patient: PatientIdentifier?
    public var limit: Int
    public var cursor: String?

    public init(step: ExamStep?, centerId: String?, patient: PatientIdentifier?, limit: Int, cursor: String?) {
        self.step = step
        self.centerId = centerId
        self.patient = patient
        self.limit = limit
        self.cursor = cursor
    }
}

/// Exams (`/v1/exams`): a clinic submits one and it is routed at once; the clinic and the reading center read it
/// back and list theirs.
public struct Exams: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let patientKeys: PatientKeys
    let routing: ExamRouting
    let access = ExamAccess()
    let clock: @Sendable () -> Timestamp
    let utcOffsetMinutes: Int

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        patientKeys = env.patientKeys
        routing = ExamRouting(env)
        clock = env.clock
        utcOffsetMinutes = env.config.utcOffsetMinutes
    }

    /// What is checked before the exam is read: a practitioner of a clinic submits it. Returns the clinic and the
    /// practitioner.
    @discardableResult
    public func authorizeSubmission(by caller: Caller) throws -> (clinicId: String, signer: Signer) {
        let principal = try caller.authenticated()
        try principal.require(.clinic)
        guard let clinicId = principal.institutionId else {
            throw HubError.forbidden("exams are submitted by the staff of an institution")
        }
        return (clinicId, try caller.signer())
    }

    /// Submits an exam: checks it against the catalog in force, gives it an accession number, routes it (or
    /// forwards it to a peer hub), and records it with its audit record. The same `Idempotency-Key` and body
    /// replay the first answer.
    public func submit(_ input: ExamInput, by caller: Caller, idempotency: Idempotency?) async throws -> Created {
        let (clinicId, signer) = try authorizeSubmission(by: caller)
        return try await database.create(idempotency: idempotency, now: clock()) { db, now in
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
            let catalog = try self.catalog.required(db, at: now)
            let item = code.flatMap { catalog.item($0) }
            if let code, item == nil { v.fail("item_code", "'\(code)' is not in the catalog in force") }
            try v.check()
            guard let clinic = try db.institution(id: clinicId) else {
                throw HubError.notFound("institution", clinicId)
            }
            var consent = input.consent!
            consent.recordedAt = consent.recordedAt ?? now
            consent.recordedBy = consent.recordedBy ?? signer.practitionerId
            var exam = Exam(
                id: GeneratedID.make("exm", at: now), clinicId: clinicId, submittedBy: signer, patient: patient!,
                itemCode: item!.code, itemName: item!.name, itemKind: item!.kind, priority: priority,
                clinicalInfo: clinicalInfo, consent: consent,
                accessionNumber: Self.accessionNumber(at: now, utcOffsetMinutes: utcOffsetMinutes),
                centerId: nil, routingNote: nil, step: .awaitingRouting, claim: nil, reports: [], returnReason: nil,
                cancelReason: nil, resultId: nil, milestones: Milestones(submittedAt: now), updatedAt: now)
            exam = try routing.route(db, exam, item: item!, clinic: clinic, requested: input.centerId, now: now)
            let keys = patientKeys.keys(for: exam.patient)
            try db.insert(exam, patientKeys: keys)
            try PatientLinker(keys: patientKeys).link(
                exam.patient, source: "exam:\(exam.id)", caller: caller, in: db, now: now)
            try db.appendAudit(
                caller.audit(
                    "exam.submit", "exam", exam.id, patientKey: keys.first,
                    detail: exam.centerId.map { "routed to \($0)" } ?? exam.routingNote), at: now)
            return ExamView(exam: exam, attachments: [])
        }
    }

    /// One exam with its attachments, for its clinic and its center; the reading is audited.
    public func exam(_ id: String, for caller: Caller) async throws -> ExamView {
        let principal = try caller.authenticated()
        let now = clock()
        return try await database.write { db in
            let exam = try access.exam(id, for: principal, db)
            try db.appendAudit(
                caller.audit("exam.read", "exam", id, patientKey: patientKeys.keys(for: exam.patient).first),
                at: now)
            return ExamView(exam: exam, attachments: try db.attachments(examId: id))
        }
    }

    /// What is checked before the query is read: exams are listed by the staff of an institution.
    @discardableResult
    public func authorizeList(by caller: Caller) throws -> String {
        guard let institutionId = try caller.authenticated().institutionId else {
            throw HubError.forbidden("exams are listed by the staff of an institution")
        }
        return institutionId
    }

    /// The exams of the caller's clinic, or of its centers for readers and verifiers; the listing is audited.
    public func list(_ query: ExamQuery, for caller: Caller) async throws -> Page<ExamView> {
        let principal = try caller.authenticated()
        let institutionId = try authorizeList(by: caller)
        let patientKeys = query.patient.map { [self.patientKeys.key(for: $0)] }
        let now = clock()
        let page = try await database.write { db in
            // The patient index's whole person: an exam filed under a linked identifier is the same patient's.
            let match = try patientKeys.map { try PatientMatch(db, patientKeys: self.patientKeys, keys: $0) }
            var clinicId: String?
            var centerIds: [String]?
            if principal.roles.contains(.clinic) && query.centerId == nil {
                clinicId = institutionId
            } else if !principal.roles.isDisjoint(with: [.reader, .verifier]) {
                let own = try db.centers(institutionId: institutionId, after: nil, limit: 500).items.map(
                    \.id)
                centerIds = query.centerId.map { own.contains($0) ? [$0] : [] } ?? own
            } else {
                throw HubError.forbidden("exams are listed by clinic staff, readers and verifiers")
            }
            var page = try db.exams(
                clinicId: clinicId, centerIds: centerIds, step: query.step, patientKeys: match?.keys,
                after: query.cursor, limit: query.limit)
            if let match { page.items = page.items.filter { match.matches($0.patient) } }
            try db.appendAudit(
                caller.audit(
                    "exam.list", "exams", institutionId, patientKey: patientKeys?.first,
                    detail: "count=\(page.items.count)"),
                at: now)
            return page
        }
        return Page(items: page.items.map { ExamView(exam: $0, attachments: []) }, next: page.next)
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
