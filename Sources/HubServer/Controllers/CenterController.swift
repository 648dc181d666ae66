import GRDB
import HubConfig
import HubCore
import HubStore
import HubUseCases
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
        try context.authenticated().require(.admin)
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
        _ = try context.authenticated()
        let kind = try request.query("kind", as: CenterKind.self)
        let status = try request.query("status", as: RecordStatus.self)
        let item = request.query("item")
        let institutionId = request.query("institution_id")
        let limit = try request.limit()
        let cursor = request.cursor
        let include = request.query("include")
        if let include, include != "peers" {
            throw HubError.validation("include", "'\(include)' is not one of: peers")
        }
        let now = env.clock()
        let hubId = env.config.hubId
        let (page, remote) = try await env.database.read { db in
            // An equivalent code (a LOINC code, a local alias) finds the centers offering the catalog item.
            let code = try item.map { try env.catalog.inForce(db, on: env.today(at: now))?.item($0)?.code ?? $0 }
            let page = try RegistryStore.centers(
                db, kind: kind, item: code, institutionId: institutionId, status: status, after: cursor, limit: limit)
            // Peers' centers follow the last page of local ones; they are active by definition of a directory.
            let remote =
                include == "peers" && page.next == nil && institutionId == nil && (status ?? .active) == .active
                ? try PeerStore.remoteCenters(db, kind: kind, item: code) : []
            return (page, remote)
        }
        guard include == "peers" else { return try JSONIO.response(ListResponse(page)) }
        let entries = page.items.map { CenterEntry.local($0, hubId: hubId) } + remote.map(CenterEntry.remote)
        return try JSONIO.response(ListResponse(Page(items: entries, next: page.next)))
    }

    /// A center in a listing that includes the peers' centers: each marked with the hub that hosts it.
    enum CenterEntry: Encodable, Sendable {
        case local(Center, hubId: String)
        case remote(RemoteCenter)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            switch self {
            case .local(let center, let hubId):
                try center.encode(to: encoder)
                try container.encode(hubId, forKey: .hubId)
                try container.encode(false, forKey: .remote)
            case .remote(let center):
                try container.encode(center.hubId, forKey: .hubId)
                try container.encode(true, forKey: .remote)
                try container.encode(center.centerId, forKey: .id)
                try container.encode(center.name, forKey: .name)
                try container.encode(center.kind, forKey: .kind)
                try container.encode(center.institutionId, forKey: .institutionId)
                try container.encode(center.items, forKey: .items)
                try container.encode(center.turnaroundMinutes, forKey: .turnaroundMinutes)
                try container.encode(RecordStatus.active, forKey: .status)
            }
        }

        enum Keys: String, CodingKey {
            case id, name, kind, items, status, remote
            case hubId = "hub_id"
            case institutionId = "institution_id"
            case turnaroundMinutes = "turnaround_minutes"
        }
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try context.authenticated()
        let id = try context.parameter("id")
        guard let center = try await env.database.read({ try RegistryStore.center($0, id: id) }) else {
            throw HubError.notFound("center", id)
        }
        return try JSONIO.response(center)
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
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
