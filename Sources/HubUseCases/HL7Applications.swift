import HubCore
import HubStorage

/// The HL7 applications institutions register (`/v1/institutions/{id}/hl7-applications`) and their code maps
/// (`/v1/institutions/{id}/code-maps`), and who sent a message: a message is taken only from a registered
/// application, at its address, and acts with its institution's rights.
public struct HL7Applications: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        clock = env.clock
    }

    /// Applications and code maps are changed by an admin or the institution's integration administrator; checked
    /// before the request's body is read, and again by each change.
    public func authorizeChange(by caller: Caller, of institutionId: String) throws(HubError) {
        try caller.authenticated().requireAdminOrMember(of: institutionId, roles: [.integrationAdmin])
    }

    /// An admin, or any staff of the institution, sees them.
    func authorizeRead(by caller: Caller, of institutionId: String) throws(HubError) {
        try caller.authenticated().requireAdminOrMember(of: institutionId)
    }

    public func register(
        _ input: HL7ApplicationInput, for institutionId: String, by caller: Caller, idempotency: Idempotency?
    ) async throws -> Created {
        try authorizeChange(by: caller, of: institutionId)
        return try await database.create(idempotency: idempotency, now: clock()) { db, now in
            guard try db.institution(id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            let application = try input.validatedNew(
                id: GeneratedID.make("hl7", at: now), institutionId: institutionId, now: now)
            try db.insert(application)
            try db.appendAudit(
                caller.audit(
                    "hl7_application.create", "hl7_application", application.id,
                    detail: "application=\(application.application) facility=\(application.facility)"),
                at: now)
            return application
        }
    }

    public func applications(of institutionId: String, for caller: Caller) async throws -> [HL7Application] {
        try authorizeRead(by: caller, of: institutionId)
        return try await database.read { db in
            guard try db.institution(id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            return try db.hl7Applications(institutionId: institutionId)
        }
    }

    public func application(
        _ id: String, of institutionId: String, for caller: Caller
    ) async throws
        -> HL7Application
    {
        try authorizeRead(by: caller, of: institutionId)
        guard let found = try await database.read({ try $0.hl7Application(id: id) }),
            found.institutionId == institutionId
        else { throw HubError.notFound("HL7 application", id) }
        return found
    }

    public func update(
        _ id: String, of institutionId: String, with input: HL7ApplicationInput, by caller: Caller
    ) async throws -> HL7Application {
        try authorizeChange(by: caller, of: institutionId)
        let now = clock()
        return try await database.write { db in
            guard let current = try db.hl7Application(id: id), current.institutionId == institutionId else {
                throw HubError.notFound("HL7 application", id)
            }
            let next = try input.applied(to: current, now: now)
            try db.update(next)
            try db.appendAudit(
                caller.audit(
                    "hl7_application.update", "hl7_application", id,
                    detail: "application=\(next.application) facility=\(next.facility)"),
                at: now)
            return next
        }
    }

    public func delete(_ id: String, of institutionId: String, by caller: Caller) async throws {
        try authorizeChange(by: caller, of: institutionId)
        let now = clock()
        try await database.write { db in
            guard let current = try db.hl7Application(id: id), current.institutionId == institutionId else {
                throw HubError.notFound("HL7 application", id)
            }
            _ = try db.deleteHL7Application(id: id)
            try db.appendAudit(
                caller.audit(
                    "hl7_application.delete", "hl7_application", id, detail: "application=\(current.application)"),
                at: now)
        }
    }

    // MARK: Code maps

    public struct CodeMapInput: Sendable, Codable {
        public var entries: [CodeMap.Entry]?
    }

    /// The institution's code map; an empty one when it has none.
    public func codeMap(of institutionId: String, for caller: Caller) async throws -> CodeMap {
        try authorizeRead(by: caller, of: institutionId)
        return try await database.read { db in
            guard try db.institution(id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            return try db.codeMap(institutionId: institutionId)
                ?? CodeMap(institutionId: institutionId, entries: [], updatedAt: Timestamp(millisecondsSinceEpoch: 0))
        }
    }

    /// Replaces the institution's code map; every entry must name an item of the catalog in force.
    public func replaceCodeMap(
        _ input: CodeMapInput, of institutionId: String, by caller: Caller
    ) async throws
        -> CodeMap
    {
        try authorizeChange(by: caller, of: institutionId)
        let now = clock()
        let catalog = catalog
        return try await database.write { db in
            guard try db.institution(id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            var v = Validator()
            let entries = v.require(input.entries, "entries") ?? []
            if entries.count > 10_000 { v.fail("entries", "at most 10000 entries") }
            let index = try catalog.index(db, at: now)
            var seen = Set<String>()
            for (i, entry) in entries.enumerated() {
                _ = v.text(entry.code, "entries[\(i)].code", maxLength: 100)
                if let system = entry.system { _ = v.text(system, "entries[\(i)].system", maxLength: 100) }
                if index?.item(entry.itemCode) == nil {
                    v.fail("entries[\(i)].item_code", "'\(entry.itemCode)' is not in the catalog in force")
                }
                if !seen.insert("\(entry.system ?? "")|\(entry.code)").inserted {
                    v.fail("entries[\(i)].code", "is mapped twice")
                }
            }
            try v.check()
            let map = CodeMap(institutionId: institutionId, entries: entries, updatedAt: now)
            try db.save(map)
            try db.appendAudit(
                caller.audit("code_map.replace", "institution", institutionId, detail: "entries=\(entries.count)"),
                at: now)
            return map
        }
    }

    // MARK: Messages

    /// Why a message is refused before it is read: its sender names no registered application, the application's
    /// institution is not active, or the connection comes from another address than the application's.
    public struct Refusal: Error, Sendable, Equatable {
        public var reason: String
    }

    /// The application a message from `application`/`facility` over a connection from `address` is, or why it is
    /// refused. `hostAddresses` resolves a host name to the addresses it stands for.
    public func sender(
        application: String, facility: String, address: String,
        hostAddresses: @Sendable (String) async -> Set<String>
    ) async throws -> HL7Application {
        let found = try await database.shortRead { db -> (HL7Application, Institution?)? in
            guard let sender = try db.hl7Application(application: application, facility: facility) else { return nil }
            return (sender, try db.cachedInstitution(id: sender.institutionId))
        }
        guard let (sender, institution) = found else {
            throw Refusal(reason: "'\(application)' of facility '\(facility)' is not a registered HL7 application")
        }
        guard institution?.status == .active else {
            throw Refusal(reason: "the institution of HL7 application '\(application)' is not active")
        }
        guard await hostAddresses(sender.host).contains(address) else {
            throw Refusal(reason: "HL7 application '\(application)' is registered at \(sender.host), not \(address)")
        }
        return sender
    }
}
