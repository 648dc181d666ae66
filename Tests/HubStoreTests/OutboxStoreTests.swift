import Foundation
import GRDB
import HubCore
import HubStore
import Testing

@Suite struct OutboxStoreTests {
    let policy = RetryPolicy(maxAttempts: 3, baseDelayMilliseconds: 100, maxDelayMilliseconds: 1000)
    let t0 = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    @Test func aDeliveryRetriesThenDiesAndCanBeReplayed() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (policy, t0) = (policy, t0)
        let delivery = try await database.write { db in
            try OutboxStore.enqueue(
                db, destination: "url", kind: "test", subject: nil, url: "http://127.0.0.1:1/x", body: Data("{}".utf8),
                policy: policy, now: t0, signal: nil)
        }
        #expect(delivery.idempotencyKey == delivery.id)
        for attempt in 1...3 {
            let now = t0.adding(milliseconds: Int64(attempt) * 10_000)
            let due = try await database.read { try OutboxStore.due($0, now: now, limit: 10) }
            #expect(due.map(\.id) == [delivery.id])
            #expect(try await database.write { try OutboxStore.claim($0, id: delivery.id, now: now) })
            #expect(
                try await database.write { try OutboxStore.claim($0, id: delivery.id, now: now) } == false,
                "claimed once")
            let state = try await database.write {
                try OutboxStore.record(
                    $0, id: delivery.id, verdict: .retry, status: 503, error: "HTTP 503", policy: policy, jitter: 1,
                    now: now)
            }
            #expect(state == (attempt < 3 ? .pending : .dead))
        }
        let dead = try await database.read { try OutboxStore.delivery($0, id: delivery.id)! }
        #expect(dead.attempts == 3)
        #expect(dead.lastStatus == 503)
        let replayed = try await database.write { try OutboxStore.replay($0, id: delivery.id, now: t0) }
        #expect(replayed.state == .pending)
        #expect(replayed.attempts == 0)
        await #expect(throws: HubError.self) {
            try await database.write { try OutboxStore.replay($0, id: delivery.id, now: t0) }
        }
    }

    @Test func backoffPushesTheNextAttemptLater() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (policy, t0) = (policy, t0)
        let id = try await database.write { db in
            try OutboxStore.enqueue(
                db, destination: "url", kind: "test", subject: nil, url: "http://x", body: Data(), policy: policy,
                now: t0, signal: nil
            ).id
        }
        _ = try await database.write { try OutboxStore.claim($0, id: id, now: t0) }
        _ = try await database.write {
            try OutboxStore.record(
                $0, id: id, verdict: .retry, status: nil, error: "refused", policy: policy, jitter: 1, now: t0)
        }
        #expect(
            try await database.read { try OutboxStore.due($0, now: t0.adding(milliseconds: 99), limit: 10) }.isEmpty)
        #expect(
            try await database.read { try OutboxStore.due($0, now: t0.adding(milliseconds: 100), limit: 10) }.count == 1
        )
    }

    @Test func inFlightDeliveriesResumeAfterAStop() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (policy, t0) = (policy, t0)
        let ids = try await database.write { db in
            try (0..<3).map { _ in
                try OutboxStore.enqueue(
                    db, destination: "webhook:a", kind: "t", subject: nil, body: Data(), policy: policy, now: t0,
                    signal: nil
                ).id
            }
        }
        for id in ids { _ = try await database.write { try OutboxStore.claim($0, id: id, now: t0) } }
        #expect(try await database.read { try OutboxStore.backlog($0) } == ["webhook:a": 3])
        #expect(try await database.write { try OutboxStore.resumeInFlight($0, now: t0) } == 3)
        #expect(try await database.read { try OutboxStore.due($0, now: t0, limit: 10) }.count == 3)
    }

    @Test func aRolledBackTransactionLeavesNothingToSend() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (policy, t0) = (policy, t0)
        let signal = OutboxSignal()
        await #expect(throws: HubError.self) {
            try await database.write { db in
                try OutboxStore.enqueue(
                    db, destination: "url", kind: "t", subject: nil, url: "http://x", body: Data(), policy: policy,
                    now: t0, signal: signal)
                throw HubError.conflict("the change that caused it failed")
            }
        }
        #expect(try await database.read { try OutboxStore.due($0, now: t0, limit: 10) }.isEmpty)
    }
}
