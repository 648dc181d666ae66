import HubConfig
import HubCore
import HubFederation
import HubStorage

/// Where the hub sends an institution's notices (reports, critical values, escalations), and the secret that signs
/// them.
public struct Webhooks: Sendable {
    let database: any Storage
    let deliveries: Deliveries
    let outbound: OutboundAddressPolicy
    let hubId: String
    let allowPlainHTTP: Bool
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        deliveries = Deliveries(env)
        outbound = env.outbound
        hubId = env.config.hubId
        allowPlainHTTP = env.config.federationAllowPlainHTTP
        clock = env.clock
    }

    /// The secret is write-only: the answer says whether one is set, never what it is.
    public struct View: Encodable, Sendable {
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

    /// Admins, or the institution's own clinic staff and integration administrators, see the webhook and test it.
    func authorize(_ caller: Caller, _ institutionId: String) throws(HubError) {
        try caller.authenticated().requireAdminOrMember(of: institutionId, roles: [.clinic, .integrationAdmin])
    }

    /// Where an institution's reports and critical values go is set by an admin or the institution's own
    /// integration administrator only: a clinic user could otherwise send them anywhere. Checked before the
    /// request's body is read, and again by each change.
    public func authorizeChange(by caller: Caller, of institutionId: String) throws(HubError) {
        try caller.authenticated().requireAdminOrMember(of: institutionId, roles: [.integrationAdmin])
    }

    public func save(_ input: WebhookInput, for institutionId: String, by caller: Caller) async throws -> View {
        let id = institutionId
        try authorizeChange(by: caller, of: id)
        // Addresses are checked (names resolved) before the write, outside its transaction; a URL that is not a
        // callback URL at all, or plain http:// where it is not allowed, is refused by the validation inside it.
        var problems: [HubError.FieldProblem] = []
        if let url = input.url, CallbackURL.problem(url, allowPlainHTTP: true) == nil,
            let problem = await outbound.problem(url)
        {
            problems.append(.init(field: "url", detail: problem))
        }
        if let url = input.escalationURL, CallbackURL.problem(url, allowPlainHTTP: true) == nil,
            let problem = await outbound.problem(url)
        {
            problems.append(.init(field: "escalation_url", detail: problem))
        }
        if !problems.isEmpty { throw HubError.validation(problems) }
        let now = clock()
        let allowPlainHTTP = allowPlainHTTP
        let saved = try await database.write { db in
            guard try db.institution(id: id) != nil else { throw HubError.notFound("institution", id) }
            let current = try db.webhook(institutionId: id)
            try input.validate(hasSecret: current != nil, allowPlainHTTP: allowPlainHTTP)
            guard let url = input.url, let secret = input.secret ?? current?.secret else {
                throw HubError.validation("url", "is required")
            }
            let webhook = Webhook(
                institutionId: id, url: url, escalationURL: input.escalationURL, secret: secret, updatedAt: now)
            try db.save(webhook)
            try db.appendAudit(
                caller.audit("webhook.save", "institution", id, detail: input.secret != nil ? "secret changed" : nil),
                at: now)
            return webhook
        }
        return View(saved)
    }

    /// Removes the webhook; deliveries still waiting for it then fail as unroutable (dead, replayable).
    public func delete(for institutionId: String, by caller: Caller) async throws {
        let id = institutionId
        try authorizeChange(by: caller, of: id)
        let now = clock()
        try await database.write { db in
            guard try db.deleteWebhook(institutionId: id) else {
                throw HubError.notFound("webhook of institution", id)
            }
            try db.appendAudit(caller.audit("webhook.delete", "institution", id), at: now)
        }
    }

    public func webhook(of institutionId: String, for caller: Caller) async throws -> View {
        try authorize(caller, institutionId)
        guard
            let webhook = try await database.read({ try $0.webhook(institutionId: institutionId) })
        else {
            throw HubError.notFound("webhook of institution", institutionId)
        }
        return View(webhook)
    }

    /// Sends a signed ping through the outbox, so an institution can check its receiver end to end.
    public func test(_ institutionId: String, by caller: Caller) async throws -> Outbox.DeliveryView {
        let id = institutionId
        try authorize(caller, id)
        let now = clock()
        let delivery = try await database.write { db in
            guard try db.institution(id: id) != nil else { throw HubError.notFound("institution", id) }
            guard try db.webhook(institutionId: id) != nil else {
                throw HubError.conflict("institution '\(id)' has no webhook registered")
            }
            let delivery = try deliveries.enqueue(
                db, to: .webhook(institutionId: id), kind: "webhook.ping", subject: id,
                body: Ping(institutionId: id, hubId: hubId, sentAt: now), now: now)
            try db.appendAudit(caller.audit("webhook.test", "institution", id), at: now)
            return delivery
        }
        return Outbox.DeliveryView(delivery: delivery, includeBody: false)
    }
}
