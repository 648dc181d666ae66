import Crypto
import Foundation
import HubConfig
import HubCore
import HubServer
import HubStore
import Testing

/// Several hubs in this process, each on its own database and loopback port, linked as peers.
struct Federation {
    struct Member {
        var id: String
        var region: String
    }

    /// Starts every hub, configures each link `from → to` (from asks to), runs `body`, stops them all. A hub must know
    /// the hubs that call it to check their signatures: where only `from → to` is given, `to` knows `from` as a peer
    /// it answers but does not ask.
    static func run<T: Sendable>(
        _ members: [Member], links: [(String, String)],
        configure: @Sendable (inout HubConfiguration) -> Void = { _ in },
        _ body: @Sendable ([HubClient]) async throws -> T
    ) async throws -> T {
        var hubs: [TestHub] = []
        for member in members {
            var hub = try TestHub()
            hub.config.hubId = member.id
            hub.config.region = member.region
            configure(&hub.config)
            hubs.append(hub)
        }
        let all = hubs
        defer { all.forEach { $0.remove() } }
        let linkList = links
        return try await start(all, []) { running in
            func hub(_ id: String) throws -> HubClient { try #require(running.first { $0.env.config.hubId == id }) }
            for (from, to) in linkList {
                try await link(try hub(from), to: try hub(to))
            }
            for (from, to) in linkList where !linkList.contains(where: { $0 == (to, from) }) {
                try await link(try hub(to), to: try hub(from), serves: [])
            }
            return try await body(running)
        }
    }

    private static func start<T: Sendable>(
        _ hubs: [TestHub], _ running: [HubClient], _ body: @Sendable ([HubClient]) async throws -> T
    ) async throws -> T {
        if running.count == hubs.count { return try await body(running) }
        return try await hubs[running.count].run { hub in try await start(hubs, running + [hub], body) }
    }

    /// Makes `target` a peer of `source`.
    static func link(
        _ source: HubClient, to target: HubClient, serves: [String] = ["recognition", "imaging", "ecg"]
    )
        async throws
    {
        try await source.addPeer(
            target, id: target.env.config.hubId, region: target.env.config.region,
            url: "http://127.0.0.1:\(try #require(target.client.port))", serves: serves)
    }
}

@Suite struct FederatedCheckTests {
    static let county = Federation.Member(id: "hub-county", region: "420115")
    static let city = Federation.Member(id: "hub-city", region: "420100")
    static let province = Federation.Member(id: "hub-province", region: "420000")
    static let capital = Federation.Member(id: "hub-capital", region: "110000")

    /// One final K result for the patient at each hub, performed two days ago.
    static func seed(_ hubs: [HubClient], patient: String) async throws -> [RecognitionSetup] {
        var setups: [RecognitionSetup] = []
        for hub in hubs {
            let setup = try await RecognitionSetup.make(hub)
            let reply = try await hub.call(
                .post, "/v1/results", token: setup.lab,
                json: RecognitionSetup.result(
                    patient: patient, item: "K", performedAt: Timestamp.now().adding(days: -2)))
            try #require(reply.status == 201, "\(reply.text)")
            setups.append(setup)
        }
        return setups
    }

    static func check(
        _ hub: HubClient, _ setup: RecognitionSetup, patient: String, item: String = "K"
    ) async throws
        -> Reply
    {
        let reply = try await hub.call(
            .post, "/v1/recognition/checks", token: setup.clinician,
            json: ["patient": "cn-resident-id|\(patient)", "item_code": item])
        try #require(reply.status == 201, "\(reply.text)")
        return reply
    }

    static func peers(_ reply: Reply) -> [String: [String: Any]] {
        var byHub: [String: [String: Any]] = [:]
        for peer in (reply.json["peers"] as? [[String: Any]]) ?? [] {
            byHub[peer["hub_id"] as? String ?? "?"] = peer
        }
        return byHub
    }

