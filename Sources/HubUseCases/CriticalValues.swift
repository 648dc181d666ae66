import HubConfig
import HubCore
import HubStorage
import Metrics

/// Which critical-value notices a caller lists (`GET /v1/critical-values`).
public struct CriticalValueQuery: Sendable {
    public var acknowledged: Bool?
    public var examId: String?
    public var limit: Int
    public var cursor: String?

    public init(acknowledged: Bool?, examId: String?, limit: Int, cursor: String?) {
        self.acknowledged = acknowledged
        self.examId = examId
        self.limit = limit
        self.cursor = cursor
    }
}

/// The clinic's acknowledgement of a critical value: who took the call, and what they read back.
public struct AcknowledgementInput: Decodable, Sendable {
    public var name: String?
    public var readBack: String?

    enum CodingKeys: String, CodingKey {
        case name
        case readBack = "read_back"
    }
}

/// Critical values (`/v1/critical-values`): the notices a report's findings raise, sent to the clinic at once,
/// seen by the clinic and the center, and acknowledged by the clinic with a read-back.
public struct CriticalValues: Sendable {
    let database: any Storage
    let deliveries: Deliveries
    let forwarding: ExamForwarding
    let patientKeys: PatientKeys
    let ackMinutes: AcknowledgementDeadlines
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        deliveries = Deliveries(env)
        forwarding = ExamForwarding(env)
        patientKeys = env.patientKeys
        ackMinutes = env.config.ackMinutes
        clock = env.clock
    }

    /// The clinics and centers whose notices the caller may see.
    private func scope(_ caller: Principal, _ db: any StoreReader) throws -> (clinic: String?, centers: [String]?) {
        guard let institutionId = caller.institutionId else {
            throw HubError.forbidden("critical values are seen by the staff of the clinic and the center")
        }
        let clinic = caller.roles.contains(.clinic) ? institutionId : nil
        let centers =
            caller.roles.isDisjoint(with: [.reader, .verifier])
            ? nil : try db.centers(institutionId: institutionId, after: nil, limit: 500).items.map(\.id)
        guard clinic != nil || centers != nil else {
            throw HubError.forbidden("critical values are seen by clinic staff, readers and verifiers")
        }
        return (clinic, centers)
    }

    /// The notices of the caller's clinic and centers.
    public func list(_ query: CriticalValueQuery, for caller: Caller) async throws -> Page<CriticalValueNotice> {
        let principal = try caller.authenticated()
        return try await database.read { db in
            let (clinic, centers) = try scope(principal, db)
            return try db.notices(
                clinicId: clinic, centerIds: centers, examId: query.examId, acknowledged: query.acknowledged,
                after: query.cursor, limit: query.limit)
        }
    }

    /// One notice, for its clinic and its center.
    public func notice(_ id: String, for caller: Caller) async throws -> CriticalValueNotice {
        let principal = try caller.authenticated()
        return try await database.read { db in
            guard let notice = try db.notice(id: id) else {
                throw HubError.notFound("critical value", id)
            }
            let (clinic, centers) = try scope(principal, db)
            guard notice.clinicId == clinic || (notice.centerId.map { centers?.contains($0) ?? false } ?? false) else {
                throw HubError.forbidden("this notice belongs to another clinic and center")
            }
            return notice
        }
    }

    /// What is checked before the acknowledgement is read: only clinic staff acknowledge.
    public func authorizeAcknowledgement(by caller: Caller) throws {
        try caller.authenticated().require(.clinic)
    }

    /// The clinic's acknowledgement, once; for a forwarded exam it goes on to the reading hub that flagged it.
    public func acknowledge(
        _ id: String, _ input: AcknowledgementInput, by caller: Caller
    ) async throws -> CriticalValueNotice {
        try authorizeAcknowledgement(by: caller)
        let principal = try caller.authenticated()
        var v = Validator()
        let name = v.text(input.name, "name", maxLength: 100)
        let readBack = v.text(input.readBack, "read_back", maxLength: 2000, multiline: true)
        try v.check()
        let now = clock()
        return try await database.write { db in
            guard var notice = try db.notice(id: id) else {
                throw HubError.notFound("critical value", id)
            }
            guard notice.clinicId == principal.institutionId else {
                throw HubError.forbidden("only the clinic the notice was sent to may acknowledge it")
            }
            if let done = notice.acknowledgement {
                throw HubError.conflict("already acknowledged by \(done.name) at \(done.at)")
            }
            notice.acknowledgement = Acknowledgement(
                name: name!, readBack: readBack!, practitionerId: principal.practitionerId, at: now)
            try db.update(notice)
            try db.appendAudit(
                // The name and the read-back are the notice's; the log carries ids only.
                caller.audit("critical_value.ack", "critical_value", id, detail: "exam=\(notice.examId)"),
                at: now)
            // A critical value of a forwarded exam was flagged at the reading hub: it hears of the acknowledgement.
            try forwarding.acknowledge(db, notice, of: try db.exam(id: notice.examId), now: now)
            return notice
        }
    }

    /// Creates a critical-value notice for new findings of a report and sends it to the clinic at once.
    func flag(_ db: any StoreWriter, _ exam: Exam, _ findings: [CriticalFinding], by: Signer, now: Timestamp) throws {
        let notice = CriticalValueNotice(
            id: GeneratedID.make("crv", at: now), examId: exam.id, clinicId: exam.clinicId, centerId: exam.centerId,
            patientName: exam.patient.name, itemCode: exam.itemCode, priority: exam.priority, findings: findings,
            flaggedBy: by, flaggedAt: now, ackDueAt: ackMinutes.due(after: now, priority: exam.priority))
        try record(notice, of: exam, actor: by.practitionerId, institutionId: by.institutionId, db, now: now)
    }

    /// A critical value flagged at the reading hub becomes a notice here, sent to the clinic at once and escalated
    /// here when nobody acknowledges it; the acknowledgement goes back to the reading hub.
    func mirror(
        _ db: any StoreWriter, _ remote: CriticalValueNotice, exam: Exam, from peer: Peer, now: Timestamp
    ) throws {
        guard try db.notice(id: remote.id) == nil else { return }
        let notice = CriticalValueNotice(
            id: remote.id, examId: exam.id, clinicId: exam.clinicId, centerId: remote.centerId,
            patientName: exam.patient.name, itemCode: exam.itemCode, priority: exam.priority,
            findings: remote.findings, flaggedBy: remote.flaggedBy, flaggedAt: remote.flaggedAt,
            ackDueAt: ackMinutes.due(after: now, priority: exam.priority))
        try record(notice, of: exam, actor: "peer:\(peer.id)", institutionId: exam.clinicId, db, now: now)
    }

    /// Stores a critical-value notice and sends it, with its audit record: to the clinic's webhook, or for an exam
    /// received from a peer hub, to that hub (its clinic is notified, and escalated, there).
    private func record(
        _ notice: CriticalValueNotice, of exam: Exam, actor: String, institutionId: String?, _ db: any StoreWriter,
        now: Timestamp
    ) throws {
        var notice = notice
        if exam.origin != nil {
            try forwarding.reportBack(db, exam, event: "critical_value.notice", criticalValue: notice, now: now)
        } else {
            let delivery = try deliveries.enqueue(
                db, to: .webhook(institutionId: exam.clinicId), kind: "critical_value.notice", subject: notice.id,
                body: CriticalNoticeMessage(
                    notice: notice, event: "critical_value.notice", accessionNumber: exam.accessionNumber),
                now: now)
            notice.deliveryId = delivery.id
        }
        try db.insert(notice)
        try db.appendAudit(
            AuditEvent(
                actor: actor, institutionId: institutionId, action: "critical_value.flag",
                targetType: "critical_value", targetId: notice.id,
                patientKey: patientKeys.keys(for: exam.patient).first,
                // The findings are the notice's; the log carries ids and counts only.
                detail: "exam=\(exam.id) findings=\(notice.findings.count)"), at: now)
        Counter(label: "hub.critical_values.flagged").increment()
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
