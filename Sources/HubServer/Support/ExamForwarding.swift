import Foundation
import GRDB
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Metrics

/// The clinic of a forwarded exam, as the reading hub needs it for its routing rules.
struct ForwardedClinic: Codable, Sendable, Equatable {
    var id: String
    var name: String
    var level: InstitutionLevel
    var region: String
    var alliances: [String]
}

/// What the submitting hub sends a peer to have an exam read at one of its centers
/// (`POST /federation/v1/exams`). The patient's consent travels with it and is checked by the receiver.
struct ForwardedExam: Codable, Sendable, Equatable {
    var originExamId: String
    var accessionNumber: String
    var clinic: ForwardedClinic
    var submittedBy: Signer
    var patient: Patient
    var itemCode: String
    var priority: Priority
    var clinicalInfo: String?
    var consent: Consent
    var centerId: String
    var submittedAt: Timestamp

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
struct ForwardedExamEvent: Codable, Sendable, Equatable {
    var event: String
    var remoteExamId: String
    var revision: Int
    var step: ExamStep
    var centerId: String?
    var reports: [ReportVersion]
    var resultId: String?
    var returnReason: String?
    var cancelReason: String?
    var milestones: Milestones
    var reason: String?
    var criticalValue: CriticalValueNotice?

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

extension HubEnvironment {
    static let forwardPath = "/federation/v1/exams"

    /// The peer center an exam with no fitting local center goes to: active peers that serve the center's kind,
    /// centers offering the item, the shortest turnaround target for the exam's priority first.
    func forwardTarget(_ db: Database, item: CatalogItem, priority: Priority) throws -> RemoteCenter? {
        let peers = Dictionary(uniqueKeysWithValues: try PeerStore.peers(db).map { ($0.id, $0) })
        return try PeerStore.remoteCenters(db, item: item.code)
            .filter { center in
                guard let peer = peers[center.hubId], peer.status == .active else { return false }
                return peer.serves.contains(center.kind.rawValue)
            }
            .min { a, b in
                let ta = a.turnaroundMinutes[priority] ?? Int.max
                let tb = b.turnaroundMinutes[priority] ?? Int.max
                return ta != tb ? ta < tb : (a.hubId, a.centerId) < (b.hubId, b.centerId)
            }
    }

    /// Forwards an exam to a peer's center through the outbox, in the caller's transaction: the exam counts as
    /// routed there, and the peer's answers (status, report) come back as events. Attachments already stored follow.
    func forward(
        _ db: Database, _ exam: Exam, to center: RemoteCenter, clinic: Institution, now: Timestamp
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
        try enqueue(
            db, destination: "peer:\(center.hubId)", kind: "exam.forward", subject: exam.id, path: Self.forwardPath,
            idempotencyKey: "forward-\(exam.id)-r\(next.revision)", body: message, now: now)
        for attachment in try ExamStore.attachments(db, examId: exam.id) {
            try forwardAttachment(db, attachment, to: center.hubId, now: now)
        }
        Counter(label: "hub.federation.exams_forwarded", dimensions: [("peer", center.hubId)]).increment()
        return next
    }

    /// Sends a stored attachment of a forwarded exam to the reading hub, from the blob store (or the
    /// database, for a small DICOM instance).
    func forwardAttachment(_ db: Database, _ attachment: Attachment, to hubId: String, now: Timestamp) throws {
        let key = "attach-\(hubId)-\(attachment.examId)-\(attachment.sha256)"
        // Sent once to each hub: a forward after a return to the same hub finds it already sent (the reading hub
        // keeps its attachments); another hub gets its own copy.
        guard try !OutboxStore.exists(db, idempotencyKey: key) else { return }
        try OutboxStore.enqueue(
            db, destination: "peer:\(hubId)", kind: "exam.attachment", subject: attachment.examId, method: "PUT",
            path: "\(Self.forwardPath)/\(attachment.examId)/attachments/\(attachment.sha256)",
            contentType: attachment.mediaType, body: Data(), bodyFile: attachment.sha256,
            idempotencyKey: key, policy: config.retryPolicy, now: now,
            signal: outbox)
    }