    @Test func aCheckMergesEveryHubsCandidatesEachWithItsHubAndSkipsPeersOutsideTheScope() async throws {
        let members = [Self.county, Self.city, Self.province, Self.capital]
        var links: [(String, String)] = []
        for a in members { for b in members where a.id != b.id { links.append((a.id, b.id)) } }
        try await Federation.run(members, links: links) { hubs in
            let patient = residentID(birth: "19700512", sequence: "031")
            let setups = try await Self.seed(hubs, patient: patient)
            let reply = try await Self.check(hubs[0], setups[0], patient: patient)
            let candidates = try #require(reply.json["candidates"] as? [[String: Any]])
            // K is recognized city-wide: the Beijing hub is not asked; county, city and province hubs answer.
            #expect(
                Set(candidates.compactMap { $0["hub_id"] as? String }) == ["hub-county", "hub-city", "hub-province"])
            #expect(candidates.allSatisfy { $0["recognizable"] as? Bool == true }, "\(candidates)")
            let peers = Self.peers(reply)
            #expect(peers["hub-city"]?["status"] as? String == "ok")
            #expect(peers["hub-province"]?["status"] as? String == "ok")
            #expect(peers["hub-city"]?["latency_ms"] is Int)
            #expect(peers["hub-capital"]?["status"] as? String == "skipped")
            #expect((peers["hub-capital"]?["detail"] as? String)?.contains("city-wide") == true)

            // The stored check says the same, and a remote candidate can be adopted.
            let id = try #require(reply["id"])
            let stored = try await hubs[0].get("/v1/recognition/checks/\(id)", token: setups[0].clinician)
            #expect((stored.json["peers"] as? [[String: Any]])?.count == 3)
            let remote = try #require(candidates.first { $0["hub_id"] as? String == "hub-city" })
            let adopt = try await hubs[0].call(
                .post, "/v1/recognition/decisions", token: setups[0].clinician,
                json: ["check_id": id, "decision": "adopt", "result_id": remote["result_id"]!])
            #expect(adopt.status == 201, "\(adopt.text)")
            #expect(adopt.json["cross_institution"] as? Bool == true)

            // The peer audited the query under the asking hub's name.
            let audited = try await hubs[1].database.read { db in
                try String.fetchAll(
                    db, sql: "SELECT actor FROM audit_log WHERE action = 'federation.recognition.query'")
            }
            #expect(audited == ["peer:hub-county"])

            // An item recognized nationwide asks the Beijing hub too; a local-only check asks nobody.
            let local = try await hubs[0].call(
                .post, "/v1/recognition/checks", token: setups[0].clinician,
                json: ["patient": "cn-resident-id|\(patient)", "item_code": "K", "federated": false])
            #expect((local.json["candidates"] as? [[String: Any]])?.count == 1)
            #expect((local.json["peers"] as? [[String: Any]])?.isEmpty == true)
        }
    }

