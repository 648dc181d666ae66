import HubCore
import HubStorage

/// The registry of member institutions: registering one, reading, listing, changing and suspending them.
public struct Institutions: Sendable {
    let database: any Storage
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        clock = env.clock
    }

    /// What a listing may be narrowed to.
    public struct Query: Sendable {
        public var level: InstitutionLevel?
        public var status: RecordStatus?
        /// A division code prefix (2 to 6 digits): a province, a city or a county.
        public var region: String?
        public var alliance: String?
        public var after: String?
        public var limit: Int

        public init(
            level: InstitutionLevel?, status: RecordStatus?, region: String?, alliance: String?, after: String?,
            limit: Int
        ) {
            self.level = level
            self.status = status
            self.region = region
            self.alliance = alliance
            self.after = after
            self.limit = limit
        }
    }

    /// Only an admin changes the registry; checked before the request's body is read, and again by each change.
    public func authorizeChange(by caller: Caller) throws(HubError) {
        try caller.authenticated().require(.admin)
    }

    public func register(
        _ input: InstitutionInput, by caller: Caller, idempotency: Idempotency?
    ) async throws
        -> Created
    {
        try authorizeChange(by: caller)
        return try await database.create(idempotency: idempotency, now: clock()) { db, now in
            let institution = try input.validatedNew(generatedID: GeneratedID.make("ins", at: now), now: now)
            try db.insert(institution)
            try db.appendAudit(caller.audit("institution.create", "institution", institution.id), at: now)
            return institution
        }
    }

    public func list(_ query: Query, for caller: Caller) async throws -> Page<Institution> {
        _ = try caller.authenticated()
        if let region = query.region, !(2...6).contains(region.count) || !region.allSatisfy(\.isASCIIDigit) {
            throw HubError.validation(
                "region", "must be 2 to 6 digits of a division code (a prefix selects a province or city)")
        }
        return try await database.read { db in
            try db.institutions(
                level: query.level, region: query.region, alliance: query.alliance, status: query.status,
                after: query.after, limit: query.limit)
        }
    }

    public func institution(_ id: String, for caller: Caller) async throws -> Institution {
        _ = try caller.authenticated()
        guard let institution = try await database.institution(id: id) else {
            throw HubError.notFound("institution", id)
        }
        return institution
    }

    /// Changes an institution; suspending one suspends its practitioners' tokens at once.
    public func update(_ id: String, with input: InstitutionInput, by caller: Caller) async throws -> Institution {
        try authorizeChange(by: caller)
        let now = clock()
        return try await database.write { db in
            guard let current = try db.institution(id: id) else {
                throw HubError.notFound("institution", id)
            }
            let next = try input.applied(to: current, now: now)
            try db.update(next)
            db.invalidateCachedPrincipals()
            let action = RegistryChange.action("institution", from: current.status, to: next.status)
            try db.appendAudit(caller.audit(action, "institution", id), at: now)
            return next
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
