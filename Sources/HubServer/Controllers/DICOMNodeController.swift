import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird

/// `/v1/institutions/{id}/dicom-nodes`: the modalities, archives and workstations an institution connects through
/// the DIMSE door.
struct DICOMNodeController {
    let nodes: DICOMNodes
    let maxBodyBytes: Int

    init(env: HubEnvironment) {
        nodes = DICOMNodes(env)
        maxBodyBytes = env.config.maxBodyBytes
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/institutions/{id}/dicom-nodes", create)
        routes.add(.get, "/v1/institutions/{id}/dicom-nodes", list)
        routes.add(.get, "/v1/institutions/{id}/dicom-nodes/{node}", show)
        routes.add(.patch, "/v1/institutions/{id}/dicom-nodes/{node}", update)
        routes.add(.delete, "/v1/institutions/{id}/dicom-nodes/{node}", delete)
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let institutionId = try context.parameter("id")
        try nodes.authorizeChange(by: context.caller, of: institutionId)
        let (input, body) = try await JSONIO.decode(DICOMNodeInput.self, from: request, limit: maxBodyBytes)
        return try await nodes.register(
            input, for: institutionId, by: context.caller, idempotency: Idempotency.of(request, context, body: body)
        ).response
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let list = try await nodes.nodes(of: try context.parameter("id"), for: context.caller)
        return try JSONIO.response(ListResponse(Page(items: list, next: nil)))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try JSONIO.response(
            try await nodes.node(try context.parameter("node"), of: try context.parameter("id"), for: context.caller))
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let institutionId = try context.parameter("id")
        try nodes.authorizeChange(by: context.caller, of: institutionId)
        let (input, _) = try await JSONIO.decode(DICOMNodeInput.self, from: request, limit: maxBodyBytes)
        return try JSONIO.response(
            try await nodes.update(try context.parameter("node"), of: institutionId, with: input, by: context.caller))
    }

    @Sendable func delete(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await nodes.delete(try context.parameter("node"), of: try context.parameter("id"), by: context.caller)
        return Response(status: .noContent)
    }
}