    @Test func aResultFetchedFromItsHubKeepsItsOriginAndRecognitionMetadata() async throws {
        try await Federation.run([Self.county, Self.city], links: [("hub-county", "hub-city")]) { hubs in
            let patient = residentID(birth: "19800101", sequence: "013")
            let setups = try await Self.seed(hubs, patient: patient)
            let reply = try await Self.check(hubs[0], setups[0], patient: patient)
            let remote = try #require(
                (reply.json["candidates"] as? [[String: Any]])?.first { $0["hub_id"] as? String == "hub-city" })
            let resultId = try #require(remote["result_id"] as? String)
            let fetched = try await hubs[0].get("/v1/results/\(resultId)?hub_id=hub-city", token: setups[0].clinician)
            #expect(fetched.status == 200, "\(fetched.text)")
            #expect(fetched["hub_id"] == "hub-city")
            #expect(fetched["id"] == resultId)
            #expect(fetched["performer_level"] == "tertiary")
            let recognition = try #require(fetched.json["recognition"] as? [String: Any])
            #expect(recognition["catalog_version"] as? String == "2026.1")
            #expect(recognition["qualification"] != nil)
            // The same record as the origin hub holds it.
            let original = try await hubs[1].get("/v1/results/\(resultId)", token: setups[1].clinician)
            #expect(original.json["recognition"] as? NSDictionary == recognition as NSDictionary)
            // An unknown result at the peer is a 404 passed on, not a 5xx.
            let missing = try await hubs[0].get("/v1/results/res_missing?hub_id=hub-city", token: setups[0].clinician)
            #expect(missing.status == 404, "\(missing.text)")
            let unknownHub = try await hubs[0].get(
                "/v1/results/\(resultId)?hub_id=hub-nowhere", token: setups[0].clinician)
            #expect(unknownHub.status == 404)
        }
    }

    @Test func aRingOfHubsDoesNotLoopAndEveryHubIsReachedOnce() async throws {
        // A knows B, B knows C, C knows A: the query relays round the ring and stops before it comes back.
        try await Federation.run(
            [Self.county, Self.city, Self.province],
            links: [("hub-county", "hub-city"), ("hub-city", "hub-province"), ("hub-province", "hub-county")]
        ) { hubs in
            let patient = residentID(birth: "19650303", sequence: "027")
            let setups = try await Self.seed(hubs, patient: patient)
            let reply = try await Self.check(hubs[0], setups[0], patient: patient)
            let candidates = try #require(reply.json["candidates"] as? [[String: Any]])
            #expect(candidates.count == 3)
            #expect(
                Set(candidates.compactMap { $0["hub_id"] as? String }) == ["hub-county", "hub-city", "hub-province"])
            let peers = try #require(reply.json["peers"] as? [[String: Any]])
            #expect(peers.contains { $0["hub_id"] as? String == "hub-city" && $0["status"] as? String == "ok" })
            #expect(
                peers.contains {
                    $0["hub_id"] as? String == "hub-province" && $0["status"] as? String == "ok"
                        && $0["via"] as? String == "hub-city"
                }, "\(peers)")
            // The origin knows hub-province only to check its signatures: it does not ask it directly.
            #expect(
                peers.contains {
                    $0["hub_id"] as? String == "hub-province" && $0["status"] as? String == "skipped"
                        && $0["via"] == nil
                })
            for hub in hubs.dropFirst() {
                let queries = try await hub.database.read { db in
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM audit_log WHERE action = 'federation.recognition.query'") ?? 0
                }
                #expect(queries == 1, "\(hub.env.config.hubId) answered once")
            }
            // A hub that ignores the list of hubs already asked is stopped at the origin: its own request is refused.
            let origin = hubs[0]
            let relayed = try await hubs[2].env.peerClient.send(
                try #require(try await hubs[2].database.read { try PeerStore.peer($0, id: "hub-county") }),
                method: "POST", path: "/federation/v1/recognition/query",
                body: try HubJSON.encode(
                    RecognitionQuery(
                        patient: [PatientIdentifier(system: "cn-resident-id", value: patient)], itemCode: "K",
                        asked: [], deadlineMs: 1000)), requestId: "frq-ring", origin: "hub-county", hops: 2)
            #expect(relayed.status == 422)
            #expect(String(decoding: relayed.body, as: UTF8.self).contains("loop_detected"))
            _ = origin
        }
    }

    @Test func aSlowPeerIsATimeoutAndADeadOneAnErrorAndTheAnswerComesWithinTheDeadline() async throws {
        let silent = TestReceiver()
        silent.slow(.seconds(15))
        try await silent.start()
        try await Federation.run(
            [Self.county, Self.city], links: [("hub-county", "hub-city")],
            configure: {
                // Room for the live peer to answer on a machine busy with the whole suite.
                $0.federationPeerTimeoutMilliseconds = 2500
                $0.federationDeadlineMilliseconds = 3000
            }
        ) { hubs in
            let patient = residentID(birth: "19900909", sequence: "045")
            let setups = try await Self.seed(hubs, patient: patient)
            // A peer that accepts connections and never answers, and one where nothing listens.
            let key = hubs[1].env.identity.publicKey
            for (id, url) in [
                ("hub-silent", "http://127.0.0.1:\(silent.port)"), ("hub-gone", "http://127.0.0.1:\(try unusedPort())"),
            ] {
                let added = try await hubs[0].call(
                    .post, "/v1/peers", token: hubs[0].admin,
                    json: ["id": id, "url": url, "public_key": key, "region": "420100"])
                try #require(added.status == 201)
            }
            let started = ContinuousClock.now
            let reply = try await Self.check(hubs[0], setups[0], patient: patient)
            let took = ContinuousClock.now - started
            let peers = Self.peers(reply)
            #expect(peers["hub-city"]?["status"] as? String == "ok")
            #expect(peers["hub-silent"]?["status"] as? String == "timeout")
            #expect(peers["hub-gone"]?["status"] as? String == "error")
            #expect((reply.json["candidates"] as? [[String: Any]])?.count == 2)
            // Bounded by the deadline (3 s), not by the silent peer (15 s): generous slack for a loaded machine.
            #expect(took < .seconds(10), "answered in \(took)")
        }
        await silent.stop()
    }
}

