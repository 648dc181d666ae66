import GRDB
import HubCore
import HubStore
import Hummingbird

/// `/v1/centers`: the shared diagnostic centers and their qualifications.
struct CenterController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/centers", create)
        routes.add(.get, "/v1/centers", list)
        routes.add(.get, "/v1/centers/{id}", show)
        routes.add(.patch, "/v1/centers/{id}", update)
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.caller().require(.admin)
        let (input, body) = try await JSONIO.decode(CenterInput.self, from: request, limit: env.config.maxBodyBytes)
        return try await env.create(request, context, body: body) { db, now in
            let catalog = try currentCatalog(db, now)
            let center = try input.validatedNew(
                generatedID: GeneratedID.make("ctr", at: now), catalog: catalog.item, now: now)
            guard let host = try RegistryStore.institution(db, id: center.institutionId) else {
                throw HubError.validation("institution_id", "institution '\(center.institutionId)' does not exist")
            }
            if host.status != .active {
                throw HubError.validation("institution_id", "institution '\(host.id)' is suspended")
            }
            try RegistryStore.insert(db, center)
            try AuditLog.append(db, context.audit("center.create", "center", center.id), at: now)
            return center
        }
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try context.caller()
        let kind = try request.query("kind", as: CenterKind.self)
        let status = try request.query("status", as: RecordStatus.self)
        let item = request.query("item")
        let institutionId = request.query("institution_id")
        let limit = try request.limit()
        let cursor = request.cursor
        let now = env.clock()
        let page = try await env.database.read { db in
            // An equivalent code (a LOINC code, a local alias) finds the centers offering the catalog item.
            let code = try item.map { try env.catalog.inForce(db, on: env.today(at: now))?.item($0)?.code ?? $0 }
            return try RegistryStore.centers(
                db, kind: kind, item: code, institutionId: institutionId, status: status, after: cursor, limit: limit)
        }
        return try JSONIO.response(ListResponse(page))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try context.caller()
        let id = try context.parameter("id")
        guard let center = try await env.database.read({ try RegistryStore.center($0, id: id) }) else {
            throw HubError.notFound("center", id)
        }
        return try JSONIO.response(center)
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.caller().require(.admin)
        let id = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(CenterInput.self, from: request, limit: env.config.maxBodyBytes)
        let now = env.clock()
        let updated = try await env.database.write { db in
            guard let current = try RegistryStore.center(db, id: id) else { throw HubError.notFound("center", id) }
            let catalog = try currentCatalog(db, now)
            let next = try input.applied(to: current, catalog: catalog.item, now: now)
            try RegistryStore.update(db, next)
            let action =
                current.status != next.status
                ? "center.\(next.status == .suspended ? "suspend" : "reactivate")" : "center.update"
            try AuditLog.append(db, context.audit(action, "center", id), at: now)
            return next
        }
        return try JSONIO.response(updated)
    }

    private func currentCatalog(_ db: Database, _ now: Timestamp) throws -> CatalogIndex {
        guard let catalog = try env.catalog.inForce(db, on: env.today(at: now)) else {
            throw HubError.conflict("no recognition catalog is in force; publish one first")
        }
        return catalog
    }
}
