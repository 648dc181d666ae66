import CurlHTTP
import Foundation
import Testing

@Suite(.serialized) struct DaemonTests {
    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("hubd-\(UUID().uuidString)")
    }

    @Test func sigtermStopsGracefullyAndClosesTheDatabase() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = CurlHTTPClient()
        let daemon = try Daemon(dataDir: directory)
        try await daemon.start(client: client)
        let token = try daemon.adminToken
        let attributes = try FileManager.default.attributesOfItem(
            atPath: directory.appendingPathComponent("admin.token").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(daemon.log.contains("admin.token"))
        #expect(!daemon.log.contains(token), "the admin token is never logged")
        let (status, _) = try await daemon.call(
            client, "POST", "/v1/institutions", token: token,
            json: ["id": "a", "name": "A", "level": "primary", "region": "420102"])
        #expect(status == 201)
        #expect(await daemon.stop(signal: SIGTERM) == 0)
        #expect(daemon.log.contains("database closed"))
        try await daemon.start(client: client)
        let (again, body) = try await daemon.call(client, "GET", "/v1/institutions/a", token: token)
        #expect(again == 200)
        #expect(body["name"] as? String == "A")
        await daemon.stop()
        await client.shutdown()
    }

    /// The outbox survives a crash: deliveries pending and failing when the daemon is killed all arrive, each
    /// idempotency key once, after the restart.
    @Test func deliveriesSurviveSigkillAndArriveOncePerKey() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = CurlHTTPClient()
        let receiverPort = try unusedPort()
        let daemon = try Daemon(
            dataDir: directory,
            extra:
                "outbox:\n  base_delay_ms: 100\n  max_delay_ms: 400\n  max_attempts: 1000\n  poll_interval_ms: 50\n  breaker_threshold: 1000\n"
        )
        try await daemon.start(client: client)
        let token = try daemon.adminToken
        _ = try await daemon.call(
            client, "POST", "/v1/institutions", token: token,
            json: ["id": "clinic", "name": "卫生院", "level": "primary", "region": "420115"])
        let (saved, _) = try await daemon.call(
            client, "PUT", "/v1/institutions/clinic/webhook", token: token,
            json: ["url": "http://127.0.0.1:\(receiverPort)/hook", "secret": "0123456789abcdef0123"])
        #expect(saved == 200)
        var sent = Set<String>()
        for _ in 0..<40 {
            let (status, body) = try await daemon.call(
                client, "POST", "/v1/institutions/clinic/webhook/test", token: token)
            #expect(status == 202)
            sent.insert(body["id"] as! String)
        }
        let ids = sent
        // Let attempts fail against the closed port for a while, then kill the daemon without warning.
        try await Task.sleep(for: .milliseconds(600))
        let (_, listing) = try await daemon.call(client, "GET", "/v1/outbox?state=pending&limit=500", token: token)
        let failedAttempts = (listing["items"] as? [[String: Any]] ?? []).compactMap { $0["attempts"] as? Int }.reduce(
            0, +)
        #expect(failedAttempts > 0, "deliveries were failing before the kill")
        #expect(await daemon.stop(signal: SIGKILL) == SIGKILL)

        let receiver = TestReceiver()
        try await receiver.start(port: receiverPort)
        try await daemon.start(client: client)
        let allArrived = await TestReceiver.eventually(timeout: .seconds(30)) {
            Set(receiver.all.compactMap(\.idempotencyKey)) == ids
        }
        #expect(allArrived, "missing: \(ids.subtracting(receiver.all.compactMap(\.idempotencyKey)).count)")
        // The receiver has answered; the hub records each answer just after it.
        let allRecorded = await TestReceiver.eventually(timeout: .seconds(10)) {
            let listing = try? await daemon.call(client, "GET", "/v1/outbox?state=delivered&limit=500", token: token)
            return (listing?.1["items"] as? [[String: Any]])?.count == 40
        }
        #expect(allRecorded, "every delivery is recorded as delivered")
        let keys = receiver.all.compactMap(\.idempotencyKey)
        #expect(Set(keys).count == 40)
        #expect(keys.count == 40, "the receiver was down until the kill, so each delivery arrives exactly once")
        await daemon.stop()
        await receiver.stop()
        await client.shutdown()
    }
}
