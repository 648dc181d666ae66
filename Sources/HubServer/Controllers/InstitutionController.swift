import HubConfig
import HubCore
import HubStore
import HubUseCases
import Hummingbird

/// `/v1/institutions`: the registry of member institutions.
struct InstitutionController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/institutions", create)
        routes.add(.get, "/v1/institutions", list)
        routes.add(.get, "/v1/institutions/{id}", show)
        routes.add(.patch, "/v1/institutions/{id}", update)
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let (input, body) = try await JSONIO.decode(
            InstitutionInput.self, from: request, limit: env.config.maxBodyBytes)
        return try await env.create(request, context, body: body) { db, now in
            let institution = try input.validatedNew(generatedID: GeneratedID.make("ins", at: now), now: now)
            try RegistryStore.insert(db, institution)
            try AuditLog.append(db, context.audit("institution.create", "institution", institution.id), at: now)
            return institution
        }
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try context.authenticated()
        let level = try request.query("level", as: InstitutionLevel.self)
        let status = try request.query("status", as: RecordStatus.self)
        let region = request.query("region")
        if let region, !(2...6).contains(region.count) || !region.allSatisfy(\.isASCIIDigit) {
            throw HubError.validation(
                "region", "must be 2 to 6 digits of a division code (a prefix selects a province or city)")
        }
        let alliance = request.query("alliance")
        let limit = try request.limit()
        let cursor = request.cursor
        let page = try await env.database.read { db in
            try RegistryStore.institutions(
                db, level: level, region: region, alliance: alliance, status: status, after: cursor, limit: limit)
        }
        return try JSONIO.response(ListResponse(page))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try context.authenticated()
        let id = try context.parameter("id")
        guard let institution = try await env.database.institution(id: id) else {
            throw HubError.notFound("institution", id)
        }
        return try JSONIO.response(institution)
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let id = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(InstitutionInput.self, from: request, limit: env.config.maxBodyBytes)
        let now = env.clock()
        let updated = try await env.database.write { db in
            guard let current = try RegistryStore.institution(db, id: id) else {
                throw HubError.notFound("institution", id)
            }
            let next = try input.applied(to: current, now: now)
            try RegistryStore.update(db, next)
            env.database.invalidatePrincipals(after: db)
            let action =
                current.status != next.status
                ? "institution.\(next.status == .suspended ? "suspend" : "reactivate")" : "institution.update"
            try AuditLog.append(db, context.audit(action, "institution", id), at: now)
            return next
        }
        return try JSONIO.response(updated)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
