import HubConfig
import HubCore
import HubStorage

/// The shared diagnostic centers, their services and qualifications; a listing may add the centers peer hubs
/// publish in their directories.
public struct Centers: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let hubId: String
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        hubId = env.config.hubId
        clock = env.clock
    }

    /// What a listing may be narrowed to.
    public struct Query: Sendable {
        public var kind: CenterKind?
        public var status: RecordStatus?
        /// A catalog code or one of its equivalents (a LOINC code, a local alias).
        public var item: String?
        public var institutionId: String?
        /// `peers`: the peers' centers follow the last page of local ones.
        public var include: String?
        public var after: String?
        public var limit: Int

        public init(
            kind: CenterKind?, status: RecordStatus?, item: String?, institutionId: String?, include: String?,
            after: String?, limit: Int
        ) {
            self.kind = kind
            self.status = status
            self.item = item
            self.institutionId = institutionId
            self.include = include
            self.after = after
            self.limit = limit
        }
    }

    /// A center in a listing that includes the peers' centers: each marked with the hub that hosts it.
    public enum Entry: Encodable, Sendable {
        case local(Center, hubId: String)
        case remote(RemoteCenter)

        public func encode(to encoder: any Encoder) throws {
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

    /// A listing: local centers only, or (`include=peers`) every center marked with its hub.
    public enum Listing: Sendable {
        case local(Page<Center>)
        case withPeers(Page<Entry>)
    }

    /// Only an admin changes the registry; checked before the request's body is read, and again by each change.
    public func authorizeChange(by caller: Caller) throws(HubError) {
        try caller.authenticated().require(.admin)
    }

    public func register(_ input: CenterInput, by caller: Caller, idempotency: Idempotency?) async throws -> Created {
        try authorizeChange(by: caller)
        return try await database.create(idempotency: idempotency, now: clock()) { db, now in
            let index = try catalog.required(db, at: now, Self.noCatalog)
            let center = try input.validatedNew(
                generatedID: GeneratedID.make("ctr", at: now), catalog: index.item, now: now)
            guard let host = try db.institution(id: center.institutionId) else {
                throw HubError.validation("institution_id", "institution '\(center.institutionId)' does not exist")
            }
            if host.status != .active {
                throw HubError.validation("institution_id", "institution '\(host.id)' is suspended")
            }
            try db.insert(center)
            try db.appendAudit(caller.audit("center.create", "center", center.id), at: now)
            return center
        }
    }

    public func list(_ query: Query, for caller: Caller) async throws -> Listing {
        _ = try caller.authenticated()
        if let include = query.include, include != "peers" {
            throw HubError.validation("include", "'\(include)' is not one of: peers")
        }
        let now = clock()
        let withPeers = query.include == "peers"
        let (page, remote) = try await database.read { db in
            // An equivalent code (a LOINC code, a local alias) finds the centers offering the catalog item.
            let code = try query.item.map { try catalog.index(db, at: now)?.item($0)?.code ?? $0 }
            let page = try db.centers(
                kind: query.kind, item: code, institutionId: query.institutionId, status: query.status,
                after: query.after, limit: query.limit)
            // Peers' centers follow the last page of local ones; they are active by definition of a directory.
            let remote =
                withPeers && page.next == nil && query.institutionId == nil && (query.status ?? .active) == .active
                ? try db.remoteCenters(kind: query.kind, item: code) : []
            return (page, remote)
        }
        guard withPeers else { return .local(page) }
        let entries = page.items.map { Entry.local($0, hubId: hubId) } + remote.map(Entry.remote)
        return .withPeers(Page(items: entries, next: page.next))
    }

    public func center(_ id: String, for caller: Caller) async throws -> Center {
        _ = try caller.authenticated()
        guard let center = try await database.read({ try $0.center(id: id) }) else {
            throw HubError.notFound("center", id)
        }
        return center
    }

    public func update(_ id: String, with input: CenterInput, by caller: Caller) async throws -> Center {
        try authorizeChange(by: caller)
        let now = clock()
        return try await database.write { db in
            guard let current = try db.center(id: id) else { throw HubError.notFound("center", id) }
            let index = try catalog.required(db, at: now, Self.noCatalog)
            let next = try input.applied(to: current, catalog: index.item, now: now)
            try db.update(next)
            let action = RegistryChange.action("center", from: current.status, to: next.status)
            try db.appendAudit(caller.audit(action, "center", id), at: now)
            return next
        }
    }

    static let noCatalog = "no recognition catalog is in force; publish one first"
}
