import Crypto
import Foundation
import HTTPTypes
import HubCore
import HubFederation
import HubStore
import Testing

/// A hub whose outbox retries fast, for tests.
func fastOutboxHub() throws -> TestHub {
    var hub = try TestHub()
    hub.config.outboxBaseDelayMilliseconds = 50
    hub.config.outboxMaxDelayMilliseconds = 200
    hub.config.outboxMaxAttempts = 4
    hub.config.outboxPollIntervalMilliseconds = 50
    // Long enough that a machine busy with the whole suite never turns an answered attempt into a timeout (the
    // receiver would then answer the retry with its next scripted status); no test here waits for this one to pass.
    hub.config.outboxAttemptTimeoutMilliseconds = 10_000
    return hub
}

extension HubAPI {
    func registerWebhook(
        _ institution: String, url: String, secret: String = "s3cret-shared-with-the-clinic"
    ) async throws {
        let reply = try await call(
            .put, "/v1/institutions/\(institution)/webhook", token: admin, json: ["url": url, "secret": secret])
        try #require(reply.status == 200, "\(reply.text)")
    }

    func ping(_ institution: String) async throws -> String {
        let reply = try await call(.post, "/v1/institutions/\(institution)/webhook/test", token: admin)
        try #require(reply.status == 202, "\(reply.text)")
        return reply["id"]!
    }
}

extension HubClient {
    func delivery(_ id: String) async throws -> OutboxDelivery {
        try await database.read { try OutboxStore.delivery($0, id: id)! }
    }
}

