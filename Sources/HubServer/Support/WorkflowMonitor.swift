import Foundation
import GRDB
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Logging
import Metrics
import ServiceLifecycle

/// Watches deadlines: escalates critical values nobody acknowledged in time, and raises an event for open work past
/// its center's turnaround target. Each escalation is written with its outbox delivery in one transaction.
struct WorkflowMonitor: Service {
    let env: HubEnvironment
    let readiness: Readiness

    func run() async throws {
        let interval = Duration.milliseconds(env.config.monitorIntervalMilliseconds)
        // Cancelled at graceful shutdown, so the sleep between checks never holds up a stop.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if readiness.isReady {
                    do {
                        try await check()
                    } catch is CancellationError {
                        return
                    } catch {
                        env.logger.error("workflow monitor check failed", metadata: ["error.message": "\(error)"])
                    }
                }
                try await Task.sleep(for: interval)
            }
        }
    }

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

    /// Exams that found no center wait; once a center opens, regains its qualification or is reactivated, they are
    /// routed without anyone resubmitting them.
    func retryRouting(_ db: Database, now: Timestamp) throws {
        let waiting = try ExamStore.exams(db, step: .awaitingRouting, after: nil, limit: 200).items
        guard !waiting.isEmpty, let catalog = try env.catalog.inForce(db, on: env.today(at: now)) else { return }
        for exam in waiting {
            guard let item = catalog.item(exam.itemCode),
                let clinic = try RegistryStore.institution(db, id: exam.clinicId)
            else { continue }
            let routed = try env.route(db, exam, item: item, clinic: clinic, requested: nil, now: now)
            guard routed.step == .waiting else { continue }
            try ExamStore.update(db, routed)
            try AuditLog.append(
                db,
                AuditEvent(
                    actor: "system", institutionId: exam.clinicId, action: "exam.route", targetType: "exam",
                    targetId: exam.id, detail: "routed to \(routed.centerId ?? "-") after waiting"), at: now)
        }
    }

    func check() async throws {
        let now = env.clock()
        try await env.database.write { db in
            for var notice in try CriticalValueStore.overdue(db, now: now) {
                let late = Int((now.millisecondsSinceEpoch - notice.ackDueAt.millisecondsSinceEpoch) / 60_000)
                let delivery = try env.enqueue(
                    db, destination: "escalation:\(notice.clinicId)", kind: "critical_value.escalation",
                    subject: notice.id, body: Escalation(notice: notice, minutesOverdue: late), now: now)
                notice.escalatedAt = now
                notice.escalationDeliveryId = delivery.id
                try CriticalValueStore.update(db, notice)
                try AuditLog.append(
                    db,
                    AuditEvent(
                        actor: "system", institutionId: notice.clinicId, action: "critical_value.escalate",
                        targetType: "critical_value", targetId: notice.id, detail: "unacknowledged \(late) min past due"
                    ),
                    at: now)
                Counter(label: "hub.critical_values.escalated").increment()
            }
            try retryRouting(db, now: now)
            // Only the exams past their center's target for their priority are read, not the whole open work.
            var late: [(Exam, Center, Int)] = []
            for centerId in try ExamStore.centersWithOpenWork(db) {
                guard let center = try RegistryStore.center(db, id: centerId) else { continue }
                for priority in Priority.allCases {
                    guard let target = center.turnaroundMinutes[priority] else { continue }
                    let submittedBy = now.adding(milliseconds: -Int64(target) * 60_000)
                    for exam in try ExamStore.overdueCandidates(
                        db, centerId: centerId, priority: priority, submittedBy: submittedBy)
                    where exam.milestones.overdueAt == nil {
                        late.append((exam, center, target))
                    }
                }
            }
            for (var exam, center, target) in late {
                let centerId = center.id
                exam.milestones.overdueAt = now
                try ExamStore.update(db, exam)
                try env.enqueue(
                    db, destination: "webhook:\(center.institutionId)", kind: "turnaround.overdue", subject: exam.id,
                    body: Overdue(
                        examId: exam.id, centerId: centerId, priority: exam.priority, targetMinutes: target,
                        submittedAt: exam.milestones.submittedAt), now: now)
                try AuditLog.append(
                    db,
                    AuditEvent(
                        actor: "system", institutionId: center.institutionId, action: "exam.overdue",
                        targetType: "exam",
                        targetId: exam.id, detail: "past the \(exam.priority.rawValue) target of \(target) min"),
                    at: now)
                Counter(label: "hub.exam.overdue", dimensions: [("center", centerId)]).increment()
            }
        }
    }
}
