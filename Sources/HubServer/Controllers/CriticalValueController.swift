import Foundation
import GRDB
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Hummingbird

/// `/v1/critical-values`: the notices, their acknowledgement with read-back, and escalation.
struct CriticalValueController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/critical-values", list)
        routes.add(.get, "/v1/critical-values/{id}", show)
        routes.add(.post, "/v1/critical-values/{id}/ack", acknowledge)
    }

    /// The clinics and centers whose notices the caller may see.
    private func scope(_ caller: Principal, _ db: Database) throws -> (clinic: String?, centers: [String]?) {
        guard let institutionId = caller.institutionId else {
            throw HubError.forbidden("critical values are seen by the staff of the clinic and the center")
        }
        let clinic = caller.roles.contains(.clinic) ? institutionId : nil
        let centers =
            caller.roles.isDisjoint(with: [.reader, .verifier])
            ? nil : try RegistryStore.centers(db, institutionId: institutionId, after: nil, limit: 500).items.map(\.id)
        guard clinic != nil || centers != nil else {
            throw HubError.forbidden("critical values are seen by clinic staff, readers and verifiers")
        }
        return (clinic, centers)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        var acknowledged: Bool?
        if let text = request.query("acknowledged") {
            guard text == "true" || text == "false" else {
                throw HubError.validation("acknowledged", "must be true or false")
            }
            acknowledged = text == "true"
        }
        let filter = acknowledged
        let examId = request.query("exam_id")
        let limit = try request.limit()
        let cursor = request.cursor
        let page = try await env.database.read { db in
            let (clinic, centers) = try scope(caller, db)
            return try CriticalValueStore.notices(
                db, clinicId: clinic, centerIds: centers, examId: examId, acknowledged: filter, after: cursor,
                limit: limit)
        }
        return try JSONIO.response(ListResponse(page))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let caller = try context.authenticated()
        let notice = try await env.database.read { db in
            guard let notice = try CriticalValueStore.notice(db, id: id) else {
                throw HubError.notFound("critical value", id)
            }
            let (clinic, centers) = try scope(caller, db)
            guard notice.clinicId == clinic || (notice.centerId.map { centers?.contains($0) ?? false } ?? false) else {
                throw HubError.forbidden("this notice belongs to another clinic and center")
            }
            return notice
        }
        return try JSONIO.response(notice)
    }

    struct AckInput: Decodable {
        var name: String?
        var readBack: String?

        enum CodingKeys: String, CodingKey {
            case name
            case readBack = "read_back"
        }
    }

    @Sendable func acknowledge(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let caller = try context.authenticated()
        try caller.require(.clinic)
        let (input, _) = try await JSONIO.decode(AckInput.self, from: request, limit: env.config.maxBodyBytes)
        var v = Validator()
        let name = v.text(input.name, "name", maxLength: 100)
        let readBack = v.text(input.readBack, "read_back", maxLength: 2000, multiline: true)
        try v.check()
        let now = env.clock()
        let notice = try await env.database.write { db in
            guard var notice = try CriticalValueStore.notice(db, id: id) else {
                throw HubError.notFound("critical value", id)
            }
            guard notice.clinicId == caller.institutionId else {
                throw HubError.forbidden("only the clinic the notice was sent to may acknowledge it")
            }
            if let done = notice.acknowledgement {
                throw HubError.conflict("already acknowledged by \(done.name) at \(done.at)")
            }
            notice.acknowledgement = Acknowledgement(
                name: name!, readBack: readBack!, practitionerId: caller.practitionerId, at: now)
            try CriticalValueStore.update(db, notice)
            try AuditLog.append(
                db,
                // The name and the read-back are the notice's; the log carries ids only.
                context.audit("critical_value.ack", "critical_value", id, detail: "exam=\(notice.examId)"),
                at: now)
            // A critical value of a forwarded exam was flagged at the reading hub: it hears of the acknowledgement.
            if let forward = try ExamStore.exam(db, id: notice.examId)?.forward {
                try env.enqueue(
                    db, destination: "peer:\(forward.hubId)", kind: "critical_value.ack", subject: id,
                    path: "/federation/v1/critical-values/\(id)/ack", idempotencyKey: "ack-\(id)",
                    body: notice.acknowledgement, now: now)
            }
            return notice
        }
        return try JSONIO.response(notice)
    }
}

