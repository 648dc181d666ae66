import HubConfig
import HubCore
import HubStorage

/// Adds deliveries to the outbox inside the caller's transaction, with the hub's retry policy, and wakes the outbox
/// worker once the transaction commits.
public struct Deliveries: Sendable {
    let policy: RetryPolicy
    let signal: OutboxSignal

    public init(_ env: HubEnvironment) {
        policy = env.config.retryPolicy
        signal = env.outbox
    }

    /// `path` is appended to a peer's address; `idempotencyKey` (default: the delivery's id) lets the receiver drop
    /// repeats of the same message.
    @discardableResult
    public func enqueue(
        _ db: any StoreWriter, to destination: Destination, kind: String, subject: String?, path: String? = nil,
        idempotencyKey: String? = nil, body: some Encodable, now: Timestamp
    ) throws -> OutboxDelivery {
        try db.enqueue(
            destination: destination.description, kind: kind, subject: subject, path: path,
            body: try HubJSON.encode(body),
            idempotencyKey: idempotencyKey, policy: policy, now: now, signal: signal)
    }
}
