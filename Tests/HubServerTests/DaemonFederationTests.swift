import Crypto
import CurlHTTP
import Foundation
import HTTPTypes
import HubCore
import HubFederation
import Testing

/// Federation between real `hubd` processes on loopback, each with its own data directory and port.
@Suite(.serialized) struct DaemonFederationTests {
    struct Member {
        var id: String
        var region: String
    }

    static let county = Member(id: "hub-county", region: "420115")
    static let city = Member(id: "hub-city", region: "420100")
    static let province = Member(id: "hub-province", region: "420000")

    static let fastFederation = """
        federation:
          peer_timeout_ms: 1500
          deadline_ms: 2500
        outbox:
          base_delay_ms: 100
          max_delay_ms: 400
          poll_interval_ms: 50
          breaker_threshold: 1000
          attempt_timeout_ms: 3000
          max_attempts: 1000
        """

    /// Starts one daemon per member (fixed ports, so a restarted daemon keeps its address), runs `body`, stops them.
    static func run(
        _ members: [Member], _ body: @Sendable ([Daemon], [DaemonHub], CurlHTTPClient) async throws -> Void
    ) async throws {
        let client = CurlHTTPClient()
        var daemons: [Daemon] = []
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("federation-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for member in members {
            let daemon = try Daemon(
                dataDir: root.appendingPathComponent(member.id), extra: fastFederation, hubId: member.id,
                region: member.region, port: try unusedPort())
            try await daemon.start(client: client)
            daemons.append(daemon)
        }
        let hubs = try daemons.map { try DaemonHub($0, client: client) }
        do {
            try await body(daemons, hubs, client)
        } catch {
            for daemon in daemons { await daemon.stop() }
            await client.shutdown()
            throw error
        }
        for daemon in daemons { await daemon.stop() }
        await client.shutdown()
    }

    /// `source` knows `target` as a peer.
    static func link(
        _ source: DaemonHub, _ target: DaemonHub, id: String, region: String, serves: [String]
    ) async throws {
        try await source.addPeer(target, id: id, region: region, url: target.baseURL, serves: serves)
    }

    static let everything = ["recognition", "imaging", "ecg", "lab"]

    /// Every hub knows every other one.
    static func mesh(_ hubs: [DaemonHub], _ members: [Member]) async throws {
        for (i, source) in hubs.enumerated() {
            for (j, target) in hubs.enumerated() where i != j {
                try await link(source, target, id: members[j].id, region: members[j].region, serves: everything)
            }
        }
    }

    /// A final K result for the patient at the hub; returns the hub's people.
    static func seedResult(_ hub: DaemonHub, patient: String) async throws -> RecognitionSetup {
        let setup = try await RecognitionSetup.make(hub)
        let made = try await hub.call(
            .post, "/v1/results", token: setup.lab,
            json: RecognitionSetup.result(patient: patient, item: "K", performedAt: Timestamp.now().adding(days: -2)))
        try #require(made.status == 201, "\(made.text)")
        return setup
    }

    static func check(_ hub: DaemonHub, token: String, patient: String) async throws -> Reply {
        let reply = try await hub.call(
            .post, "/v1/recognition/checks", token: token,
            json: ["patient": "cn-resident-id|\(patient)", "item_code": "K"])
        try #require(reply.status == 201, "\(reply.text)")
        return reply
    }

