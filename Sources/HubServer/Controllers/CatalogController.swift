import GRDB
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Hummingbird

/// `/v1/catalog`: the versioned recognition catalog.
struct CatalogController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/catalog", show)
        routes.add(.get, "/v1/catalog/versions", versions)
        routes.add(.post, "/v1/catalog/versions", publish)
        routes.add(.get, "/v1/catalog/items/{code}", item)
    }

    struct VersionSummary: Encodable, Sendable {
        var info: CatalogVersionInfo
        var inForce: Bool

        func encode(to encoder: any Encoder) throws {
            try info.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(inForce, forKey: .inForce)
        }

        enum Keys: String, CodingKey { case inForce = "in_force" }
    }

    struct CatalogPage: Encodable {
        var version: VersionSummary
        var items: [CatalogItem]
        var next: String?
    }

    /// The version named by `?version=`, or the one in force today.
    private func selected(_ db: Database, _ request: Request) throws -> (CatalogIndex, VersionSummary) {
        let versions = try env.catalog.versions(db)
        let current = CatalogSchedule.inForce(versions, on: env.today(at: env.clock()), effectiveFrom: \.effectiveFrom)
        let asked = request.query("version")
        guard let name = asked ?? current?.version else { throw HubError.notFound("catalog version", "in force") }
        guard let info = versions.first(where: { $0.version == name }),
            let index = try env.catalog.index(db, version: name)
        else {
            throw HubError.notFound("catalog version", name)
        }
        return (index, VersionSummary(info: info, inForce: current?.version == name))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try context.authenticated()
        let kind = try request.query("kind", as: ItemKind.self)
        let category = try request.query("category", as: ItemCategory.self)
        let limit = try request.limit()
        var start = 0
        if let cursor = request.cursor {
            guard let text = Cursor.decode(cursor), let position = Int(text), position >= 0 else {
                throw HubError.validation("next", "is not a cursor from this API")
            }
            start = position
        }
        let (index, summary) = try await env.database.read { try selected($0, request) }
        let matching = index.version.items.enumerated().filter { _, item in
            (kind == nil || item.kind == kind) && (category == nil || item.category == category)
        }
        let slice = matching.drop(while: { $0.offset < start }).prefix(limit + 1)
        let items = slice.prefix(limit).map(\.element)
        let next = slice.count > limit ? slice.last.map { Cursor.encode(String($0.offset)) } : nil
        return try JSONIO.response(CatalogPage(version: summary, items: Array(items), next: next))
    }

    @Sendable func versions(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try context.authenticated()
        let now = env.clock()
        let summaries = try await env.database.read { db in
            let current = try env.catalog.inForce(db, on: env.today(at: now))?.version.version
            return try env.catalog.versions(db).map { VersionSummary(info: $0, inForce: $0.version == current) }
        }
        return try JSONIO.response(ListResponse(Page(items: summaries, next: nil)))
    }

    @Sendable func publish(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        // A whole catalog (thousands of items) is larger than an ordinary request.
        let limit = max(env.config.maxBodyBytes, 16 * 1_048_576)
        let (version, body) = try await JSONIO.decode(CatalogVersion.self, from: request, limit: limit)
        return try await env.create(request, context, body: body) { db, now in
            let info = try env.catalog.publish(db, version, publishedBy: context.principal?.actor, now: now)
            try AuditLog.append(
                db,
                context.audit(
                    "catalog.publish", "catalog_version", info.version,
                    detail: "items=\(info.itemCount) effective_from=\(info.effectiveFrom)"), at: now)
            return info
        }
    }

    struct ItemAnswer: Encodable {
        var version: String
        var item: CatalogItem
    }

    @Sendable func item(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try context.authenticated()
        let code = try context.parameter("code")
        let (index, summary) = try await env.database.shortRead { try selected($0, request) }
        guard let item = index.item(code) else { throw HubError.notFound("catalog item", code) }
        // A published version never changes: its items' answers are encoded once.
        let body = try env.catalog.encoded(version: summary.info.version, code: item.code) {
            try HubJSON.encode(ItemAnswer(version: summary.info.version, item: item))
        }
        return JSONIO.response(data: body, status: .ok)
    }
}