@Suite struct PeerDirectoryTests {
    @Test func directoriesAreRefreshedOnDemandAndPeriodicallyAndRemoteCentersAreListedWithTheirHub() async throws {
        try await Federation.run(
            [FederatedCheckTests.county, FederatedCheckTests.city], links: [("hub-county", "hub-city")],
            configure: { $0.federationDirectoryRefreshSeconds = 1 }
        ) { hubs in
            let (a, b) = (hubs[0], hubs[1])
            try await b.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
            let made = try await b.call(
                .post, "/v1/centers", token: b.admin, json: b.centerBody(id: "wh-imaging", institution: "wh-xiehe"))
            try #require(made.status == 201)

            let refreshed = try await a.call(.post, "/v1/peers/hub-city/refresh", token: a.admin)
            #expect(refreshed.status == 200, "\(refreshed.text)")
            #expect(refreshed.json["reachable"] as? Bool == true, "\(refreshed.text)")
            #expect(refreshed.json["centers"] as? Int == 1)
            #expect(refreshed["last_directory_refresh"] != nil)
            #expect(refreshed.json["recent_latency_ms"] is Int)

            let listed = try await a.get("/v1/centers?include=peers", token: a.admin)
            let remote = try #require(listed.items.first { $0["id"] as? String == "wh-imaging" })
            #expect(remote["hub_id"] as? String == "hub-city")
            #expect(remote["remote"] as? Bool == true)
            #expect((remote["items"] as? [String])?.contains("CT-CHEST") == true)
            // Without include=peers the listing is local only; a filter applies to remote centers too.
            #expect(try await a.get("/v1/centers", token: a.admin).items.isEmpty)
            #expect(try await a.get("/v1/centers?include=peers&kind=ecg", token: a.admin).items.isEmpty)
            #expect(try await a.get("/v1/centers?include=everything", token: a.admin).status == 422)

            // A center added at the peer shows up at the next periodic refresh, without asking.
            try await b.institution("wh-tongji", level: "tertiary", region: "420102", alliances: ["wh-east"])
            let ecg = try await b.call(
                .post, "/v1/centers", token: b.admin,
                json: b.centerBody(id: "wh-ecg", institution: "wh-tongji", kind: "ecg", items: ["ECG-12"]))
            try #require(ecg.status == 201, "\(ecg.text)")
            let appeared = try await TestReceiver.eventually(timeout: .seconds(15)) {
                try await a.get("/v1/centers?include=peers&kind=ecg", token: a.admin).items.count == 1
            }
            #expect(appeared)
        }
    }

    @Test func anUnreachablePeerIsReportedAndItsLastDirectoryKept() async throws {
        try await Federation.run(
            [FederatedCheckTests.county, FederatedCheckTests.city], links: [("hub-county", "hub-city")]
        ) { hubs in
            let (a, b) = (hubs[0], hubs[1])
            try await b.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
            _ = try await b.call(
                .post, "/v1/centers", token: b.admin, json: b.centerBody(id: "wh-imaging", institution: "wh-xiehe"))
            // Asked again should a fetch time out on a loaded machine.
            var refreshed = try await a.call(.post, "/v1/peers/hub-city/refresh", token: a.admin)
            for _ in 0..<5 where refreshed.json["centers"] as? Int != 1 {
                try await Task.sleep(for: .milliseconds(200))
                refreshed = try await a.call(.post, "/v1/peers/hub-city/refresh", token: a.admin)
            }
            #expect(refreshed.json["centers"] as? Int == 1, "\(refreshed.text)")
            // The peer moves to an address where nothing listens.
            let peer = try await a.get("/v1/peers/hub-city/status", token: a.admin).json["peer"] as? [String: Any]
            let moved = try await a.call(
                .post, "/v1/peers", token: a.admin,
                json: [
                    "id": "hub-city", "url": "http://127.0.0.1:\(try unusedPort())",
                    "public_key": peer?["public_key"] as? String ?? "", "region": "420100",
                ])
            #expect(moved.status == 201)
            let status = try await a.call(.post, "/v1/peers/hub-city/refresh", token: a.admin)
            #expect(status.json["reachable"] as? Bool == false)
            #expect((status["last_error"] ?? "").isEmpty == false)
            #expect(status.json["centers"] as? Int == 1, "the last known directory is kept")
            #expect(status["circuit"] == "closed")
            #expect(status.json["outbox_backlog"] as? Int == 0)
            #expect(try await a.call(.post, "/v1/peers/hub-nowhere/refresh", token: a.admin).status == 404)
        }
    }

    @Test func peersListedInTheConfigurationAreAddedAtStart() async throws {
        var hub = try TestHub()
        let key = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
        hub.config.federationPeers = [
            PeerInput(id: "hub-city", url: "http://127.0.0.1:9", publicKey: key, region: "420100", serves: ["ecg"])
        ]
        let configured = hub
        defer { configured.remove() }
        try await configured.run { client in
            let peers = try await client.get("/v1/peers", token: client.admin)
            #expect(peers.items.first?["id"] as? String == "hub-city")
            #expect(peers.items.first?["serves"] as? [String] == ["ecg"])
        }
    }
}
