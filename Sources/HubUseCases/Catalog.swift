import Foundation
import HubCore
import HubStorage

/// The versioned recognition catalog: the version in force, every version, publishing one, and one item.
public struct Catalog: Sendable {
    let database: any Storage
    let catalog: CatalogStore
    let inForce: CatalogInForce
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = env.catalog
        inForce = CatalogInForce(env)
        clock = env.clock
    }

    /// A version as listed: its summary, and whether it is the one in force.
    public struct VersionSummary: Encodable, Sendable {
        public var info: CatalogVersionInfo
        public var inForce: Bool

        public func encode(to encoder: any Encoder) throws {
            try info.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(inForce, forKey: .inForce)
        }

        enum Keys: String, CodingKey { case inForce = "in_force" }
    }

    /// A page of one version's items.
    public struct ItemsPage: Encodable, Sendable {
        public var version: VersionSummary
        public var items: [CatalogItem]
        public var next: String?
    }

    /// What a page of items may be narrowed to.
    public struct Query: Sendable {
        /// A version's name; none: the version in force.
        public var version: String?
        public var kind: ItemKind?
        public var category: ItemCategory?
        /// The `next` cursor of the previous page.
        public var after: String?
        public var limit: Int

        public init(version: String?, kind: ItemKind?, category: ItemCategory?, after: String?, limit: Int) {
            self.version = version
            self.kind = kind
            self.category = category
            self.after = after
            self.limit = limit
        }
    }

    /// The version named, or the one in force today.
    private func selected(
        _ db: any StoreReader, version asked: String?, at now: Timestamp
    ) throws
        -> (CatalogIndex, VersionSummary)
    {
        let versions = try catalog.versions(db)
        let current = CatalogSchedule.inForce(versions, on: inForce.today(at: now), effectiveFrom: \.effectiveFrom)
        guard let name = asked ?? current?.version else { throw HubError.notFound("catalog version", "in force") }
        guard let info = versions.first(where: { $0.version == name }),
            let index = try catalog.index(db, version: name)
        else {
            throw HubError.notFound("catalog version", name)
        }
        return (index, VersionSummary(info: info, inForce: current?.version == name))
    }

    /// A page of a version's items, in the version's order.
    public func items(_ query: Query, for caller: Caller) async throws -> ItemsPage {
        _ = try caller.authenticated()
        var start = 0
        if let cursor = query.after {
            guard let text = Cursor.decode(cursor), let position = Int(text), position >= 0 else {
                throw HubError.validation("next", "is not a cursor from this API")
            }
            start = position
        }
        let now = clock()
        let (index, summary) = try await database.read { try selected($0, version: query.version, at: now) }
        let matching = index.version.items.enumerated().filter { _, item in
            (query.kind == nil || item.kind == query.kind) && (query.category == nil || item.category == query.category)
        }
        let slice = matching.drop(while: { $0.offset < start }).prefix(query.limit + 1)
        let items = slice.prefix(query.limit).map(\.element)
        let next = slice.count > query.limit ? slice.last.map { Cursor.encode(String($0.offset)) } : nil
        return ItemsPage(version: summary, items: Array(items), next: next)
    }

    /// Every version, the one in force marked.
    public func versions(for caller: Caller) async throws -> [VersionSummary] {
        _ = try caller.authenticated()
        let now = clock()
        return try await database.read { db in
            let current = try inForce.index(db, at: now)?.version.version
            return try catalog.versions(db).map { VersionSummary(info: $0, inForce: $0.version == current) }
        }
    }

    /// Only an admin publishes; checked before the request's body is read, and again by the publication.
    public func authorizePublication(by caller: Caller) throws(HubError) {
        try caller.authenticated().require(.admin)
    }

    /// Publishes a version; it comes into force on its `effective_from` date.
    public func publish(
        _ version: CatalogVersion, by caller: Caller, idempotency: Idempotency?
    ) async throws
        -> Created
    {
        try authorizePublication(by: caller)
        return try await database.create(idempotency: idempotency, now: clock()) { db, now in
            let info = try catalog.publish(db, version, publishedBy: caller.principal?.actor, now: now)
            try db.appendAudit(
                caller.audit(
                    "catalog.publish", "catalog_version", info.version,
                    detail: "items=\(info.itemCount) effective_from=\(info.effectiveFrom)"), at: now)
            return info
        }
    }

    /// One item of a version (by its code or an equivalent one), as its JSON answer: a published version never
    /// changes, so each item's answer is encoded once.
    public func item(_ code: String, version: String?, for caller: Caller) async throws -> Data {
        _ = try caller.authenticated()
        let now = clock()
        let (index, summary) = try await database.shortRead { try selected($0, version: version, at: now) }
        guard let item = index.item(code) else { throw HubError.notFound("catalog item", code) }
        return try catalog.encoded(version: summary.info.version, code: item.code) {
            try HubJSON.encode(ItemAnswer(version: summary.info.version, item: item))
        }
    }

    struct ItemAnswer: Encodable {
        var version: String
        var item: CatalogItem
    }
}