    /// Waits until every thread of `pid` is stopped: `kill` only makes the stop pending, and on a loaded machine a
    /// thread may still answer a request before it takes effect.
    static func waitUntilStopped(_ pid: Int32) async throws {
        let tasks = "/proc/\(pid)/task"
        for _ in 0..<250 {
            let threads = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
            let stopped = threads.allSatisfy { thread in
                let status = (try? String(contentsOfFile: "\(tasks)/\(thread)/status", encoding: .utf8)) ?? ""
                return status.contains("State:\tT")
            }
            if !threads.isEmpty && stopped { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("process \(pid) did not stop")
    }

    static func hubsOf(_ reply: Reply) -> Set<String> {
        Set(((reply.json["candidates"] as? [[String: Any]]) ?? []).compactMap { $0["hub_id"] as? String })
    }

    static func status(of peer: String, in reply: Reply) -> String? {
        ((reply.json["peers"] as? [[String: Any]]) ?? []).first {
            $0["hub_id"] as? String == peer && $0["via"] == nil
        }?["status"] as? String
    }

    @Test func threeHubsAnswerAFederatedCheckAndAFrozenOrKilledHubDoesNotHoldItUp() async throws {
        let members = [Self.county, Self.city, Self.province]
        try await Self.run(members) { daemons, hubs, _ in
            try await Self.mesh(hubs, members)
            let patient = residentID(birth: "19720202", sequence: "071")
            var setups: [RecognitionSetup] = []
            for hub in hubs { setups.append(try await Self.seedResult(hub, patient: patient)) }
            let countyClinician = setups[0].clinician

            let all = try await Self.check(hubs[0], token: countyClinician, patient: patient)
            #expect(Self.hubsOf(all) == ["hub-county", "hub-city", "hub-province"], "\(all.text)")
            #expect(Self.status(of: "hub-city", in: all) == "ok")
            #expect(Self.status(of: "hub-province", in: all) == "ok")

            // Frozen: the process holds its socket but answers nothing. The check answers within the deadline.
            let frozen = try #require(daemons[2].pid)
            kill(frozen, SIGSTOP)
            try await Self.waitUntilStopped(frozen)
            let started = ContinuousClock.now
            let partial = try await Self.check(hubs[0], token: countyClinician, patient: patient)
            let took = ContinuousClock.now - started
            kill(frozen, SIGCONT)
            #expect(Self.status(of: "hub-province", in: partial) == "timeout", "\(partial.text)")
            #expect(Self.status(of: "hub-city", in: partial) == "ok")
            #expect(Self.hubsOf(partial) == ["hub-county", "hub-city"])
            #expect(took < .seconds(8), "a frozen peer held the check for \(took); the deadline is 2.5 s")

            // Killed: nothing listens any more.
            await daemons[2].stop(signal: SIGKILL)
            let rest = try await Self.check(hubs[0], token: countyClinician, patient: patient)
            #expect(Self.status(of: "hub-province", in: rest) == "error", "\(rest.text)")
            #expect(Self.hubsOf(rest) == ["hub-county", "hub-city"])
        }
    }

    @Test func aRingOfHubProcessesDoesNotLoop() async throws {
        let members = [Self.county, Self.city, Self.province]
        try await Self.run(members) { _, hubs, _ in
            // county asks city, city asks province, province asks county; each also knows who calls it.
            for (i, j) in [(0, 1), (1, 2), (2, 0)] {
                try await Self.link(
                    hubs[i], hubs[j], id: members[j].id, region: members[j].region, serves: ["recognition"])
                try await Self.link(hubs[j], hubs[i], id: members[i].id, region: members[i].region, serves: [])
            }
            let patient = residentID(birth: "19680808", sequence: "083")
            var setups: [RecognitionSetup] = []
            for hub in hubs { setups.append(try await Self.seedResult(hub, patient: patient)) }
            let token = setups[0].clinician
            let reply = try await Self.check(hubs[0], token: token, patient: patient)
            #expect(Self.hubsOf(reply) == ["hub-county", "hub-city", "hub-province"], "\(reply.text)")
            // Each hub answered the query once; none sent it back round the ring.
            for (index, asker) in [(1, "hub-county"), (2, "hub-city")] {
                let audit = try await hubs[index].get(
                    "/v1/audit?actor=peer:\(asker)&limit=200", token: setups[index].auditor)
                let queries = audit.items.filter { $0["action"] as? String == "federation.recognition.query" }
                #expect(queries.count == 1, "\(audit.text)")
            }
            let origin = try await hubs[0].get(
                "/v1/audit?actor=peer:hub-province&limit=200", token: setups[0].auditor)
            #expect(origin.status == 200)
            #expect(!origin.items.contains { $0["action"] as? String == "federation.recognition.query" })
        }
    }

    @Test func aRealHubRefusesForgedReplayedAndUnknownRequests() async throws {
        let members = [Self.county, Self.city]
        try await Self.run(members) { daemons, hubs, client in
            try await Self.mesh(hubs, members)
            // The county hub's own key, read from its data directory, signs a genuine request.
            let identity = try HubIdentity.loadOrCreate(
                hubId: "hub-county", region: "420115",
                keyPath: daemons[0].dataDir.appendingPathComponent("hub.key").path)
            let cityURL = daemons[1].baseURL
            let path = "/federation/v1/directory"
            let signed = identity.sign(
                method: "GET", target: path, destination: "hub-city", body: Data(),
                requestId: "req-\(UUID().uuidString)", now: Timestamp.now())
            #expect(try await client.execute(CurlRequest(url: cityURL + path, headers: signed)).status == 200)
            #expect(
                try await client.execute(CurlRequest(url: cityURL + path, headers: signed)).status == 401,
                "a replayed request")
            let forger = HubIdentity(hubId: "hub-county", region: "420115", privateKey: Curve25519.Signing.PrivateKey())
            let forged = forger.sign(
                method: "GET", target: path, destination: "hub-city", body: Data(), requestId: "req-forged",
                now: Timestamp.now())
            #expect(try await client.execute(CurlRequest(url: cityURL + path, headers: forged)).status == 401)
            let stranger = HubIdentity(
                hubId: "hub-elsewhere", region: "110000", privateKey: Curve25519.Signing.PrivateKey())
            let unknown = stranger.sign(
                method: "GET", target: path, destination: "hub-city", body: Data(), requestId: "req-unknown",
                now: Timestamp.now())
            #expect(try await client.execute(CurlRequest(url: cityURL + path, headers: unknown)).status == 401)
            try await hubs[1].institution("wh-audit", level: "tertiary", region: "420102")
            let (_, auditor) = try await hubs[1].practitioner(at: "wh-audit", roles: ["auditor"])
            let audit = try await hubs[1].get("/v1/audit?limit=500", token: auditor)
            let refused = audit.items.filter { $0["action"] as? String == "federation.refused" }
            #expect(refused.count >= 3)
            // A hub this hub does not know is not named as the actor (the caller chooses the name): all such claims
            // are one origin, `unknown`.
            #expect(
                refused.contains {
                    ($0["actor"] as? String) == "peer:unknown"
                        && ($0["detail"] as? String)?.hasPrefix("reason=unknown_hub count=") == true
                }, "\(refused)")
        }
    }

