import Foundation
import GRDB
import HubCore
import Synchronization

public enum OutboxStore {
    /// Adds a delivery inside the caller's transaction; it leaves only if that transaction commits.
    @discardableResult
    public static func enqueue(
        _ db: Database, destination: String, kind: String, subject: String?, method: String = "POST",
        url: String? = nil,
        path: String? = nil, contentType: String = "application/json", body: Data, bodyFile: String? = nil,
        idempotencyKey: String? = nil, policy: RetryPolicy, now: Timestamp, signal: OutboxSignal?
    ) throws -> OutboxDelivery {
        let id = GeneratedID.make("dlv", at: now)
        var delivery = OutboxDelivery(
            id: id, destination: destination, kind: kind, subject: subject, method: method, url: url, path: path,
            contentType: contentType, body: body, idempotencyKey: idempotencyKey ?? id, state: .pending, attempts: 0,
            maxAttempts: policy.maxAttempts, nextAttemptAt: now, lastStatus: nil, lastError: nil, createdAt: now,
            updatedAt: now, deliveredAt: nil)
        delivery.bodyFile = bodyFile
        try db.execute(
            sql: """
                INSERT INTO outbox (id, destination, kind, subject, method, url, path, content_type, body, body_file,
                                    idempotency_key, state, attempts, max_attempts, next_attempt_at, created_at,
                                    updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)
                """,
            arguments: [
                id, destination, kind, subject, method, url, path, contentType, body, bodyFile, delivery.idempotencyKey,
                policy.maxAttempts, now.millisecondsSinceEpoch, now.millisecondsSinceEpoch, now.millisecondsSinceEpoch,
            ])
        if let signal {
            db.afterNextTransaction { _ in signal.signal() }
        }
        return delivery
    }

