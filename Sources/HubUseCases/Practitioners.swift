import HubCore
import HubStorage

/// The practitioners of member institutions: registering them, reading, listing and changing them.
public struct Practitioners: Sendable {
    let database: any Storage
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        clock = env.clock
    }

    /// Only an admin registers or changes practitioners; checked before the request's body is read, and again by
    /// each change.
    public func authorizeChange(by caller: Caller) throws(HubError) {
        try caller.authenticated().require(.admin)
    }

    public func register(
        _ input: PractitionerInput, in institutionId: String, by caller: Caller, idempotency: Idempotency?
    ) async throws -> Created {
        try authorizeChange(by: caller)
        return try await database.create(idempotency: idempotency, now: clock()) { db, now in
            guard try db.institution(id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            let practitioner = try input.validatedNew(
                id: GeneratedID.make("prc", at: now), institutionId: institutionId, now: now)
            try db.insert(practitioner)
            try db.appendAudit(caller.audit("practitioner.create", "practitioner", practitioner.id), at: now)
            return practitioner
        }
    }

    /// An institution's practitioners, for an admin or the institution's own staff.
    public func list(
        in institutionId: String, after: String?, limit: Int, for caller: Caller
    ) async throws
        -> Page<Practitioner>
    {
        try caller.authenticated().requireAdminOrMember(of: institutionId)
        return try await database.read { db in
            guard try db.institution(id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            return try db.practitioners(institutionId: institutionId, after: after, limit: limit)
        }
    }

    /// One practitioner, for an admin or the staff of the practitioner's institution.
    public func practitioner(_ id: String, for caller: Caller) async throws -> Practitioner {
        let principal = try caller.authenticated()
        guard let practitioner = try await database.read({ try $0.practitioner(id: id) }) else {
            throw HubError.notFound("practitioner", id)
        }
        try principal.requireAdminOrMember(of: practitioner.institutionId)
        return practitioner
    }

    /// Changes a practitioner; roles taken away or a suspension apply to their tokens at once.
    public func update(_ id: String, with input: PractitionerInput, by caller: Caller) async throws -> Practitioner {
        try authorizeChange(by: caller)
        let now = clock()
        return try await database.write { db in
            guard let current = try db.practitioner(id: id) else {
                throw HubError.notFound("practitioner", id)
            }
            let next = try input.applied(to: current, now: now)
            try db.update(next)
            db.invalidateCachedPrincipals()
            try db.appendAudit(caller.audit("practitioner.update", "practitioner", id), at: now)
            return next
        }
    }
}
