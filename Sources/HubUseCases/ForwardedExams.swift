import HubConfig
import HubCore
import HubStorage
import Metrics

/// What the reading hub answers when it receives (or is told to cancel) a forwarded exam.
public struct ForwardedExamReceipt: Encodable, Sendable {
    var examId: String
    var step: ExamStep
    var accessionNumber: String
    var centerId: String?

    init(_ exam: Exam) {
        examId = exam.id
        step = exam.step
        accessionNumber = exam.accessionNumber
        centerId = exam.centerId
    }

    enum CodingKeys: String, CodingKey {
        case step
        case examId = "exam_id"
        case accessionNumber = "accession_number"
        case centerId = "center_id"
    }
}

/// Exams read at a peer hub (`/federation/v1/exams`, `/federation/v1/critical-values`): at the reading hub, the
/// exams, attachments and cancellations the submitting hub sends; at the submitting hub, the reading hub's events
/// and critical values; and the clinic's acknowledgements back to where the value was flagged. The calling peer is
/// already verified; every step is audited under its name.
public struct ForwardedExams: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let patientKeys: PatientKeys
    let forwarding: ExamForwarding
    let effects: ExamEffects
    let criticalValues: CriticalValues
    let attachments: Attachments
    let clock: @Sendable () -> Timestamp
    let utcOffsetMinutes: Int

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        patientKeys = env.patientKeys
        forwarding = ExamForwarding(env)
        effects = ExamEffects(env)
        criticalValues = CriticalValues(env)
        attachments = Attachments(env)
        clock = env.clock
        utcOffsetMinutes = env.config.utcOffsetMinutes
    }

    /// An audit event of the calling peer, from the request's address and id.
    private func audit(
        _ peer: Peer, _ caller: Caller, _ action: String, _ targetType: String, _ targetId: String,
        patientKey: String? = nil, detail: String?
    ) -> AuditEvent {
        AuditEvent(
            actor: "peer:\(peer.id)", institutionId: nil, action: action, targetType: targetType, targetId: targetId,
            patientKey: patientKey, remoteAddress: caller.remoteAddress, requestId: caller.requestId, detail: detail)
    }

    /// The exam of `peer` with its own id `originExamId`; a 425 while its forward has not arrived (the sender
    /// retries).
    private func received(_ db: any StoreReader, _ originExamId: String, from peer: Peer) throws -> Exam {
        guard let exam = try db.exam(originHub: peer.id, originExamId: originExamId) else {
            throw HubError(
                code: "too_early", kind: .notYet, title: "Exam not received yet",
                detail: "exam \(originExamId) from \(peer.id) has not arrived here yet")
        }
        return exam
    }

    /// At the reading hub: an exam `peer` forwards to be read at one of this hub's centers (`requestId` is the
    /// peer's id of the request). A retried forward finds the exam the first one created instead of creating
    /// another; `created` says which.
    public func receive(
        _ message: ForwardedExam, from peer: Peer, requestId: String, by caller: Caller
    ) async throws -> (ForwardedExamReceipt, created: Bool) {
        let now = clock()
        return try await database.write { db in
            let (exam, created) = try take(db, message, from: peer, caller: caller, now: now)
            try db.appendAudit(
                audit(
                    peer, caller, created ? "federation.exam.receive" : "federation.exam.receive.repeat", "exam",
                    exam.id, patientKey: patientKeys.keys(for: exam.patient).first,
                    detail: "origin exam \(message.originExamId) request \(requestId) center \(message.centerId)"),
                at: now)
            return (ForwardedExamReceipt(exam), created)
        }
    }

    /// Takes an exam forwarded by `peer`, or finds the one a retried forward created before.
    private func take(
        _ db: any StoreWriter, _ message: ForwardedExam, from peer: Peer, caller: Caller, now: Timestamp
    ) throws -> (Exam, Bool) {
        if var existing = try db.exam(originHub: peer.id, originExamId: message.originExamId) {
            // A retried forward: nothing new. A forward after the exam was returned: the clinic resubmitted it.
            guard existing.step == .returned else { return (existing, false) }
            guard try db.center(id: message.centerId) != nil else {
                throw HubError.validation("center_id", "center '\(message.centerId)' is not a center of this hub")
            }
            existing = try ExamWorkflow.apply(.resubmit, to: existing, at: now)
            existing = try ExamWorkflow.apply(.route(centerId: message.centerId), to: existing, at: now)
            try db.update(existing)
            try forwarding.reportBack(db, existing, event: "exam.received", now: now)
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
        guard let catalog = try catalog.index(db, at: now), let item = catalog.item(message.itemCode) else {
            throw HubError.validation("item_code", "'\(message.itemCode)' is not in this hub's catalog in force")
        }
        guard let center = try db.center(id: message.centerId),
            let host = try db.institution(id: center.institutionId)
        else {
            throw HubError.validation("center_id", "center '\(message.centerId)' is not a center of this hub")
        }
        let clinic = Institution(
            id: message.clinic.id, name: message.clinic.name, level: message.clinic.level,
            region: RegionCode(message.clinic.region)!, alliances: message.clinic.alliances, createdAt: now,
            updatedAt: now)
        let load = try db.openWork(centerIds: [center.id])
        let candidate = RoutingCandidate(center: center, host: host, openWork: load[center.id] ?? 0)
        if let reason = Routing.refusal(
            candidate, item: item, clinic: clinic, on: self.catalog.today(at: now), requireAlliance: false)
        {
            throw HubError.validation("center_id", reason)
        }
        // The submitting hub's accession number names the study in its modality worklist; keep it unless it is
        // already taken here.
        var accession = message.accessionNumber
        if try db.exam(accessionNumber: accession) != nil {
            accession = Exams.accessionNumber(at: now, utcOffsetMinutes: utcOffsetMinutes)
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
        try db.insert(exam, patientKeys: patientKeys.keys(for: exam.patient))
        try PatientLinker(keys: patientKeys).link(
            exam.patient, source: "exam:\(exam.id)", caller: caller, in: db, now: now)
        try forwarding.reportBack(db, exam, event: "exam.received", now: now)
        Counter(label: "hub.federation.exams_received", dimensions: [("peer", peer.id)]).increment()
        return (exam, true)
    }

    /// At the reading hub: an attachment of a forwarded exam, streamed from the submitting hub, whose bytes must
    /// hash to `sha256` (the peer signed for it).
    public func receiveAttachment<Chunk: Collection<UInt8>>(
        originExamId: String, sha256: String, mediaType: String, body: some AsyncSequence<Chunk, any Error>,
        from peer: Peer, by caller: Caller
    ) async throws -> (Attachment, created: Bool) {
        guard let kind = Attachments.kinds[mediaType] else {
            throw HubError.unsupportedMediaType("'\(mediaType)' is not an attachment type")
        }
        let exam = try await database.read { db in try received(db, originExamId, from: peer) }
        let examId = exam.id
        return try await attachments.ingest(
            body, mediaType: mediaType, kind: kind, exam: exam, uploadedBy: "peer:\(peer.id)", expectedSHA256: sha256
        ) { action, detail, key in
            audit(peer, caller, action, "exam", examId, patientKey: key, detail: detail)
        }
    }

    /// At the submitting hub: what the reading hub says about exam `examId` this hub forwarded to it. Returns
    /// whether it changed anything (events may arrive out of order or twice).
    public func apply(
        _ event: ForwardedExamEvent, to examId: String, from peer: Peer, by caller: Caller
    ) async throws -> Bool {
        let now = clock()
        return try await database.write { db -> Bool in
            let exam = try applyEvent(db, examId: examId, event, from: peer, now: now)
            try db.appendAudit(
                audit(
                    peer, caller, "federation.exam.event", "exam", examId,
                    detail: "\(event.event) revision \(event.revision)\(exam == nil ? " (already applied)" : "")"),
                at: now)
            return exam != nil
        }
    }

    /// Applies an event of a forwarded exam; only a newer revision changes anything. Nil when the event was
    /// already applied.
    private func applyEvent(
        _ db: any StoreWriter, examId: String, _ event: ForwardedExamEvent, from peer: Peer, now: Timestamp
    ) throws -> Exam? {
        guard var exam = try db.exam(id: examId), var forward = exam.forward, forward.hubId == peer.id
        else {
            throw HubError.notFound("forwarded exam", examId)
        }
        if let notice = event.criticalValue { try criticalValues.mirror(db, notice, exam: exam, from: peer, now: now) }
        guard event.revision > forward.remoteRevision else { return nil }
        // Withdrawn here: the clinic no longer wants it, whatever the reading hub still does.
        if exam.step == .cancelled {
            forward.remoteRevision = event.revision
            exam.forward = forward
            try db.update(exam)
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
        try db.update(exam)
        if Self.clinicEvents.contains(event.event) {
            try effects.notify(
                db, exam, event.event, report: event.event.hasPrefix("exam.report") ? exam.reports.last : nil,
                reason: event.reason, now: now)
        }
        if event.event == "exam.report.final" { ExamEffects.recordTurnaround(exam) }
        return exam
    }

    /// Events of a forwarded exam the clinic is told about, as it would be for an exam read here.
    static let clinicEvents: Set<String> = [
        "exam.report.preliminary", "exam.report.final", "exam.report.amended", "exam.report.corrected",
        "exam.returned",
    ]

    /// At the reading hub: the submitting hub withdrew an exam it forwarded here.
    public func cancel(
        originExamId: String, _ input: ReasonInput, from peer: Peer, by caller: Caller
    ) async throws -> ForwardedExamReceipt {
        let now = clock()
        return try await database.write { db in
            let exam = try received(db, originExamId, from: peer)
            if exam.step == .cancelled { return ForwardedExamReceipt(exam) }
            let action = ExamAction.cancel(reason: input.reason ?? "withdrawn by \(peer.id)")
            var next = try ExamWorkflow.apply(action, to: exam, at: now)
            next = try effects.effects(of: action, before: exam, after: next, db, now: now)
            try db.update(next)
            try db.appendAudit(
                audit(peer, caller, "exam.cancel", "exam", exam.id, detail: input.reason), at: now)
            return ForwardedExamReceipt(next)
        }
    }

    /// At the reading hub: the submitting hub's clinic acknowledged a critical value flagged here.
    public func acknowledgeCriticalValue(
        _ id: String, _ acknowledgement: Acknowledgement, from peer: Peer, by caller: Caller
    ) async throws -> CriticalValueNotice {
        let now = clock()
        return try await database.write { db -> CriticalValueNotice in
            guard var notice = try db.notice(id: id),
                let exam = try db.exam(id: notice.examId), exam.origin?.hubId == peer.id
            else {
                throw HubError.notFound("critical value", id)
            }
            guard notice.acknowledgement == nil else { return notice }
            notice.acknowledgement = acknowledgement
            try db.update(notice)
            try db.appendAudit(
                audit(
                    peer, caller, "critical_value.ack", "critical_value", id,
                    detail: "exam=\(notice.examId) acknowledged at \(peer.id)"), at: now)
            return notice
        }
    }
}
