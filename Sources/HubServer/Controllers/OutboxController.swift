import Foundation
import GRDB
import HubConfig
import HubCore
import HubFederation
import HubStore
import HubUseCases
import Hummingbird

/// `/v1/outbox`: operators see what is waiting to leave the hub, what failed for good, and replay it.
struct OutboxController {
    let env: HubEnvironment
    let worker: OutboxWorker

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/outbox", list)
        routes.add(.get, "/v1/outbox/{id}", show)
        routes.add(.post, "/v1/outbox/{id}/replay", replay)
    }

    /// A delivery as operators see it: the body is shown on the single view only.
    struct DeliveryView: Encodable, Sendable {
        var delivery: OutboxDelivery
        var includeBody: Bool

        func encode(to encoder: any Encoder) throws {
            try delivery.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(delivery.body.count, forKey: .bodyBytes)
            if includeBody { try container.encode(String(decoding: delivery.body, as: UTF8.self), forKey: .body) }
        }

        enum Keys: String, CodingKey {
            case body
            case bodyBytes = "body_bytes"
        }
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let state = try request.query("state", as: DeliveryState.self)
        let destination = request.query("destination")
        let limit = try request.limit()
        let cursor = request.cursor
        let page = try await env.database.read {
            try OutboxStore.list($0, state: state, destination: destination, after: cursor, limit: limit)
        }
        return try JSONIO.response(
            ListResponse(
                Page(items: page.items.map { DeliveryView(delivery: $0, includeBody: false) }, next: page.next)))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let id = try context.parameter("id")
        let now = env.clock()
        // A delivery's body may carry patient data (a report, a result, a forwarded exam): showing it is a read of
        // that data, audited in the same transaction, so no body is shown without its record.
        let delivery = try await env.database.write { db in
            guard let delivery = try OutboxStore.delivery(db, id: id) else { throw HubError.notFound("delivery", id) }
            try AuditLog.append(
                db,
                context.audit(
                    "outbox.read_body", "delivery", id,
                    detail: "kind=\(delivery.kind) destination=\(delivery.destination) bytes=\(delivery.body.count)"),
                at: now)
            return delivery
        }
        return try JSONIO.response(DeliveryView(delivery: delivery, includeBody: true))
    }

    @Sendable func replay(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.admin)
        let id = try context.parameter("id")
        let now = env.clock()
        let signal = env.outbox
        let delivery = try await env.database.write { db in
            let delivery = try OutboxStore.replay(db, id: id, now: now)
            try AuditLog.append(db, context.audit("outbox.replay", "delivery", id), at: now)
            db.afterNextTransaction { _ in signal.signal() }
            return delivery
        }
        return try JSONIO.response(DeliveryView(delivery: delivery, includeBody: false))
    }
}

