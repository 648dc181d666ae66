import Foundation
import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/results`: the registry of results that other institutions may recognize.
struct ResultController {
    let results: Results
    let bulkRegistration: BulkRegistration
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        results = Results(env)
        bulkRegistration = BulkRegistration(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/results", create)
        routes.add(.post, "/v1/results/bulk", bulk)
        routes.add(.get, "/v1/results", list)
        routes.add(.get, "/v1/results/{id}", show)
        routes.add(.post, "/v1/results/{id}/corrections", correct)
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try results.authorizeRegistration(by: context.caller)
        let (input, body) = try await JSONIO.decode(Results.Input.self, from: request, limit: maxBodyBytes)
        return try await results.register(
            input, by: context.caller, idempotency: Idempotency.of(request, context, body: body)
        ).response
    }

    /// One line's answer in a bulk load: its HTTP status, and the result's id or the problem.
    struct LineAnswer: Encodable {
        var line: Int
        var status: Int
        var id: String?
        var code: String?
        var detail: String?
        var field: String?

        init(_ line: BulkRegistration.Line) {
            self.line = line.number
            status = line.problem?.status ?? 201
            id = line.id
            code = line.problem?.code
            detail = line.problem?.detail
            field = line.problem?.field
        }
    }

    /// NDJSON in, NDJSON out: each line is registered on its own (see `BulkRegistration`), and answered in a line of
    /// its own with its status.
    @Sendable func bulk(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try bulkRegistration.authorize(context.caller)
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map {
            $0.trimmingASCIIWhitespace().lowercased()
        }
        guard mediaType == "application/x-ndjson" || mediaType == "application/jsonl" || mediaType == "application/json"
        else {
            throw HubError.unsupportedMediaType("send results as application/x-ndjson, one JSON object a line")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > BulkRegistration.limit {
            throw HubError.payloadTooLarge(limit: BulkRegistration.limit)
        }
        let outcome = try await bulkRegistration.register(
            request.body.map(\.readableBytesView).makeAsyncIterator(), by: context.caller)
        let answers = outcome.lines.map(LineAnswer.init)
        var output: [UInt8] = []
        output.reserveCapacity(answers.count * 48)
        for answer in answers {
            try HubJSON.append(answer, to: &output)
            output.append(0x0A)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/x-ndjson", .init("X-Results-Created")!: String(outcome.created),
                .init("X-Results-Rejected")!: String(answers.count - outcome.created),
                .init("X-Results-Not-Stored")!: String(answers.count { $0.status >= 500 }),
            ],
            body: .init(byteBuffer: .init(bytes: output)))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        switch try await results.result(
            try context.parameter("id"), at: request.query("hub_id"), for: context.caller)
        {
        case .local(let view): return try JSONIO.response(view)
        case .remote(let view): return try JSONIO.response(view)
        }
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let found = try await results.list(
            patient: request.query("patient"), itemCode: request.query("item_code"), for: context.caller)
        return try JSONIO.response(ListResponse(Page(items: found, next: nil)))
    }

    @Sendable func correct(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try results.authorizeCorrection(by: context.caller)
        let id = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(Results.Correction.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(try await results.correct(id, with: input, by: context.caller))
    }
}
