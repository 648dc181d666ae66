import Foundation
import HubCore
import HubStorage

/// What is waiting to leave the hub, what failed for good, and replaying it, for operators.
public struct Outbox: Sendable {
    let database: any Storage
    let signal: OutboxSignal
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        signal = env.outbox
        clock = env.clock
    }

    /// A delivery as operators see it: the body is shown on the single view only.
    public struct DeliveryView: Encodable, Sendable {
        var delivery: OutboxDelivery
        var includeBody: Bool

        public init(delivery: OutboxDelivery, includeBody: Bool) {
            self.delivery = delivery
            self.includeBody = includeBody
        }

        public func encode(to encoder: any Encoder) throws {
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

    public func list(
        state: DeliveryState?, destination: String?, after: String?, limit: Int, for caller: Caller
    ) async throws -> Page<DeliveryView> {
        try caller.authenticated().require(.admin)
        let page = try await database.read {
            try $0.deliveries(state: state, destination: destination, after: after, limit: limit)
        }
        return Page(items: page.items.map { DeliveryView(delivery: $0, includeBody: false) }, next: page.next)
    }

    /// One delivery with its body. The body may carry patient data (a report, a result, a forwarded exam): showing it
    /// is a read of that data, audited in the same transaction, so no body is shown without its record.
    public func delivery(_ id: String, for caller: Caller) async throws -> DeliveryView {
        try caller.authenticated().require(.admin)
        let now = clock()
        let delivery = try await database.write { db in
            guard let delivery = try db.delivery(id: id) else { throw HubError.notFound("delivery", id) }
            try db.appendAudit(
                caller.audit(
                    "outbox.read_body", "delivery", id,
                    detail: "kind=\(delivery.kind) destination=\(delivery.destination) bytes=\(delivery.body.count)"),
                at: now)
            return delivery
        }
        return DeliveryView(delivery: delivery, includeBody: true)
    }

    /// Sends a dead delivery again from its first attempt.
    public func replay(_ id: String, by caller: Caller) async throws -> DeliveryView {
        try caller.authenticated().require(.admin)
        let now = clock()
        let signal = signal
        let delivery = try await database.write { db in
            let delivery = try db.replayDelivery(id: id, now: now)
            try db.appendAudit(caller.audit("outbox.replay", "delivery", id), at: now)
            db.whenCommitted { signal.signal() }
            return delivery
        }
        return DeliveryView(delivery: delivery, includeBody: false)
    }
}
