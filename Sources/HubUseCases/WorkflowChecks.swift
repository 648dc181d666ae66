import HubCore
import HubStorage
import Metrics

/// The hub's deadlines, checked on every tick of the workflow monitor: critical values nobody acknowledged in time
/// are escalated, exams waiting for a center are routed once one fits, and open work past its center's turnaround
/// target raises an event. Each tick is one transaction: an escalation commits with its outbox delivery.
public struct WorkflowChecks: Sendable {
    struct Escalation: Encodable, Sendable {
        var event = "critical_value.escalation"
        var notice: CriticalValueNotice
        var minutesOverdue: Int

        enum CodingKeys: String, CodingKey {
            case event, notice
            case minutesOverdue = "minutes_overdue"
        }
    }

    struct Overdue: Encodable, Sendable {
        var event = "turnaround.overdue"
        var examId: String
        var centerId: String
        var priority: Priority
        var targetMinutes: Int
        var submittedAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case event, priority
            case examId = "exam_id"
            case centerId = "center_id"
            case targetMinutes = "target_minutes"
            case submittedAt = "submitted_at"
        }
    }

    let database: any Storage
    let deliveries: Deliveries
    let routing: ExamRouting
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        deliveries = Deliveries(env)
        routing = ExamRouting(env)
        clock = env.clock
    }

    /// One round of checks.
    public func run() async throws {
        let now = clock()
        try await database.write { db in
            try escalateUnacknowledged(db, now: now)
            try routing.retryWaiting(db, now: now)
            try flagOverdue(db, now: now)
        }
    }

    /// Critical values past their acknowledgement deadline go to the clinic's escalation contact.
    private func escalateUnacknowledged(_ db: any StoreWriter, now: Timestamp) throws {
        for var notice in try db.overdueNotices(now: now) {
            let late = Int((now.millisecondsSinceEpoch - notice.ackDueAt.millisecondsSinceEpoch) / 60_000)
            let delivery = try deliveries.enqueue(
                db, to: .escalation(institutionId: notice.clinicId), kind: "critical_value.escalation",
                subject: notice.id, body: Escalation(notice: notice, minutesOverdue: late), now: now)
            notice.escalatedAt = now
            notice.escalationDeliveryId = delivery.id
            try db.update(notice)
            try db.appendAudit(
                AuditEvent(
                    actor: "system", institutionId: notice.clinicId, action: "critical_value.escalate",
                    targetType: "critical_value", targetId: notice.id, detail: "unacknowledged \(late) min past due"
                ),
                at: now)
            Counter(label: "hub.critical_values.escalated").increment()
        }
    }

    /// Open exams past their center's target for their priority are marked once, and the center hears of it.
    private func flagOverdue(_ db: any StoreWriter, now: Timestamp) throws {
        // Only the exams past their center's target for their priority are read, not the whole open work.
        var late: [(Exam, Center, Int)] = []
        for centerId in try db.centersWithOpenWork() {
            guard let center = try db.center(id: centerId) else { continue }
            for priority in Priority.allCases {
                guard let target = center.turnaroundMinutes[priority] else { continue }
                let submittedBy = now.adding(milliseconds: -Int64(target) * 60_000)
                for exam in try db.overdueCandidates(
                    centerId: centerId, priority: priority, submittedBy: submittedBy)
                where exam.milestones.overdueAt == nil {
                    late.append((exam, center, target))
                }
            }
        }
        for (var exam, center, target) in late {
            let centerId = center.id
            exam.milestones.overdueAt = now
            try db.update(exam)
            try deliveries.enqueue(
                db, to: .webhook(institutionId: center.institutionId), kind: "turnaround.overdue", subject: exam.id,
                body: Overdue(
                    examId: exam.id, centerId: centerId, priority: exam.priority, targetMinutes: target,
                    submittedAt: exam.milestones.submittedAt), now: now)
            try db.appendAudit(
                AuditEvent(
                    actor: "system", institutionId: center.institutionId, action: "exam.overdue",
                    targetType: "exam",
                    targetId: exam.id, detail: "past the \(exam.priority.rawValue) target of \(target) min"),
                at: now)
            Counter(label: "hub.exam.overdue", dimensions: [("center", centerId)]).increment()
        }
    }
}
