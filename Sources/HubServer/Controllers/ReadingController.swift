import Foundation
import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// The reading side: worklists, claims, reports, the second signature, amendments, returns and cancellations.
struct ReadingController {
    let reading: Reading
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        reading = Reading(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

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
        try reading.authorizeWorklist(by: context.caller)
        let exams = try await reading.worklist(centerId, limit: try request.limit(), for: context.caller)
        return try JSONIO.response(ListResponse(Page(items: exams, next: nil)))
    }

    @Sendable func claim(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await reading.claim(try context.parameter("id"), by: context.caller))
    }

    @Sendable func release(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await reading.release(try context.parameter("id"), by: context.caller))
    }

    @Sendable func report(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await self.body(of: request, for: .report, context)
        return try JSONIO.response(
            try await reading.report(id, by: context.caller) { try JSONIO.decode(ReportDraft.self, from: body) })
    }

    @Sendable func preliminary(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await reading.releasePreliminary(try context.parameter("id"), by: context.caller))
    }

    @Sendable func verify(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await reading.verify(try context.parameter("id"), by: context.caller))
    }

    @Sendable func amend(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await self.body(of: request, for: .amend, context)
        return try JSONIO.response(
            try await reading.amend(id, by: context.caller) { try JSONIO.decode(ReportDraft.self, from: body) })
    }

    @Sendable func returnToClinic(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await self.body(of: request, for: .returnToClinic, context)
        return try JSONIO.response(
            try await reading.returnToClinic(id, by: context.caller) {
                try JSONIO.decode(ReasonInput.self, from: body)
            })
    }

    @Sendable func resubmit(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await reading.resubmit(try context.parameter("id"), by: context.caller))
    }

    @Sendable func cancel(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let body = try await self.body(of: request, for: .cancel, context)
        return try JSONIO.response(
            try await reading.cancel(id, by: context.caller) { try JSONIO.decode(ReasonInput.self, from: body) })
    }

    /// A step's JSON body, read once the caller may take the step; it is decoded when the exam has been found.
    private func body(
        of request: Request, for step: Reading.Step, _ context: HubRequestContext
    ) async throws -> Data {
        try reading.authorize(step, by: context.caller)
        try JSONIO.requireJSON(request)
        return try await JSONIO.body(request, limit: maxBodyBytes)
    }
}
