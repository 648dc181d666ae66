import Foundation
import GRDB
import HubConfig
import HubCore
import HubStore
import HubUseCases
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

extension HubEnvironment {
    /// The consequences of a transition, inside its transaction: critical-value notices, results, outbox deliveries.
    func effects(of action: ExamAction, before: Exam, after: Exam, _ db: Database, now: Timestamp) throws -> Exam {
        var exam = after
        switch action {
        case .report(let author, _):
            let previous = Set(
                (before.step == .awaitingVerification ? before.reports.last?.criticalValues : nil)?.map(\.description)
                    ?? [])
            let new = exam.reports.last?.criticalValues.filter { !previous.contains($0.description) } ?? []
            if !new.isEmpty { try flagCriticalValues(db, exam, new, by: author, now: now) }
        case .releasePreliminary:
            try notify(db, exam, "exam.report.preliminary", report: exam.reports.last, now: now)
        case .verify:
            exam = try registerResult(db, exam, now: now)
            try notify(db, exam, "exam.report.final", report: exam.reports.last, now: now)
            recordTurnaround(exam)
        case .amend:
            exam = try registerResult(db, exam, now: now)
            try notify(
                db, exam, "exam.report.\(exam.reports.last!.status.rawValue)", report: exam.reports.last, now: now)
        case .returnToClinic(_, let reason):
            try notify(db, exam, "exam.returned", reason: reason, now: now)
        case .resubmit:
            guard let catalog = try catalog.inForce(db, on: today(at: now)), let item = catalog.item(exam.itemCode),
                let clinic = try RegistryStore.institution(db, id: exam.clinicId)
            else { break }
            exam = try route(db, exam, item: item, clinic: clinic, requested: nil, now: now)
        case .cancel(let reason):
            // The clinic withdrew an exam it had forwarded: the reading hub is told to stop.
            if let forward = exam.forward {
                try enqueue(
                    db, destination: "peer:\(forward.hubId)", kind: "exam.cancel", subject: exam.id,
                    path: "\(Self.forwardPath)/\(exam.id)/cancel", idempotencyKey: "cancel-\(exam.id)",
                    body: ["reason": reason], now: now)
            }
        case .route, .claim, .release:
            break
        }
        // An exam received from a peer hub: every change goes back to it, with the whole state.
        if exam.origin != nil {
            try reportBack(db, exam, event: Self.eventName(action, exam), reason: Self.reason(action), now: now)
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
        _ db: Database, _ exam: Exam, _ event: String, report: ReportVersion? = nil, reason: String? = nil,
        now: Timestamp
    ) throws {
        // The clinic of an exam received from a peer hub is that hub's: it hears through the peer's events.
        guard exam.origin == nil else { return }
        let notice = ExamNotice(
            event: event, hubId: config.hubId, examId: exam.id, accessionNumber: exam.accessionNumber,
            status: exam.step.taskStatus, businessStatus: exam.step.rawValue, itemCode: exam.itemCode,
            priority: exam.priority, reason: reason, report: report, resultId: exam.resultId,
            readingHubId: exam.forward?.hubId)
        try enqueue(db, destination: "webhook:\(exam.clinicId)", kind: event, subject: exam.id, body: notice, now: now)
    }

    /// Creates a critical-value notice and sends it to the clinic at once.
    func flagCriticalValues(
        _ db: Database, _ exam: Exam, _ findings: [CriticalFinding], by: Signer, now: Timestamp
    ) throws {
        let notice = CriticalValueNotice(
            id: GeneratedID.make("crv", at: now), examId: exam.id, clinicId: exam.clinicId, centerId: exam.centerId,
            patientName: exam.patient.name, itemCode: exam.itemCode, priority: exam.priority, findings: findings,
            flaggedBy: by, flaggedAt: now, ackDueAt: config.ackMinutes.due(after: now, priority: exam.priority))
        try record(notice, of: exam, actor: by.practitionerId, institutionId: by.institutionId, db, now: now)
    }

    /// Stores a critical-value notice and sends it, with its audit record: to the clinic's webhook, or for an exam
    /// received from a peer hub, to that hub (its clinic is notified, and escalated, there).
    func record(
        _ notice: CriticalValueNotice, of exam: Exam, actor: String, institutionId: String?, _ db: Database,
        now: Timestamp
    ) throws {
        var notice = notice
        if exam.origin != nil {
            try reportBack(db, exam, event: "critical_value.notice", criticalValue: notice, now: now)
        } else {
            let delivery = try enqueue(
                db, destination: "webhook:\(exam.clinicId)", kind: "critical_value.notice", subject: notice.id,
                body: CriticalNoticeMessage(
                    notice: notice, event: "critical_value.notice", accessionNumber: exam.accessionNumber),
                now: now)
            notice.deliveryId = delivery.id
        }
        try CriticalValueStore.insert(db, notice)
        try AuditLog.append(
            db,
            AuditEvent(
                actor: actor, institutionId: institutionId, action: "critical_value.flag",
                targetType: "critical_value", targetId: notice.id,
                patientKey: patientKeys.keys(for: exam.patient).first,
                // The findings are the notice's; the log carries ids and counts only.
                detail: "exam=\(exam.id) findings=\(notice.findings.count)"), at: now)
        Counter(label: "hub.critical_values.flagged").increment()
    }

    /// Registers the current report as a result, with recognition metadata derived as of the exam date; a later
    /// version updates the same result.
    func registerResult(_ db: Database, _ exam: Exam, now: Timestamp) throws -> Exam {
        guard let report = exam.reports.last, let centerId = exam.centerId,
            let center = try RegistryStore.center(db, id: centerId),
            let host = try RegistryStore.institution(db, id: center.institutionId)
        else { return exam }
        let performedOn = today(at: exam.milestones.submittedAt)
        let catalog = try catalog.inForce(db, on: performedOn)
        let item = catalog?.item(exam.itemCode)
        let attachments = try ExamStore.attachments(db, examId: exam.id).map(\.sha256)
        var result = ResultRecord(
            id: exam.resultId ?? GeneratedID.make("res", at: now), patient: exam.patient, itemCode: exam.itemCode,
            itemName: exam.itemName, category: item?.category, institutionId: host.id, centerId: center.id,
            examId: exam.id, performedAt: exam.milestones.submittedAt, reportStatus: report.status,
            reportVersion: report.version, findings: report.findings, conclusion: report.conclusion,
            values: report.values, attachments: attachments,
            recognition: ResultRecord.recognition(
                item: exam.itemCode, catalog: catalog, center: center, host: host, performedOn: performedOn),
            createdAt: now)
        var exam = exam
        if let id = exam.resultId, let existing = try ResultStore.result(db, id: id) {
            result.createdAt = existing.createdAt
            try ResultStore.update(db, result)
        } else {
            try ResultStore.insert(db, result, patientKeys: patientKeys.keys(for: exam.patient))
            exam.resultId = result.id
        }
        return exam
    }

    /// Turnaround of a verified exam, per center and priority.
    func recordTurnaround(_ exam: Exam) {
        guard let verified = exam.milestones.verifiedAt else { return }
        let millis = verified.millisecondsSinceEpoch - exam.milestones.submittedAt.millisecondsSinceEpoch
        Metrics.Timer(
            label: "hub.exam.turnaround",
            dimensions: [("center", exam.centerId ?? "-"), ("priority", exam.priority.rawValue)],
            preferredDisplayUnit: .seconds
        ).recordMilliseconds(millis)
    }
}

/// The message a clinic receives for a critical value.
struct CriticalNoticeMessage: Encodable, Sendable {
    var notice: CriticalValueNotice
    var event: String
    var accessionNumber: String

    func encode(to encoder: any Encoder) throws {
        try notice.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(event, forKey: .event)
        try container.encode(accessionNumber, forKey: .accessionNumber)
    }

    enum Keys: String, CodingKey {
        case event
        case accessionNumber = "accession_number"
    }
}
