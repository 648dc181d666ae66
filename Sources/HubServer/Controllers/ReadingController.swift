import Foundation
import GRDB
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Hummingbird

/// The reading side: worklists, claims, reports, the second signature, amendments, returns and cancellations.
struct ReadingController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/centers/{id}/worklist", worklist)
        routes.add(.post, "/v1/exams/{id}/claim", claim)
        routes.add(.post, "/v1/exams/{id}/release", release)
        routes.add(.post, "/v1/exams/{id}/report", report)
        routes.add(.post, "/v1/exams/{id}/preliminary", preliminary)
        routes.add(.post, "/v1/exams/{id}/verify", verify)
        routes.add(.post, "/v1/exams/{id}/amend", amend)
        routes.add(.post, "/v1/exams/{id}/return", returnToClinic)
        routes.add(.post, "/v1/exams/{id}/resubmit", resubmit)
        routes.add(.post, "/v1/exams/{id}/cancel", cancel)
    }

    @Sendable func worklist(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let centerId = try context.parameter("id")
        let caller = try context.authenticated()
        try caller.require(.reader, .verifier)
        let limit = try request.limit()
        let now = env.clock()
        let exams = try await env.database.write { db in
            guard let center = try RegistryStore.center(db, id: centerId) else {
                throw HubError.notFound("center", centerId)
            }
            guard center.institutionId == caller.institutionId else {
                throw HubError.forbidden("only staff of the center's host institution see its worklist")
            }
            let exams = try ExamStore.worklist(db, centerId: centerId, now: now, limit: limit)
            try AuditLog.append(
                db, context.audit("worklist.read", "center", centerId, detail: "count=\(exams.count)"), at: now)
            return exams
        }
        return try JSONIO.response(
            ListResponse(Page(items: exams.map { ExamView(exam: $0, attachments: []) }, next: nil)))
    }

    struct ReasonInput: Decodable {
        var reason: String?
    }

    @Sendable func claim(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let lease = Int64(env.config.claimLeaseMinutes) * 60_000
        return try await transition(request, context, "exam.claim", roles: [.reader], side: .center) { _, signer, _ in
            .claim(by: signer, leaseMilliseconds: lease)
        }
    }

    @Sendable func release(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await transition(request, context, "exam.release", roles: [.reader], side: .center) { _, signer, _ in
            .release(by: signer)
        }
    }

    @Sendable func report(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await transition(request, context, "exam.report", roles: [.reader], side: .center, body: true) {
            _, signer, body in .report(by: signer, try JSONIO.decode(ReportDraft.self, from: body))
        }
    }

    @Sendable func preliminary(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await transition(request, context, "exam.preliminary", roles: [.reader], side: .center) { _, signer, _ in
            .releasePreliminary(by: signer)
        }
    }

    @Sendable func verify(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await transition(request, context, "exam.verify", roles: [.verifier], side: .center) { _, signer, _ in
            .verify(by: signer)
        }
    }

    @Sendable func amend(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await transition(request, context, "exam.amend", roles: [.verifier], side: .center, body: true) {
            _, signer, body in .amend(by: signer, try JSONIO.decode(ReportDraft.self, from: body))
        }
    }

    @Sendable func returnToClinic(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await transition(request, context, "exam.return", roles: [.reader, .verifier], side: .center, body: true) {
            _, signer, body in .returnToClinic(by: signer, reason: try Self.reason(body))
        }
    }

    @Sendable func resubmit(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await transition(request, context, "exam.resubmit", roles: [.clinic], side: .clinic) { _, _, _ in .resubmit
        }
    }

    @Sendable func cancel(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await transition(request, context, "exam.cancel", roles: [.clinic], side: .clinic, body: true) {
            _, _, body in
            .cancel(reason: try Self.reason(body))
        }
    }

    static func reason(_ body: Data) throws -> String {
        let input = try JSONIO.decode(ReasonInput.self, from: body)
        var v = Validator()
        let reason = v.text(input.reason, "reason", maxLength: 1000, multiline: true)
        try v.check()
        return reason!
    }

    /// One transition: the caller's side and role are checked, the state machine decides, and the change, its
    /// effects (notices, results, outbox deliveries) and the audit record commit together.
    private func transition(
        _ request: Request, _ context: HubRequestContext, _ auditAction: String, roles: [Role], side: ExamSide,
        body needsBody: Bool = false, _ action: @escaping @Sendable (Exam, Signer, Data) throws -> ExamAction
    ) async throws -> Response {
        let id = try context.parameter("id")
        let caller = try context.authenticated()
        if caller.roles.isDisjoint(with: roles) {
            throw HubError.forbidden("this step needs the role \(roles.map(\.rawValue).joined(separator: " or "))")
        }
        let signer = try env.signer(caller)
        var body = Data()
        if needsBody {
            try JSONIO.requireJSON(request)
            body = try await JSONIO.body(request, limit: env.config.maxBodyBytes)
        }
        let payload = body
        let now = env.clock()
        let view = try await env.database.write { db in
            guard let exam = try ExamStore.exam(db, id: id) else { throw HubError.notFound("exam", id) }
            guard try env.side(of: caller, for: exam, db, preferring: side) == side else {
                throw HubError.forbidden(
                    side == .clinic ? "only the submitting clinic may do this" : "only the reading center may do this")
            }
            let step = try action(exam, signer, payload)
            var next = try ExamWorkflow.apply(step, to: exam, at: now)
            next = try env.effects(of: step, before: exam, after: next, db, now: now)
            try ExamStore.update(db, next)
            try AuditLog.append(
                db,
                context.audit(
                    auditAction, "exam", id, patientKey: env.patientKeys.keys(for: exam.patient).first,
                    detail: "\(exam.step.rawValue) -> \(next.step.rawValue)"), at: now)
            return ExamView(exam: next, attachments: try ExamStore.attachments(db, examId: id))
        }
        return try JSONIO.response(view)
    }
}
