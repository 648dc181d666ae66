import Foundation
import HubConfig
import HubCore
import HubStorage

/// A reason given with a step (a return to the clinic, a cancellation).
public struct ReasonInput: Decodable, Sendable {
    public var reason: String?
}

/// The reading side of an exam: worklists, claims, reports, the second signature, amendments, returns, and the
/// clinic's resubmissions and cancellations. Each step checks the caller's role and side, lets the state machine
/// decide, and commits the change with its effects (notices, results, outbox deliveries) and its audit record.
public struct Reading: Sendable {
    /// A step of the reading workflow, as a caller asks for it.
    public enum Step: Sendable {
        case claim, release, report, preliminary, verify, amend, returnToClinic, resubmit, cancel

        /// The roles that may take the step.
        var roles: [Role] {
            switch self {
            case .claim, .release, .report, .preliminary: [.reader]
            case .verify, .amend: [.verifier]
            case .returnToClinic: [.reader, .verifier]
            case .resubmit, .cancel: [.clinic]
            }
        }

        /// The side of the exam that takes the step.
        var side: ExamSide {
            switch self {
            case .resubmit, .cancel: .clinic
            default: .center
            }
        }

        var auditAction: String {
            switch self {
            case .claim: "exam.claim"
            case .release: "exam.release"
            case .report: "exam.report"
            case .preliminary: "exam.preliminary"
            case .verify: "exam.verify"
            case .amend: "exam.amend"
            case .returnToClinic: "exam.return"
            case .resubmit: "exam.resubmit"
            case .cancel: "exam.cancel"
            }
        }
    }

    let database: any Storage
    let patientKeys: PatientKeys
    let effects: ExamEffects
    let access = ExamAccess()
    let clock: @Sendable () -> Timestamp
    let leaseMilliseconds: Int64

    public init(_ env: HubEnvironment) {
        database = env.database
        patientKeys = env.patientKeys
        effects = ExamEffects(env)
        clock = env.clock
        leaseMilliseconds = Int64(env.config.claimLeaseMinutes) * 60_000
    }

    /// What is checked before a worklist's query is read: readers and verifiers see worklists.
    public func authorizeWorklist(by caller: Caller) throws {
        try caller.authenticated().require(.reader, .verifier)
    }

    /// The open work of a center, for the staff of its host institution; the reading is audited.
    public func worklist(_ centerId: String, limit: Int, for caller: Caller) async throws -> [ExamView] {
        try authorizeWorklist(by: caller)
        let principal = try caller.authenticated()
        let now = clock()
        let exams = try await database.write { db in
            guard let center = try db.center(id: centerId) else {
                throw HubError.notFound("center", centerId)
            }
            guard center.institutionId == principal.institutionId else {
                throw HubError.forbidden("only staff of the center's host institution see its worklist")
            }
            let exams = try db.worklist(centerId: centerId, now: now, limit: limit)
            try db.appendAudit(
                caller.audit("worklist.read", "center", centerId, detail: "count=\(exams.count)"), at: now)
            return exams
        }
        return exams.map { ExamView(exam: $0, attachments: []) }
    }

    /// What is checked before a step's body is read: the caller's role, and that a practitioner signs it.
    @discardableResult
    public func authorize(_ step: Step, by caller: Caller) throws -> Signer {
        let principal = try caller.authenticated()
        if principal.roles.isDisjoint(with: step.roles) {
            throw HubError.forbidden(
                "this step needs the role \(step.roles.map(\.rawValue).joined(separator: " or "))")
        }
        return try caller.signer()
    }

    /// A reader claims the exam for the lease (`reading.claim_lease_minutes`).
    public func claim(_ examId: String, by caller: Caller) async throws -> ExamView {
        let lease = leaseMilliseconds
        return try await transition(.claim, examId, by: caller) { .claim(by: $0, leaseMilliseconds: lease) }
    }

    /// The reader gives the claim back.
    public func release(_ examId: String, by caller: Caller) async throws -> ExamView {
        try await transition(.release, examId, by: caller) { .release(by: $0) }
    }

    /// The reader's report; `draft` is the body, decoded once the exam is found and the caller's side checked.
    public func report(
        _ examId: String, by caller: Caller, draft: @escaping @Sendable () throws -> ReportDraft
    ) async throws -> ExamView {
        try await transition(.report, examId, by: caller) { .report(by: $0, try draft()) }
    }

    /// The reader releases the report as preliminary before the second signature.
    public func releasePreliminary(_ examId: String, by caller: Caller) async throws -> ExamView {
        try await transition(.preliminary, examId, by: caller) { .releasePreliminary(by: $0) }
    }

    /// The verifier's second signature: the report becomes final and a result.
    public func verify(_ examId: String, by caller: Caller) async throws -> ExamView {
        try await transition(.verify, examId, by: caller) { .verify(by: $0) }
    }

    /// The verifier amends a final report; `draft` is decoded as for `report`.
    public func amend(
        _ examId: String, by caller: Caller, draft: @escaping @Sendable () throws -> ReportDraft
    ) async throws -> ExamView {
        try await transition(.amend, examId, by: caller) { .amend(by: $0, try draft()) }
    }

    /// The center returns the exam to its clinic, with a reason (decoded as for `report`).
    public func returnToClinic(
        _ examId: String, by caller: Caller, reason: @escaping @Sendable () throws -> ReasonInput
    ) async throws -> ExamView {
        try await transition(.returnToClinic, examId, by: caller) {
            .returnToClinic(by: $0, reason: try Self.reason(reason()))
        }
    }

    /// The clinic sends a returned exam again; it is routed anew.
    public func resubmit(_ examId: String, by caller: Caller) async throws -> ExamView {
        try await transition(.resubmit, examId, by: caller) { _ in .resubmit }
    }

    /// The clinic withdraws the exam, with a reason (decoded as for `report`).
    public func cancel(
        _ examId: String, by caller: Caller, reason: @escaping @Sendable () throws -> ReasonInput
    ) async throws -> ExamView {
        try await transition(.cancel, examId, by: caller) { _ in .cancel(reason: try Self.reason(reason())) }
    }

    static func reason(_ input: ReasonInput) throws -> String {
        var v = Validator()
        let reason = v.text(input.reason, "reason", maxLength: 1000, multiline: true)
        try v.check()
        return reason!
    }

    /// One transition: the caller's role and side are checked, the state machine decides, and the change, its
    /// effects and the audit record commit together.
    private func transition(
        _ step: Step, _ id: String, by caller: Caller, _ action: @escaping @Sendable (Signer) throws -> ExamAction
    ) async throws -> ExamView {
        let signer = try authorize(step, by: caller)
        let principal = try caller.authenticated()
        let now = clock()
        return try await database.write { db in
            guard let exam = try db.exam(id: id) else { throw HubError.notFound("exam", id) }
            guard try access.side(of: principal, for: exam, db, preferring: step.side) == step.side else {
                throw HubError.forbidden(
                    step.side == .clinic
                        ? "only the submitting clinic may do this" : "only the reading center may do this")
            }
            let change = try action(signer)
            var next = try ExamWorkflow.apply(change, to: exam, at: now)
            next = try effects.effects(of: change, before: exam, after: next, db, now: now)
            try db.update(next)
            try db.appendAudit(
                caller.audit(
                    step.auditAction, "exam", id, patientKey: patientKeys.keys(for: exam.patient).first,
                    detail: "\(exam.step.rawValue) -> \(next.step.rawValue)"), at: now)
            return ExamView(exam: next, attachments: try db.attachments(examId: id))
        }
    }
}
