import Foundation
import HubCore
import Synchronization

/// A message that must leave the hub, kept until it is delivered or an operator gives up on it. Its JSON form (for
/// operators) leaves the body out: bodies may carry patient data and are shown only on request.
public struct OutboxDelivery: Sendable, Encodable, Equatable {
    public var id: String
    /// Who receives it: `webhook:<institution>`, `escalation:<institution>`, `peer:<hub>`, or `url` for a fixed URL.
    public var destination: String
    /// What it is, e.g. `webhook.ping`, `critical_value.notice`.
    public var kind: String
    /// The record it is about, for operators.
    public var subject: String?
    public var method: String
    /// A fixed URL; nil when the destination's current address is looked up at each attempt.
    public var url: String?
    /// Appended to the destination's base URL (peers).
    public var path: String?
    public var contentType: String
    public var body: Data
    /// When set, the body is this stored blob (SHA-256 hex), sent from its file; `body` is then empty.
    public var bodyFile: String? = nil
    /// Sent as `Idempotency-Key` on every attempt, so the receiver can drop repeats.
    public var idempotencyKey: String
    public var state: DeliveryState
    public var attempts: Int
    public var maxAttempts: Int
    public var nextAttemptAt: Timestamp
    public var lastStatus: Int?
    public var lastError: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var deliveredAt: Timestamp?

    public init(
        id: String, destination: String, kind: String, subject: String?, method: String, url: String?, path: String?,
        contentType: String, body: Data, bodyFile: String? = nil, idempotencyKey: String, state: DeliveryState,
        attempts: Int, maxAttempts: Int, nextAttemptAt: Timestamp, lastStatus: Int?, lastError: String?,
        createdAt: Timestamp, updatedAt: Timestamp, deliveredAt: Timestamp?
    ) {
        self.id = id
        self.destination = destination
        self.kind = kind
        self.subject = subject
        self.method = method
        self.url = url
        self.path = path
        self.contentType = contentType
        self.body = body
        self.bodyFile = bodyFile
        self.idempotencyKey = idempotencyKey
        self.state = state
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deliveredAt = deliveredAt
    }

    enum CodingKeys: String, CodingKey {
        case id, destination, kind, subject, method, url, path, state, attempts
        case bodyFile = "body_file"
        case contentType = "content_type"
        case idempotencyKey = "idempotency_key"
        case maxAttempts = "max_attempts"
        case nextAttemptAt = "next_attempt_at"
        case lastStatus = "last_status"
        case lastError = "last_error"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case deliveredAt = "delivered_at"
    }
}

/// Wakes the outbox worker when a transaction that enqueued something commits, so deliveries leave at once
/// instead of at the next poll.
public final class OutboxSignal: Sendable {
    private let waiters = Mutex<(pending: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func signal() {
        let continuation = waiters.withLock { state -> CheckedContinuation<Void, Never>? in
            if let continuation = state.continuation {
                state.continuation = nil
                return continuation
            }
            state.pending = true
            return nil
        }
        continuation?.resume()
    }

    /// Returns at the next signal (or at once if one came since the last wait), or after `timeout`.
    public func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.waiters.withLock { state -> Bool in
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        state.continuation = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // Wake the waiter if the timeout won, so the group can finish.
            self.signal()
            self.waiters.withLock { $0.pending = false }
        }
    }
}

/// An institution's callback for notices: where to POST and the shared secret that signs each delivery.
public struct Webhook: Sendable, Equatable {
    public var institutionId: String
    public var url: String
    public var escalationURL: String?
    public var secret: String
    public var updatedAt: Timestamp

    public init(institutionId: String, url: String, escalationURL: String?, secret: String, updatedAt: Timestamp) {
        self.institutionId = institutionId
        self.url = url
        self.escalationURL = escalationURL
        self.secret = secret
        self.updatedAt = updatedAt
    }
}