    /// At the reading hub: tells the submitting hub about a change of an exam it forwarded.
    func reportBack(
        _ db: Database, _ exam: Exam, event: String, reason: String? = nil, criticalValue: CriticalValueNotice? = nil,
        now: Timestamp
    ) throws {
        guard let origin = exam.origin else { return }
        let message = ForwardedExamEvent(
            event: event, remoteExamId: exam.id, revision: exam.revision, step: exam.step, centerId: exam.centerId,
            reports: exam.reports, resultId: exam.resultId, returnReason: exam.returnReason,
            cancelReason: exam.cancelReason, milestones: exam.milestones, reason: reason, criticalValue: criticalValue)
        let suffix = criticalValue.map { "-\($0.id)" } ?? ""
        try enqueue(
            db, destination: "peer:\(origin.hubId)", kind: event, subject: exam.id,
            path: "\(Self.forwardPath)/\(origin.examId)/events",
            idempotencyKey: "event-\(exam.id)-r\(exam.revision)\(suffix)", body: message, now: now)
    }

    /// At the reading hub: takes an exam forwarded by `peer`, or finds the one a retried forward created before.
    /// Returns the exam and whether it was created now.
    func receiveForwarded(
        _ db: Database, _ message: ForwardedExam, from peer: Peer, now: Timestamp
    ) throws -> (Exam, Bool) {
        if var existing = try ExamStore.exam(db, originHub: peer.id, originExamId: message.originExamId) {
            // A retried forward: nothing new. A forward after the exam was returned: the clinic resubmitted it.
            guard existing.step == .returned else { return (existing, false) }
            guard try RegistryStore.center(db, id: message.centerId) != nil else {
                throw HubError.validation("center_id", "center '\(message.centerId)' is not a center of this hub")
            }
            existing = try ExamWorkflow.apply(.resubmit, to: existing, at: now)
            existing = try ExamWorkflow.apply(.route(centerId: message.centerId), to: existing, at: now)
            try ExamStore.update(db, existing)
            try reportBack(db, existing, event: "exam.received", now: now)
            return (existing, false)
        }
        var v = Validator()
        message.patient.validate(&v)
        if !message.consent.given {
            v.fail("consent.given", "the patient's consent to remote reading is required")
        }
        if message.consent.recordedAt == nil { v.fail("consent.recorded_at", "the consent must say when it was given") }
        if RegionCode(message.clinic.region) == nil { v.fail("clinic.region", RegionCode.rule) }
        _ = v.text(message.clinicalInfo, "clinical_info", required: false, maxLength: 5000, multiline: true)
        try v.check()
        guard let catalog = try catalog.inForce(db, on: today(at: now)), let item = catalog.item(message.itemCode)
        else {
            throw HubError.validation("item_code", "'\(message.itemCode)' is not in this hub's catalog in force")
        }
        guard let center = try RegistryStore.center(db, id: message.centerId),
            let host = try RegistryStore.institution(db, id: center.institutionId)
        else {
            throw HubError.validation("center_id", "center '\(message.centerId)' is not a center of this hub")
        }
        let clinic = Institution(
            id: message.clinic.id, name: message.clinic.name, level: message.clinic.level,
            region: RegionCode(message.clinic.region)!, alliances: message.clinic.alliances, createdAt: now,
            updatedAt: now)
        let load = try ExamStore.openWork(db, centerIds: [center.id])
        let candidate = RoutingCandidate(center: center, host: host, openWork: load[center.id] ?? 0)
        if let reason = Routing.refusal(
            candidate, item: item, clinic: clinic, on: today(at: now), requireAlliance: false)
        {
            throw HubError.validation("center_id", reason)
        }
        // The submitting hub's accession number names the study in its modality worklist; keep it unless it is
        // already taken here.
        var accession = message.accessionNumber
        if try ExamStore.exam(db, accessionNumber: accession) != nil {
            accession = ExamController.accessionNumber(at: now, utcOffsetMinutes: config.utcOffsetMinutes)
        }
        var exam = Exam(
            id: GeneratedID.make("exm", at: now), clinicId: "\(peer.id)/\(message.clinic.id)",
            submittedBy: message.submittedBy, patient: message.patient, itemCode: item.code, itemName: item.name,
            itemKind: item.kind, priority: message.priority, clinicalInfo: message.clinicalInfo,
            consent: message.consent, accessionNumber: accession, milestones: Milestones(submittedAt: now),
            updatedAt: now,
            origin: ExamOrigin(
                hubId: peer.id, examId: message.originExamId, clinicId: message.clinic.id,
                clinicName: message.clinic.name))
        exam = try ExamWorkflow.apply(.route(centerId: center.id), to: exam, at: now)
        try ExamStore.insert(db, exam, patientKeys: patientKeys.keys(for: exam.patient))
        try reportBack(db, exam, event: "exam.received", now: now)
        Counter(label: "hub.federation.exams_received", dimensions: [("peer", peer.id)]).increment()
        return (exam, true)
    }