/// `/v1/institutions/{id}/webhook`: where the hub sends an institution's notices, and the secret that signs them.
struct WebhookController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.put, "/v1/institutions/{id}/webhook", save)
        routes.add(.get, "/v1/institutions/{id}/webhook", show)
        routes.add(.delete, "/v1/institutions/{id}/webhook", delete)
        routes.add(.post, "/v1/institutions/{id}/webhook/test", test)
    }

    /// The secret is write-only: the answer says whether one is set, never what it is.
    struct WebhookView: Encodable, Sendable {
        var institutionId: String
        var url: String
        var escalationURL: String?
        var secretSet: Bool
        var updatedAt: Timestamp

        init(_ webhook: Webhook) {
            institutionId = webhook.institutionId
            url = webhook.url
            escalationURL = webhook.escalationURL
            secretSet = !webhook.secret.isEmpty
            updatedAt = webhook.updatedAt
        }

        enum CodingKeys: String, CodingKey {
            case url
            case institutionId = "institution_id"
            case escalationURL = "escalation_url"
            case secretSet = "secret_set"
            case updatedAt = "updated_at"
        }
    }

    /// Admins, or the institution's own clinic staff and integration administrators.
    private func authorize(_ context: HubRequestContext, _ institutionId: String) throws {
        try context.authenticated().requireAdminOrMember(of: institutionId, roles: [.clinic, .integrationAdmin])
    }

    /// Where an institution's reports and critical values go is set by an admin or the institution's own
    /// integration administrator only: a clinic user could otherwise send them anywhere.
    private func authorizeChange(_ context: HubRequestContext, _ institutionId: String) throws {
        try context.authenticated().requireAdminOrMember(of: institutionId, roles: [.integrationAdmin])
    }

    @Sendable func save(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        try authorizeChange(context, id)
        let (input, _) = try await JSONIO.decode(WebhookInput.self, from: request, limit: env.config.maxBodyBytes)
        // Addresses are checked (names resolved) before the write, outside its transaction; a URL that is not a
        // callback URL at all, or plain http:// where it is not allowed, is refused by the validation inside it.
        var problems: [HubError.FieldProblem] = []
        if let url = input.url, CallbackURL.problem(url, allowPlainHTTP: true) == nil,
            let problem = await env.outbound.problem(url)
        {
            problems.append(.init(field: "url", detail: problem))
        }
        if let url = input.escalationURL, CallbackURL.problem(url, allowPlainHTTP: true) == nil,
            let problem = await env.outbound.problem(url)
        {
            problems.append(.init(field: "escalation_url", detail: problem))
        }
        if !problems.isEmpty { throw HubError.validation(problems) }
        let now = env.clock()
        let saved = try await env.database.write { db in
            guard try RegistryStore.institution(db, id: id) != nil else { throw HubError.notFound("institution", id) }
            let current = try WebhookStore.webhook(db, institutionId: id)
            try input.validate(hasSecret: current != nil, allowPlainHTTP: env.config.federationAllowPlainHTTP)
            let webhook = Webhook(
                institutionId: id, url: input.url!, escalationURL: input.escalationURL,
                secret: input.secret ?? current!.secret, updatedAt: now)
            try WebhookStore.save(db, webhook)
            try AuditLog.append(
                db,
                context.audit("webhook.save", "institution", id, detail: input.secret != nil ? "secret changed" : nil),
                at: now)
            return webhook
        }
        return try JSONIO.response(WebhookView(saved))
    }

    /// Removes the webhook; deliveries still waiting for it then fail as unroutable (dead, replayable).
    @Sendable func delete(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        try authorizeChange(context, id)
        let now = env.clock()
        try await env.database.write { db in
            guard try WebhookStore.delete(db, institutionId: id) else {
                throw HubError.notFound("webhook of institution", id)
            }
            try AuditLog.append(db, context.audit("webhook.delete", "institution", id), at: now)
        }
        return Response(status: .noContent)
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        try authorize(context, id)
        guard let webhook = try await env.database.read({ try WebhookStore.webhook($0, institutionId: id) }) else {
            throw HubError.notFound("webhook of institution", id)
        }
        return try JSONIO.response(WebhookView(webhook))
    }

    struct Ping: Encodable {
        var event = "webhook.ping"
        var institutionId: String
        var hubId: String
        var sentAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case event
            case institutionId = "institution_id"
            case hubId = "hub_id"
            case sentAt = "sent_at"
        }
    }

    /// Sends a signed ping through the outbox, so an institution can check its receiver end to end.
    @Sendable func test(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        try authorize(context, id)
        let now = env.clock()
        let delivery = try await env.database.write { db in
            guard try RegistryStore.institution(db, id: id) != nil else { throw HubError.notFound("institution", id) }
            guard try WebhookStore.webhook(db, institutionId: id) != nil else {
                throw HubError.conflict("institution '\(id)' has no webhook registered")
            }
            let delivery = try env.enqueue(
                db, destination: "webhook:\(id)", kind: "webhook.ping", subject: id,
                body: Ping(institutionId: id, hubId: env.config.hubId, sentAt: now), now: now)
            try AuditLog.append(db, context.audit("webhook.test", "institution", id), at: now)
            return delivery
        }
        return try JSONIO.response(
            OutboxController.DeliveryView(delivery: delivery, includeBody: false), status: .accepted)
    }
}
