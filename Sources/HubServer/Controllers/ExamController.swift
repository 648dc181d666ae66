import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/exams`: submission, reading back, and listing.
struct ExamController {
    let exams: Exams
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        exams = Exams(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/exams", submit)
        routes.add(.get, "/v1/exams", list)
        routes.add(.get, "/v1/exams/{id}", show)
    }

    @Sendable func submit(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try exams.authorizeSubmission(by: context.caller)
        let (input, body) = try await JSONIO.decode(ExamInput.self, from: request, limit: maxBodyBytes)
        return try await exams.submit(
            input, by: context.caller, idempotency: Idempotency.of(request, context, body: body)
        ).response
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        return try JSONIO.response(try await exams.exam(id, for: context.caller))
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try exams.authorizeList(by: context.caller)
        let step = try request.query("status", as: ExamStep.self)
        let centerId = request.query("center_id")
        var patient: PatientIdentifier?
        if let text = request.query("patient") {
            guard let identifier = PatientIdentifier(query: text) else {
                throw HubError.validation("patient", "use system|value, or a bare resident ID")
            }
            patient = identifier
        }
        let query = ExamQuery(
            step: step, centerId: centerId, patient: patient, limit: try request.limit(), cursor: request.cursor)
        return try JSONIO.response(ListResponse(try await exams.list(query, for: context.caller)))
    }
}
