import HubConfig
import HubCore
import HubStorage
import Metrics

/// What a notice to a clinic says about an exam.
struct ExamNotice: Encodable, Sendable {
    var event: String
    var hubId: String
    var examId: String
    var accessionNumber: String
    var status: String
    var businessStatus: String
    var itemCode: String
    var priority: Priority
    var reason: String?
    var report: ReportVersion?
    var resultId: String?
    /// For an exam forwarded to a peer hub: the hub that read it, and holds the result.
    var readingHubId: String?

    enum CodingKeys: String, CodingKey {
        case event, status, priority, reason, report
        case readingHubId = "reading_hub_id"
        case hubId = "hub_id"
        case examId = "exam_id"
        case accessionNumber = "accession_number"
        case businessStatus = "business_status"
        case itemCode = "item_code"
        case resultId = "result_id"
    }
}

/// The consequences of an exam's transition, inside its transaction: critical-value notices, results, notices to
/// the clinic, and the messages to a peer hub the exam came from or went to.
public struct ExamEffects: Sendable {
    let hubId: String
    let catalog: CatalogInForce
    let patientKeys: PatientKeys
    let deliveries: Deliveries
    let routing: ExamRouting
    let forwarding: ExamForwarding
    let criticalValues: CriticalValues
    let hl7: HL7Outbound

    public init(_ env: HubEnvironment) {
        hl7 = HL7Outbound(env)
        hubId = env.config.hubId
        catalog = CatalogInForce(env)
        patientKeys = env.patientKeys
        deliveries = Deliveries(env)
        routing = ExamRouting(env)
        forwarding = ExamForwarding(env)
        criticalValues = CriticalValues(env)
    }

    /// Applies what follows from `action`, which took the exam from `before` to `after`; returns the exam as it is
    /// then (a result id, a new route).
    func effects(of action: ExamAction, before: Exam, after: Exam, _ db: any StoreWriter, now: Timestamp) throws -> Exam
    {
        var exam = after
        switch action {
        case .report(let author, _):
            let previous = Set(
                (before.step == .awaitingVerification ? before.reports.last?.criticalValues : nil)?.map(\.description)
                    ?? [])
            let new = exam.reports.last?.criticalValues.filter { !previous.contains($0.description) } ?? []
            if !new.isEmpty { try criticalValues.flag(db, exam, new, by: author, now: now) }
        case .releasePreliminary:
            try notify(db, exam, "exam.report.preliminary", report: exam.reports.last, now: now)
        case .verify:
            exam = try registerResult(db, exam, now: now)
            try notify(db, exam, "exam.report.final", report: exam.reports.last, now: now)
            if let report = exam.reports.last { try hl7.report(db, exam, report, now: now) }
            Self.recordTurnaround(exam)
        case .amend:
            exam = try registerResult(db, exam, now: now)
            try notify(
                db, exam, "exam.report.\(exam.reports.last!.status.rawValue)", report: exam.reports.last, now: now)
            if let report = exam.reports.last { try hl7.report(db, exam, report, now: now) }
        case .returnToClinic(_, let reason):
            try notify(db, exam, "exam.returned", reason: reason, now: now)
        case .resubmit:
            exam = try routing.reroute(db, exam, now: now)
        case .cancel(let reason):
            // The clinic withdrew an exam it had forwarded: the reading hub is told to stop.
            try forwarding.cancel(db, exam, reason: reason, now: now)
        case .route, .claim, .release:
            break
        }
        // An exam received from a peer hub: every change goes back to it, with the whole state.
        if exam.origin != nil {
            try forwarding.reportBack(
                db, exam, event: Self.eventName(action, exam), reason: Self.reason(action), now: now)
        }
        return exam
    }

    /// The event name a change is reported under.
    static func eventName(_ action: ExamAction, _ exam: Exam) -> String {
        switch action {
        case .route: "exam.routed"
        case .claim: "exam.claimed"
        case .release: "exam.released"
        case .report: "exam.reported"
        case .releasePreliminary: "exam.report.preliminary"
        case .verify: "exam.report.final"
        case .amend: "exam.report.\(exam.reports.last?.status.rawValue ?? "amended")"
        case .returnToClinic: "exam.returned"
        case .resubmit: "exam.resubmitted"
        case .cancel: "exam.cancelled"
        }
    }

    static func reason(_ action: ExamAction) -> String? {
        switch action {
        case .returnToClinic(_, let reason), .cancel(let reason): reason
        default: nil
        }
    }

    /// POSTs a notice about the exam to the clinic's webhook, through the outbox.
    func notify(
        _ db: any StoreWriter, _ exam: Exam, _ event: String, report: ReportVersion? = nil, reason: String? = nil,
        now: Timestamp
    ) throws {
        // The clinic of an exam received from a peer hub is that hub's: it hears through the peer's events.
        guard exam.origin == nil else { return }
        let notice = ExamNotice(
            event: event, hubId: hubId, examId: exam.id, accessionNumber: exam.accessionNumber,
            status: exam.step.taskStatus, businessStatus: exam.step.rawValue, itemCode: exam.itemCode,
            priority: exam.priority, reason: reason, report: report, resultId: exam.resultId,
            readingHubId: exam.forward?.hubId)
        try deliveries.enqueue(
            db, to: .webhook(institutionId: exam.clinicId), kind: event, subject: exam.id, body: notice, now: now)
    }

    /// Registers the current report as a result, with recognition metadata derived as of the exam date; a later
    /// version updates the same result.
    func registerResult(_ db: any StoreWriter, _ exam: Exam, now: Timestamp) throws -> Exam {
        guard let report = exam.reports.last, let centerId = exam.centerId,
            let center = try db.center(id: centerId),
            let host = try db.institution(id: center.institutionId)
        else { return exam }
        let performedOn = catalog.today(at: exam.milestones.submittedAt)
        let index = try catalog.index(db, at: exam.milestones.submittedAt)
        let item = index?.item(exam.itemCode)
        let attachments = try db.attachments(examId: exam.id).map(\.sha256)
        var result = ResultRecord(
            id: exam.resultId ?? GeneratedID.make("res", at: now), patient: exam.patient, itemCode: exam.itemCode,
            itemName: exam.itemName, category: item?.category, institutionId: host.id, centerId: center.id,
            examId: exam.id, performedAt: exam.milestones.submittedAt, reportStatus: report.status,
            reportVersion: report.version, findings: report.findings, conclusion: report.conclusion,
            values: report.values, attachments: attachments,
            recognition: ResultRecord.recognition(
                item: exam.itemCode, catalog: index, center: center, host: host, performedOn: performedOn),
            createdAt: now)
        var exam = exam
        if let id = exam.resultId, let existing = try db.result(id: id) {
            result.createdAt = existing.createdAt
            try db.update(result)
        } else {
            try db.insert(result, patientKeys: patientKeys.keys(for: exam.patient))
            exam.resultId = result.id
        }
        return exam
    }

    /// Turnaround of a verified exam, per center and priority.
    static func recordTurnaround(_ exam: Exam) {
        guard let verified = exam.milestones.verifiedAt else { return }
        let millis = verified.millisecondsSinceEpoch - exam.milestones.submittedAt.millisecondsSinceEpoch
        Metrics.Timer(
            label: "hub.exam.turnaround",
            dimensions: [("center", exam.centerId ?? "-"), ("priority", exam.priority.rawValue)],
            preferredDisplayUnit: .seconds
        ).recordMilliseconds(millis)
    }
}
