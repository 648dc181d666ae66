import Foundation
import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/recognition`: which prior results a hospital should accept, the clinician's decision, and the statistics.
struct RecognitionController {
    let recognition: Recognition
    let maxBodyBytes: Int
    let utcOffsetMinutes: Int

    init(env: HubEnvironment) {
        recognition = Recognition(env)
        maxBodyBytes = env.config.maxBodyBytes
        utcOffsetMinutes = env.config.utcOffsetMinutes
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/recognition/checks", check)
        routes.add(.get, "/v1/recognition/checks/{id}", showCheck)
        routes.add(.post, "/v1/recognition/decisions", decide)
        routes.add(.get, "/v1/recognition/stats", stats)
    }

    @Sendable func check(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try recognition.authorizeClinician(context.caller)
        let (input, _) = try await JSONIO.decode(Recognition.CheckInput.self, from: request, limit: maxBodyBytes)
        let body = try await recognition.check(input, by: context.caller)
        return JSONIO.response(data: body, status: .created)
    }

    @Sendable func showCheck(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await recognition.storedCheck(try context.parameter("id"), for: context.caller))
    }

    @Sendable func decide(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try recognition.authorizeClinician(context.caller)
        let (input, body) = try await JSONIO.decode(Recognition.DecisionInput.self, from: request, limit: maxBodyBytes)
        return try await recognition.decide(
            input, by: context.caller, idempotency: Idempotency.of(request, context, body: body)
        ).response
    }

    @Sendable func stats(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.auditor)
        let answer = try await recognition.stats(
            from: try request.time("from", datesAt: utcOffsetMinutes),
            to: try request.time("to", datesAt: utcOffsetMinutes), institutionId: request.query("institution_id"),
            department: request.query("department"), itemCode: request.query("item_code"),
            category: try request.query("category", as: ItemCategory.self), for: context.caller)
        return try JSONIO.response(answer)
    }
}
