import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/persons` and `/v1/person-reviews`: the master patient index, who a person is across institutions, and the
/// decisions a person takes on it.
struct PatientIndexController {
    let index: PatientIndex
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        index = PatientIndex(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/persons", find)
        routes.add(.get, "/v1/persons/{id}", show)
        routes.add(.post, "/v1/persons/{id}/unlink", unlink)
        routes.add(.post, "/v1/persons/{id}/merge", merge)
        routes.add(.get, "/v1/person-reviews", reviews)
        routes.add(.post, "/v1/person-reviews/{id}/decision", decide)
    }

    /// `?identifier=system|value` (or a bare resident ID): the person it belongs to.
    @Sendable func find(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await index.person(identifier: request.query("identifier") ?? "", for: context.caller))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await index.person(id: try context.parameter("id"), for: context.caller))
    }

    struct UnlinkInput: Decodable {
        var identifier: PatientIdentifier?
    }

    struct UnlinkAnswer: Encodable {
        var remaining: Person
        var separated: Person
    }

    @Sendable func unlink(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let (input, _) = try await JSONIO.decode(UnlinkInput.self, from: request, limit: maxBodyBytes)
        let (remaining, separated) = try await index.unlink(
            try context.parameter("id"), identifier: input.identifier, by: context.caller)
        return try JSONIO.response(UnlinkAnswer(remaining: remaining, separated: separated))
    }

    struct MergeInput: Decodable {
        var merged: String?

        enum CodingKeys: String, CodingKey {
            case merged = "merged_person_id"
        }
    }

    @Sendable func merge(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let (input, _) = try await JSONIO.decode(MergeInput.self, from: request, limit: maxBodyBytes)
        guard let merged = input.merged else { throw HubError.validation("merged_person_id", "is required") }
        return try JSONIO.response(try await index.merge(try context.parameter("id"), merged, by: context.caller))
    }

    @Sendable func reviews(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let page = try await index.reviews(
            status: try request.query("status", as: PersonReview.Status.self), after: request.cursor,
            limit: try request.limit(), for: context.caller)
        return try JSONIO.response(ListResponse(page))
    }

    struct DecisionInput: Decodable {
        var decision: PersonReview.Status?
    }

    @Sendable func decide(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let (input, _) = try await JSONIO.decode(DecisionInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(
            try await index.decide(try context.parameter("id"), input.decision, by: context.caller))
    }
}