@Suite struct OutboxTests {
    @Test func aPingArrivesSignedWithItsIdempotencyKey() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let hub = try fastOutboxHub()
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("clinic")
            try await hub.registerWebhook("clinic", url: receiver.url)
            let id = try await hub.ping("clinic")
            #expect(try await TestReceiver.eventually { try await hub.delivery(id).state == .delivered })
            let got = try #require(receiver.all.first)
            #expect(got.idempotencyKey == id)
            #expect(got.headers[HTTPField.Name("X-Hub-Event")!] == "webhook.ping")
            let signature = try #require(got.headers[HTTPField.Name("X-Hub-Signature")!])
            let now = Int64(Date().timeIntervalSince1970)
            #expect(
                WebhookSignature.verify(
                    header: signature, secret: "s3cret-shared-with-the-clinic", body: got.body, now: now))
            #expect(
                !WebhookSignature.verify(header: signature, secret: "another-secret-entirely", body: got.body, now: now)
            )
            #expect(
                !WebhookSignature.verify(
                    header: signature, secret: "s3cret-shared-with-the-clinic", body: got.body + Data("x".utf8),
                    now: now))
            #expect(
                !WebhookSignature.verify(
                    header: signature, secret: "s3cret-shared-with-the-clinic", body: got.body, now: now + 3600),
                "a stale signature is refused")
            let json = try JSONSerialization.jsonObject(with: got.body) as? [String: Any]
            #expect(json?["institution_id"] as? String == "clinic")
        }
    }

    /// A forwarded exam or event answered 2xx by anyone but the peer (a proxy, a man in the middle, a stale server on
    /// its address) is not delivered: it is tried again, and would otherwise be lost.
    @Test func aPeerDeliveryAnsweredWithoutThePeersSignatureIsNotDelivered() async throws {
        let impostor = TestReceiver()  // answers 200 to everything and signs nothing
        try await impostor.start()
        defer { Task { await impostor.stop() } }
        let hub = try fastOutboxHub()
        defer { hub.remove() }
        try await hub.run { hub in
            let key = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
            let added = try await hub.call(
                .post, "/v1/peers", token: hub.admin,
                json: [
                    "id": "hub-city", "url": "http://127.0.0.1:\(impostor.port)", "public_key": key, "region": "420100",
                ])
            try #require(added.status == 201, "\(added.text)")
            let (env, policy) = (hub.env, hub.env.config.retryPolicy)
            let id = try await hub.database.write { db in
                try OutboxStore.enqueue(
                    db, destination: "peer:hub-city", kind: "exam.event", subject: nil,
                    path: "/federation/v1/exams/exm_1/events", body: Data(#"{"event":"exam.reported"}"#.utf8),
                    policy: policy, now: Timestamp.now(), signal: env.outbox
                ).id
            }
            #expect(try await TestReceiver.eventually { impostor.all.count >= 2 }, "the attempt is made again")
            // The row tells of an attempt once the hub has recorded it, which may be a moment after the peer saw it.
            #expect(
                try await TestReceiver.eventually {
                    let delivery = try await hub.delivery(id)
                    return delivery.lastStatus == 200 && delivery.lastError?.contains("answer refused") == true
                })
            let delivery = try await hub.delivery(id)
            #expect(delivery.state != .delivered)
            #expect(delivery.lastStatus == 200, "\(delivery)")
        }
    }

    @Test func serverErrorsAreRetriedUntilDelivered() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        receiver.answer([500, 503])
        let hub = try fastOutboxHub()
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("clinic")
            try await hub.registerWebhook("clinic", url: receiver.url)
            let id = try await hub.ping("clinic")
            #expect(try await TestReceiver.eventually { try await hub.delivery(id).state == .delivered })
            #expect(try await hub.delivery(id).attempts == 3)
            #expect(Set(receiver.all.compactMap(\.idempotencyKey)) == [id], "every attempt carries the same key")
        }
    }

    @Test func aRefusalIsDeadAtOnceAndAnOperatorCanReplayIt() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        receiver.answer([400])
        let hub = try fastOutboxHub()
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("clinic")
            try await hub.registerWebhook("clinic", url: receiver.url)
            let id = try await hub.ping("clinic")
            #expect(try await TestReceiver.eventually { try await hub.delivery(id).state == .dead })
            let dead = try await hub.get("/v1/outbox?state=dead", token: hub.admin)
            #expect(dead.items.compactMap { $0["id"] as? String } == [id])
            #expect(dead.items.first?["last_status"] as? Int == 400)
            let notDead = try await hub.call(.post, "/v1/outbox/\(id)/replay", token: hub.admin)
            #expect(notDead.status == 200)
            #expect(try await TestReceiver.eventually { try await hub.delivery(id).state == .delivered })
            let again = try await hub.call(.post, "/v1/outbox/\(id)/replay", token: hub.admin)
            #expect(again.status == 409)
            #expect(again["code"] == "invalid_transition")
            let shown = try await hub.get("/v1/outbox/\(id)", token: hub.admin)
            #expect(shown["body"]?.contains("webhook.ping") == true)
            let (_, clinicToken) = try await hub.practitioner(at: "clinic", roles: ["clinic"])
            #expect(try await hub.get("/v1/outbox", token: clinicToken).status == 403)
        }
    }

    /// A delivery's body may carry patient data: the single view that shows it leaves an audit record naming the
    /// delivery and who read it; the list, which shows no bodies, leaves none.
    @Test func readingADeliveryBodyIsAudited() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let hub = try fastOutboxHub()
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("clinic")
            try await hub.registerWebhook("clinic", url: receiver.url)
            let id = try await hub.ping("clinic")
            let (_, auditor) = try await hub.practitioner(at: "clinic", roles: ["auditor"])
            @Sendable func bodyReads() async throws -> [[String: Any]] {
                let records = try await hub.get("/v1/audit?target=\(id)", token: auditor)
                try #require(records.status == 200, "\(records.text)")
                return records.items.filter { $0["action"] as? String == "outbox.read_body" }
            }
            #expect(try await hub.get("/v1/outbox", token: hub.admin).status == 200)
            #expect(try await bodyReads().isEmpty, "a list shows no body and is no read of one")

            let shown = try await hub.get("/v1/outbox/\(id)", token: hub.admin)
            #expect(shown.status == 200)
            #expect(shown["body"]?.contains("webhook.ping") == true)
            let reads = try await bodyReads()
            #expect(reads.count == 1)
            let adminTokenId = try #require(try await hub.get("/v1/me", token: hub.admin)["token_id"])
            #expect(reads.first?["actor"] as? String == "token:\(adminTokenId)")
            #expect(reads.first?["target_type"] as? String == "delivery")
            #expect((reads.first?["detail"] as? String)?.contains("kind=") == true)

            #expect(try await hub.get("/v1/outbox/missing", token: hub.admin).status == 404)
            _ = try await hub.get("/v1/outbox/\(id)", token: hub.admin)
            #expect(try await bodyReads().count == 2, "every read is recorded")
        }
    }

    @Test func anUnreachableReceiverExhaustsItsAttempts() async throws {
        let port = try unusedPort()
        let hub = try fastOutboxHub()
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("clinic")
            try await hub.registerWebhook("clinic", url: "http://127.0.0.1:\(port)/hook")
            let id = try await hub.ping("clinic")
            #expect(try await TestReceiver.eventually { try await hub.delivery(id).state == .dead })
            let dead = try await hub.delivery(id)
            #expect(dead.attempts == 4)
            #expect(dead.lastError?.isEmpty == false)
        }
    }

    @Test func oneHangingReceiverNeverDelaysTheOthers() async throws {
        let hanging = TestReceiver()
        let healthy = TestReceiver()
        try await hanging.start()
        try await healthy.start()
        defer {
            Task {
                await hanging.stop(); await healthy.stop()
            }
        }
        // The receiver holds every request until the test lets go, within the attempt timeout: an attempt the hub
        // gave up on (possible on a machine slowed by the rest of the suite) would leave its request counted at the
        // receiver beside the next one.
        hanging.hold()
        var hub = try fastOutboxHub()
        hub.config.outboxAttemptTimeoutMilliseconds = 120_000
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("stuck")
            try await hub.institution("fine")
            try await hub.registerWebhook("stuck", url: hanging.url)
            try await hub.registerWebhook("fine", url: healthy.url)
            var stuck: [String] = []
            for _ in 0..<12 { stuck.append(try await hub.ping("stuck")) }
            #expect(try await TestReceiver.eventually { hanging.inFlight >= 1 }, "the stuck destination is being tried")
            var sent: [String] = []
            for _ in 0..<5 { sent.append(try await hub.ping("fine")) }
            let ids = sent
            let delivered = await TestReceiver.eventually(timeout: .seconds(60)) {
                Set(healthy.all.compactMap(\.idempotencyKey)).isSuperset(of: ids)
            }
            #expect(delivered)
            // Delivered while every delivery to the stuck destination still waits: the fine one never waited for it.
            #expect(hanging.inFlight >= 1)
            for id in stuck { #expect(try await hub.delivery(id).state != .delivered) }
            hanging.release()
            let ids2 = stuck
            #expect(
                try await TestReceiver.eventually(timeout: .seconds(60)) {
                    for id in ids2 where try await hub.delivery(id).state != .delivered { return false }
                    return true
                }, "once it answers, the stuck destination gets everything")
            #expect(
                hanging.peakConcurrency <= 4, "at most the per-destination limit is in flight to the hanging receiver")
            #expect(hanging.peakConcurrency >= 1)
        }
    }

    @Test func webhookSecretsAreWriteOnlyAndValidated() async throws {
        try await withHub { hub in
            try await hub.institution("clinic")
            try await hub.institution("other")
            // The institution's integration administrator sets its webhook (clinic staff may not, see
            // OutboundAddressTests).
            let (_, staff) = try await hub.practitioner(at: "clinic", roles: ["integration_admin"])
            let (_, outsider) = try await hub.practitioner(at: "other", roles: ["clinic"])
            let noSecret = try await hub.call(
                .put, "/v1/institutions/clinic/webhook", token: staff, json: ["url": "https://clinic.example/hook"])
            #expect(noSecret.status == 422)
            #expect(noSecret["field"] == "secret")
            let badURL = try await hub.call(
                .put, "/v1/institutions/clinic/webhook", token: staff,
                json: ["url": "ftp://x", "secret": "0123456789abcdef"])
            #expect(badURL["field"] == "url")
            let saved = try await hub.call(
                .put, "/v1/institutions/clinic/webhook", token: staff,
                json: ["url": "https://clinic.example/hook", "secret": "0123456789abcdef"])
            #expect(saved.status == 200)
            #expect(saved.json["secret_set"] as? Bool == true)
            #expect(saved["secret"] == nil)
            let keep = try await hub.call(
                .put, "/v1/institutions/clinic/webhook", token: staff, json: ["url": "https://clinic.example/v2"])
            #expect(keep.status == 200, "the stored secret is kept when none is sent")
            let shown = try await hub.get("/v1/institutions/clinic/webhook", token: staff)
            #expect(shown["url"] == "https://clinic.example/v2")
            #expect(!shown.text.contains("0123456789abcdef"))
            #expect(try await hub.get("/v1/institutions/clinic/webhook", token: outsider).status == 403)
            #expect(try await hub.call(.post, "/v1/institutions/other/webhook/test", token: hub.admin).status == 409)
        }
    }
}
