import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/institutions/{id}/hl7-applications`: the laboratory and hospital systems an institution connects through the
/// MLLP door; `/v1/institutions/{id}/code-maps`: its own codes for the catalog's items.
struct HL7ApplicationController {
    let applications: HL7Applications
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        applications = HL7Applications(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/institutions/{id}/hl7-applications", create)
        routes.add(.get, "/v1/institutions/{id}/hl7-applications", list)
        routes.add(.get, "/v1/institutions/{id}/hl7-applications/{application}", show)
        routes.add(.patch, "/v1/institutions/{id}/hl7-applications/{application}", update)
        routes.add(.delete, "/v1/institutions/{id}/hl7-applications/{application}", delete)
        routes.add(.get, "/v1/institutions/{id}/code-maps", codeMap)
        routes.add(.put, "/v1/institutions/{id}/code-maps", replaceCodeMap)
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let institutionId = try context.parameter("id")
        try applications.authorizeChange(by: context.caller, of: institutionId)
        let (input, body) = try await JSONIO.decode(HL7ApplicationInput.self, from: request, limit: maxBodyBytes)
        return try await applications.register(
            input, for: institutionId, by: context.caller, idempotency: Idempotency.of(request, context, body: body)
        ).response
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let list = try await applications.applications(of: try context.parameter("id"), for: context.caller)
        return try JSONIO.response(ListResponse(Page(items: list, next: nil)))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(
            try await applications.application(
                try context.parameter("application"), of: try context.parameter("id"), for: context.caller))
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let institutionId = try context.parameter("id")
        try applications.authorizeChange(by: context.caller, of: institutionId)
        let (input, _) = try await JSONIO.decode(HL7ApplicationInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(
            try await applications.update(
                try context.parameter("application"), of: institutionId, with: input, by: context.caller))
    }

    @Sendable func delete(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await applications.delete(
            try context.parameter("application"), of: try context.parameter("id"), by: context.caller)
        return Response(status: .noContent)
    }

    @Sendable func codeMap(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(try await applications.codeMap(of: try context.parameter("id"), for: context.caller))
    }

    @Sendable func replaceCodeMap(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let institutionId = try context.parameter("id")
        try applications.authorizeChange(by: context.caller, of: institutionId)
        let (input, _) = try await JSONIO.decode(
            HL7Applications.CodeMapInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(try await applications.replaceCodeMap(input, of: institutionId, by: context.caller))
    }
}