/// `/v1/centers/{id}/turnaround`: how long a center takes, per priority, against its targets.
struct TurnaroundController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/centers/{id}/turnaround", show)
    }

    struct Percentiles: Encodable {
        var count: Int
        var p50: Double?
        var p90: Double?
        var p95: Double?

        init(_ minutes: [Double]) {
            let sorted = minutes.sorted()
            count = sorted.count
            func at(_ q: Double) -> Double? {
                guard !sorted.isEmpty else { return nil }
                let index = Int((q * Double(sorted.count - 1)).rounded())
                return (sorted[index] * 10).rounded() / 10
            }
            p50 = at(0.5)
            p90 = at(0.9)
            p95 = at(0.95)
        }
    }

    struct PriorityFigures: Encodable {
        var priority: Priority
        var submitted: Int
        var targetMinutes: Int?
        var toClaimed: Percentiles
        var toReported: Percentiles
        var toVerified: Percentiles
        var withinTarget: Int
        var openOverdue: Int

        enum CodingKeys: String, CodingKey {
            case priority, submitted
            case targetMinutes = "target_minutes"
            case toClaimed = "submitted_to_claimed_minutes"
            case toReported = "submitted_to_reported_minutes"
            case toVerified = "submitted_to_verified_minutes"
            case withinTarget = "verified_within_target"
            case openOverdue = "open_past_target"
        }
    }

    struct Answer: Encodable {
        var centerId: String
        var from: Timestamp
        var to: Timestamp
        var priorities: [PriorityFigures]

        enum CodingKeys: String, CodingKey {
            case from, to, priorities
            case centerId = "center_id"
        }
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let caller = try context.authenticated()
        let now = env.clock()
        let to = try request.time("to") ?? now
        let from = try request.time("from") ?? to.adding(days: -30)
        let (center, exams) = try await env.database.read { db in
            guard let center = try RegistryStore.center(db, id: id) else { throw HubError.notFound("center", id) }
            guard caller.isAdmin || caller.roles.contains(.auditor) || center.institutionId == caller.institutionId
            else {
                throw HubError.forbidden("turnaround is seen by the center's staff, admins and auditors")
            }
            return (center, try ExamStore.exams(db, centerId: id, from: from, to: to))
        }
        func minutes(_ a: Timestamp, _ b: Timestamp?) -> Double? {
            b.map { Double($0.millisecondsSinceEpoch - a.millisecondsSinceEpoch) / 60_000 }
        }
        let figures = Priority.allCases.reversed().map { priority -> PriorityFigures in
            let group = exams.filter { $0.priority == priority }
            let target = center.turnaroundMinutes[priority]
            let verified = group.compactMap { minutes($0.milestones.submittedAt, $0.milestones.verifiedAt) }
            return PriorityFigures(
                priority: priority, submitted: group.count, targetMinutes: target,
                toClaimed: Percentiles(
                    group.compactMap { minutes($0.milestones.submittedAt, $0.milestones.firstClaimedAt) }),
                toReported: Percentiles(
                    group.compactMap { minutes($0.milestones.submittedAt, $0.milestones.reportedAt) }),
                toVerified: Percentiles(verified),
                withinTarget: target.map { t in verified.filter { $0 <= Double(t) }.count } ?? verified.count,
                openOverdue: group.filter { exam in
                    exam.step.isOpen
                        && target.map { (minutes(exam.milestones.submittedAt, now) ?? 0) > Double($0) } == true
                }.count)
        }
        return try JSONIO.response(Answer(centerId: id, from: from, to: to, priorities: figures))
    }
}
