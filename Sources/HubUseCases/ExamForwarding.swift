import Foundation
import HubCore
import HubStorage
import Metrics

/// The clinic of a forwarded exam, as the reading hub needs it for its routing rules.
public struct ForwardedClinic: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var level: InstitutionLevel
    public var region: String
    public var alliances: [String]
}

/// What the submitting hub sends a peer to have an exam read at one of its centers
/// (`POST /federation/v1/exams`). The patient's consent travels with it and is checked by the receiver.
public struct ForwardedExam: Codable, Sendable, Equatable {
    public var originExamId: String
    public var accessionNumber: String
    public var clinic: ForwardedClinic
    public var submittedBy: Signer
    public var patient: Patient
    public var itemCode: String
    public var priority: Priority
    public var clinicalInfo: String?
    public var consent: Consent
    public var centerId: String
    public var submittedAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case clinic, patient, priority, consent
        case originExamId = "origin_exam_id"
        case accessionNumber = "accession_number"
        case submittedBy = "submitted_by"
        case itemCode = "item_code"
        case clinicalInfo = "clinical_info"
        case centerId = "center_id"
        case submittedAt = "submitted_at"
    }
}

/// A change of a forwarded exam, sent back by the reading hub (`POST /federation/v1/exams/{id}/events`, where the
/// id is the submitting hub's exam id). Carries the whole current state, so applying the latest revision is enough.
public struct ForwardedExamEvent: Codable, Sendable, Equatable {
    public var event: String
    public var remoteExamId: String
    public var revision: Int
    public var step: ExamStep
    public var centerId: String?
    public var reports: [ReportVersion]
    public var resultId: String?
    public var returnReason: String?
    public var cancelReason: String?
    public var milestones: Milestones
    public var reason: String?
    public var criticalValue: CriticalValueNotice?

    enum CodingKeys: String, CodingKey {
        case event, revision, step, reports, milestones, reason
        case remoteExamId = "remote_exam_id"
        case centerId = "center_id"
        case resultId = "result_id"
        case returnReason = "return_reason"
        case cancelReason = "cancel_reason"
        case criticalValue = "critical_value"
    }
}

/// What travels between the submitting hub and the reading hub of a forwarded exam, through the outbox and inside
/// the caller's transaction: the exam and its attachments one way, its changes the other.
public struct ExamForwarding: Sendable {
    /// Where a peer receives forwarded exams.
    static let path = "/federation/v1/exams"

    let deliveries: Deliveries

    public init(_ env: HubEnvironment) {
        deliveries = Deliveries(env)
    }

    /// Forwards an exam to a peer's center: the exam counts as routed there, and the peer's answers (status,
    /// report) come back as events. Attachments already stored follow.
    func forward(
        _ db: any StoreWriter, _ exam: Exam, to center: RemoteCenter, clinic: Institution, now: Timestamp
    ) throws -> Exam {
        var next = try ExamWorkflow.apply(.route(centerId: center.centerId), to: exam, at: now)
        next.forward = ExamForward(hubId: center.hubId, centerId: center.centerId, forwardedAt: now)
        next.routingNote = "forwarded to \(center.name) at \(center.hubId)"
        let message = ForwardedExam(
            originExamId: exam.id, accessionNumber: exam.accessionNumber,
            clinic: ForwardedClinic(
                id: clinic.id, name: clinic.name, level: clinic.level, region: clinic.region.value,
                alliances: clinic.alliances),
            submittedBy: exam.submittedBy, patient: exam.patient, itemCode: exam.itemCode, priority: exam.priority,
            clinicalInfo: exam.clinicalInfo, consent: exam.consent, centerId: center.centerId,
            submittedAt: exam.milestones.submittedAt)
        try deliveries.enqueue(
            db, to: .peer(hubId: center.hubId), kind: "exam.forward", subject: exam.id, path: Self.path,
            idempotencyKey: "forward-\(exam.id)-r\(next.revision)", body: message, now: now)
        for attachment in try db.attachments(examId: exam.id) {
            try forwardAttachment(db, attachment, to: center.hubId, now: now)
        }
        Counter(label: "hub.federation.exams_forwarded", dimensions: [("peer", center.hubId)]).increment()
        return next
    }

    /// Sends a stored attachment of a forwarded exam to the reading hub, from the blob store (or the
    /// database, for a small DICOM instance).
    func forwardAttachment(_ db: any StoreWriter, _ attachment: Attachment, to hubId: String, now: Timestamp) throws {
        let key = "attach-\(hubId)-\(attachment.examId)-\(attachment.sha256)"
        // Sent once to each hub: a forward after a return to the same hub finds it already sent (the reading hub
        // keeps its attachments); another hub gets its own copy.
        guard try !db.deliveryExists(idempotencyKey: key) else { return }
        try db.enqueue(
            destination: Destination.peer(hubId: hubId).description, kind: "exam.attachment",
            subject: attachment.examId, method: "PUT",
            path: "\(Self.path)/\(attachment.examId)/attachments/\(attachment.sha256)",
            contentType: attachment.mediaType, body: Data(), bodyFile: attachment.sha256,
            idempotencyKey: key, policy: deliveries.policy, now: now,
            signal: deliveries.signal)
    }

    /// At the reading hub: tells the submitting hub about a change of an exam it forwarded.
    func reportBack(
        _ db: any StoreWriter, _ exam: Exam, event: String, reason: String? = nil,
        criticalValue: CriticalValueNotice? = nil,
        now: Timestamp
    ) throws {
        guard let origin = exam.origin else { return }
        let message = ForwardedExamEvent(
            event: event, remoteExamId: exam.id, revision: exam.revision, step: exam.step, centerId: exam.centerId,
            reports: exam.reports, resultId: exam.resultId, returnReason: exam.returnReason,
            cancelReason: exam.cancelReason, milestones: exam.milestones, reason: reason, criticalValue: criticalValue)
        let suffix = criticalValue.map { "-\($0.id)" } ?? ""
        try deliveries.enqueue(
            db, to: .peer(hubId: origin.hubId), kind: event, subject: exam.id,
            path: "\(Self.path)/\(origin.examId)/events",
            idempotencyKey: "event-\(exam.id)-r\(exam.revision)\(suffix)", body: message, now: now)
    }

    /// Tells the reading hub of a forwarded exam that the clinic withdrew it.
    func cancel(_ db: any StoreWriter, _ exam: Exam, reason: String, now: Timestamp) throws {
        guard let forward = exam.forward else { return }
        try deliveries.enqueue(
            db, to: .peer(hubId: forward.hubId), kind: "exam.cancel", subject: exam.id,
            path: "\(Self.path)/\(exam.id)/cancel", idempotencyKey: "cancel-\(exam.id)",
            body: ["reason": reason], now: now)
    }

    /// Tells the reading hub of a forwarded exam that the clinic acknowledged a critical value flagged there.
    func acknowledge(_ db: any StoreWriter, _ notice: CriticalValueNotice, of exam: Exam?, now: Timestamp) throws {
        guard let forward = exam?.forward else { return }
        try deliveries.enqueue(
            db, to: .peer(hubId: forward.hubId), kind: "critical_value.ack", subject: notice.id,
            path: "/federation/v1/critical-values/\(notice.id)/ack", idempotencyKey: "ack-\(notice.id)",
            body: notice.acknowledgement, now: now)
    }
}
