import HubCore
import HubStorage

/// How long a center takes (`GET /v1/centers/{id}/turnaround`): per priority, from submission to claim, report
/// and verification, against the center's targets.
public struct Turnaround: Sendable {
    /// The median and upper percentiles of a set of durations, in minutes to one decimal.
    public struct Percentiles: Encodable, Sendable {
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

    /// The figures of one priority.
    public struct PriorityFigures: Encodable, Sendable {
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

    /// A center's figures over the exams submitted in a period.
    public struct Figures: Encodable, Sendable {
        var centerId: String
        var from: Timestamp
        var to: Timestamp
        var priorities: [PriorityFigures]

        enum CodingKeys: String, CodingKey {
            case from, to, priorities
            case centerId = "center_id"
        }
    }

    let database: any Storage
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        clock = env.clock
    }

    /// The figures of the exams submitted from `from` (default: 30 days before `to`) to `to` (default: now), for the
    /// center's staff, admins and auditors.
    public func figures(
        _ centerId: String, from: Timestamp?, to: Timestamp?, for caller: Caller
    ) async throws -> Figures {
        let principal = try caller.authenticated()
        let now = clock()
        let to = to ?? now
        let from = from ?? to.adding(days: -30)
        let (center, exams) = try await database.read { db in
            guard let center = try db.center(id: centerId) else {
                throw HubError.notFound("center", centerId)
            }
            guard
                principal.isAdmin || principal.roles.contains(.auditor)
                    || center.institutionId == principal.institutionId
            else {
                throw HubError.forbidden("turnaround is seen by the center's staff, admins and auditors")
            }
            return (center, try db.exams(centerId: centerId, from: from, to: to))
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
        return Figures(centerId: centerId, from: from, to: to, priorities: figures)
    }
}