    /// Whether a delivery with this idempotency key was ever enqueued.
    public static func exists(_ db: Database, idempotencyKey: String) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM outbox WHERE idempotency_key = ?)", arguments: [idempotencyKey])
            ?? false
    }

    public static func delivery(_ db: Database, id: String) throws -> OutboxDelivery? {
        try Row.fetchOne(db, sql: "SELECT * FROM outbox WHERE id = ?", arguments: [id]).map(record)
    }

    /// Pending deliveries whose time has come, oldest due first.
    public static func due(_ db: Database, now: Timestamp, limit: Int) throws -> [OutboxDelivery] {
        try Row.fetchAll(
            db,
            sql:
                "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
            arguments: [now.millisecondsSinceEpoch, limit]
        ).map(record)
    }

    /// When the next pending delivery falls due, if any.
    public static func nextDue(_ db: Database) throws -> Timestamp? {
        try Int64.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")
            .map(Timestamp.init(millisecondsSinceEpoch:))
    }

    /// Claims a pending delivery for sending; false when someone else took it or it is no longer pending.
    public static func claim(_ db: Database, id: String, now: Timestamp) throws -> Bool {
        try db.execute(
            sql: "UPDATE outbox SET state = 'in_flight', updated_at = ? WHERE id = ? AND state = 'pending'",
            arguments: [now.millisecondsSinceEpoch, id])
        return db.changesCount == 1
    }

    /// Records one attempt's outcome: delivered, retried later, or dead.
    @discardableResult
    public static func record(
        _ db: Database, id: String, verdict: AttemptVerdict, status: Int?, error: String?, policy: RetryPolicy,
        jitter: Double, now: Timestamp
    ) throws -> DeliveryState {
        guard let current = try delivery(db, id: id) else { return .dead }
        let attempts = current.attempts + 1
        let state: DeliveryState
        var next = current.nextAttemptAt
        switch verdict {
        case .delivered:
            state = .delivered
        case .refused:
            state = .dead
        case .retry:
            if attempts >= current.maxAttempts {
                state = .dead
            } else {
                state = .pending
                next = now.adding(milliseconds: policy.delay(afterAttempt: attempts, unit: jitter))
            }
        }
        try db.execute(
            sql: """
                UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?,
                                  updated_at = ?, delivered_at = ?
                WHERE id = ?
                """,
            arguments: [
                state.rawValue, attempts, next.millisecondsSinceEpoch, status, error.map { String($0.prefix(500)) },
                now.millisecondsSinceEpoch, state == .delivered ? now.millisecondsSinceEpoch : nil, id,
            ])
        return state
    }

    /// Puts back every delivery that was being sent when the process stopped; they are sent again with the same
    /// idempotency key, so a receiver that already has one drops the repeat.
    @discardableResult
    public static func resumeInFlight(_ db: Database, now: Timestamp) throws -> Int {
        try db.execute(
            sql: "UPDATE outbox SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE state = 'in_flight'",
            arguments: [now.millisecondsSinceEpoch, now.millisecondsSinceEpoch])
        return db.changesCount
    }

    /// An operator sends a dead delivery again, with a fresh allowance of attempts.
    public static func replay(_ db: Database, id: String, now: Timestamp) throws -> OutboxDelivery {
        guard let current = try delivery(db, id: id) else { throw HubError.notFound("delivery", id) }
        guard current.state == .dead else {
            throw HubError.invalidTransition(
                "only a dead delivery can be replayed; this one is \(current.state.rawValue)")
        }
        try db.execute(
            sql: """
                UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?, last_error = NULL
                WHERE id = ?
                """,
            arguments: [now.millisecondsSinceEpoch, now.millisecondsSinceEpoch, id])
        return try delivery(db, id: id)!
    }

    public static func list(
        _ db: Database, state: DeliveryState?, destination: String?, after cursor: String?, limit: Int
    ) throws -> Page<OutboxDelivery> {
        var filter = SQLFilter()
        filter.add("state = ?", state?.rawValue)
        filter.add("destination = ?", destination)
        try filter.after(cursor)
        var arguments = filter.arguments
        _ = arguments.append(contentsOf: [limit + 1])
        let rows = try Row.fetchAll(
            db, sql: "SELECT * FROM outbox \(filter.whereClause) ORDER BY id LIMIT ?", arguments: arguments)
        return Cursor.page(rows.map(record), limit: limit, key: \.id)
    }

    /// Deliveries to `destination` that failed for good (dead letters, replayable).
    public static func deadCount(_ db: Database, destination: String) throws -> Int {
        try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM outbox WHERE destination = ? AND state = 'dead'", arguments: [destination])
            ?? 0
    }

    /// Deliveries not yet delivered or dead, per destination.
    public static func backlog(_ db: Database) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try Row.fetchAll(
            db,
            sql:
                "SELECT destination, COUNT(*) AS n FROM outbox WHERE state IN ('pending', 'in_flight') GROUP BY destination"
        ) {
            result[row["destination"]] = row["n"]
        }
        return result
    }

    static func record(_ row: Row) -> OutboxDelivery {
        var delivery = OutboxDelivery(
            id: row["id"], destination: row["destination"], kind: row["kind"], subject: row["subject"],
            method: row["method"], url: row["url"], path: row["path"], contentType: row["content_type"],
            body: row["body"], idempotencyKey: row["idempotency_key"],
            state: DeliveryState(rawValue: row["state"]) ?? .pending, attempts: row["attempts"],
            maxAttempts: row["max_attempts"], nextAttemptAt: Timestamp(millisecondsSinceEpoch: row["next_attempt_at"]),
            lastStatus: row["last_status"], lastError: row["last_error"],
            createdAt: Timestamp(millisecondsSinceEpoch: row["created_at"]),
            updatedAt: Timestamp(millisecondsSinceEpoch: row["updated_at"]),
            deliveredAt: (row["delivered_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
        delivery.bodyFile = row["body_file"]
        return delivery
    }
}

public enum WebhookStore {
    public static func save(_ db: Database, _ webhook: Webhook) throws {
        try db.execute(
            sql: """
                INSERT INTO webhooks (institution_id, url, escalation_url, secret, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(institution_id) DO UPDATE SET url = excluded.url, escalation_url = excluded.escalation_url,
                    secret = excluded.secret, updated_at = excluded.updated_at
                """,
            arguments: [
                webhook.institutionId, webhook.url, webhook.escalationURL, webhook.secret,
                webhook.updatedAt.millisecondsSinceEpoch,
            ])
    }

    /// Removes an institution's webhook; false when it had none.
    public static func delete(_ db: Database, institutionId: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM webhooks WHERE institution_id = ?", arguments: [institutionId])
        return db.changesCount > 0
    }

    public static func webhook(_ db: Database, institutionId: String) throws -> Webhook? {
        try Row.fetchOne(db, sql: "SELECT * FROM webhooks WHERE institution_id = ?", arguments: [institutionId]).map {
            Webhook(
                institutionId: $0["institution_id"], url: $0["url"], escalationURL: $0["escalation_url"],
                secret: $0["secret"], updatedAt: Timestamp(millisecondsSinceEpoch: $0["updated_at"]))
        }
    }
}