    @Test func anExamForwardedWhileThePeerIsDownArrivesExactlyOnceAfterItsRestart() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        let members = [Self.county, Self.city]
        try await Self.run(members) { daemons, hubs, client in
            try await Self.mesh(hubs, members)
            let (county, city) = (hubs[0], hubs[1])
            try await county.institution("hs-clinic", level: "primary", region: "420115", alliances: ["county"])
            let (_, clinic) = try await county.practitioner(at: "hs-clinic", title: "resident", roles: ["clinic"])
            try await county.registerWebhook("hs-clinic", url: receiver.url)
            let people = try await Alliance.make(city)
            let refreshed = try await county.call(.post, "/v1/peers/hub-city/refresh", token: county.admin)
            try #require(refreshed.json["centers"] as? Int == 1, "\(refreshed.text)")

            // The first exam is forwarded and the reading hub is killed at once, while the forward may be in flight;
            // the second is submitted while it is down.
            let first = try await county.call(
                .post, "/v1/exams", token: clinic,
                json: Alliance.examBody(patientID: residentID(region: "420115", sequence: "091")))
            #expect(first.status == 201, "\(first.text)")
            await daemons[1].stop(signal: SIGKILL)
            let second = try await county.call(
                .post, "/v1/exams", token: clinic,
                json: Alliance.examBody(patientID: residentID(region: "420115", sequence: "092")))
            #expect(second.status == 201, "\(second.text)")
            let ids = [try #require(first["id"]), try #require(second["id"])]
            #expect(
                try await TestReceiver.eventually {
                    let pending = try await county.get(
                        "/v1/outbox?destination=peer:hub-city&state=pending", token: county.admin)
                    return pending.items.contains { ($0["attempts"] as? Int ?? 0) > 0 }
                }, "the forward fails while the peer is down")

            try await daemons[1].start(client: client)
            #expect(
                try await TestReceiver.eventually(timeout: .seconds(30)) {
                    let list = try await city.get("/v1/centers/wh-imaging/worklist", token: people.residentToken)
                    return list.items.count == 2
                })
            // Let any straggling retries land, then count: one exam per forwarded exam.
            #expect(
                try await TestReceiver.eventually {
                    let pending = try await county.get(
                        "/v1/outbox?destination=peer:hub-city&state=pending", token: county.admin)
                    return pending.items.isEmpty
                })
            let worklist = try await city.get("/v1/centers/wh-imaging/worklist", token: people.residentToken)
            let origins = worklist.items.compactMap { ($0["origin"] as? [String: Any])?["exam_id"] as? String }
            #expect(origins.sorted() == ids.sorted(), "\(worklist.text)")

            // Read and signed at the city hub; the report reaches the township clinic through its own hub.
            let readId = try #require(
                worklist.items.first { ($0["origin"] as? [String: Any])?["exam_id"] as? String == ids[0] }?["id"]
                    as? String)
            #expect(try await city.call(.post, "/v1/exams/\(readId)/claim", token: people.residentToken).status == 200)
            let reported = try await city.call(
                .post, "/v1/exams/\(readId)/report", token: people.residentToken,
                json: ["findings": "双肺纹理清晰。", "conclusion": "胸部CT未见明显异常。"])
            #expect(reported.status == 200, "\(reported.text)")
            let verified = try await city.call(.post, "/v1/exams/\(readId)/verify", token: people.attendingToken)
            #expect(verified.status == 200, "\(verified.text)")
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains { $0.headers[HTTPField.Name("X-Hub-Event")!] == "exam.report.final" }
                })
            let atCounty = try await county.get("/v1/exams/\(ids[0])", token: clinic)
            #expect(atCounty["business_status"] == "final")
            #expect((atCounty.json["reports"] as? [[String: Any]])?.last?["conclusion"] as? String == "胸部CT未见明显异常。")
        }
        await receiver.stop()
    }
}