    /// At the submitting hub: applies what the reading hub says about a forwarded exam. Events may arrive out of
    /// order or twice; only a newer revision changes anything. Returns nil when the event was already applied.
    func applyForwardedEvent(
        _ db: Database, examId: String, _ event: ForwardedExamEvent, from peer: Peer, now: Timestamp
    ) throws -> Exam? {
        guard var exam = try ExamStore.exam(db, id: examId), var forward = exam.forward, forward.hubId == peer.id
        else {
            throw HubError.notFound("forwarded exam", examId)
        }
        if let notice = event.criticalValue { try mirrorCriticalValue(db, notice, exam: exam, from: peer, now: now) }
        guard event.revision > forward.remoteRevision else { return nil }
        // Withdrawn here: the clinic no longer wants it, whatever the reading hub still does.
        if exam.step == .cancelled {
            forward.remoteRevision = event.revision
            exam.forward = forward
            try ExamStore.update(db, exam)
            return nil
        }
        forward.remoteRevision = event.revision
        forward.remoteExamId = event.remoteExamId
        exam.forward = forward
        exam.step = event.step
        exam.reports = event.reports
        exam.resultId = event.resultId
        exam.returnReason = event.returnReason
        exam.cancelReason = event.cancelReason
        exam.claim = nil
        exam.milestones.routedAt = exam.milestones.routedAt ?? event.milestones.routedAt
        exam.milestones.firstClaimedAt = event.milestones.firstClaimedAt
        exam.milestones.reportedAt = event.milestones.reportedAt
        exam.milestones.verifiedAt = event.milestones.verifiedAt
        exam.updatedAt = now
        exam.revision += 1
        try ExamStore.update(db, exam)
        if Self.clinicEvents.contains(event.event) {
            try notify(
                db, exam, event.event, report: event.event.hasPrefix("exam.report") ? exam.reports.last : nil,
                reason: event.reason, now: now)
        }
        if event.event == "exam.report.final" { recordTurnaround(exam) }
        return exam
    }

    /// Events of a forwarded exam the clinic is told about, as it would be for an exam read here.
    static let clinicEvents: Set<String> = [
        "exam.report.preliminary", "exam.report.final", "exam.report.amended", "exam.report.corrected",
        "exam.returned",
    ]

    /// A critical value flagged at the reading hub becomes a notice here, sent to the clinic at once and escalated
    /// here when nobody acknowledges it; the acknowledgement goes back to the reading hub.
    func mirrorCriticalValue(
        _ db: Database, _ remote: CriticalValueNotice, exam: Exam, from peer: Peer, now: Timestamp
    ) throws {
        guard try CriticalValueStore.notice(db, id: remote.id) == nil else { return }
        let notice = CriticalValueNotice(
            id: remote.id, examId: exam.id, clinicId: exam.clinicId, centerId: remote.centerId,
            patientName: exam.patient.name, itemCode: exam.itemCode, priority: exam.priority,
            findings: remote.findings, flaggedBy: remote.flaggedBy, flaggedAt: remote.flaggedAt,
            ackDueAt: config.ackMinutes.due(after: now, priority: exam.priority))
        try record(notice, of: exam, actor: "peer:\(peer.id)", institutionId: exam.clinicId, db, now: now)
    }
}
