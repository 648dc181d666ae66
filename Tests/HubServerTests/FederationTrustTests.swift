import Crypto
import CurlHTTP
import Foundation
import HTTPTypes
import HubCore
import HubFederation
import HubServer
import HubStore
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A peer hub that answers recognition queries as a test scripts it, on a real Hummingbird server on loopback: its
/// answer is signed with its own key for the hub that asked, unless told to send it unsigned, signed with another key,
/// or changed after signing (as a compromised hub or a man in the middle would).
final class StubPeer: Sendable {
    enum Signing: Sendable {
        case signed
        case unsigned
        case signedBy(HubIdentity)
        /// Signed, then one byte of the body changed on the way.
        case tampered
    }

    let identity: HubIdentity
    private let results = Mutex<[FederatedResult]>([])
    private let signing = Mutex<Signing>(.signed)
    private let server = LoopbackServer()

    init(hubId: String) {
        identity = HubIdentity(hubId: hubId, region: "420100", privateKey: Curve25519.Signing.PrivateKey())
    }

    var url: String { "http://127.0.0.1:\(server.port)" }

    func answer(_ results: [FederatedResult], _ signing: Signing = .signed) {
        self.results.withLock { $0 = results }
        self.signing.withLock { $0 = signing }
    }

    func start() async throws {
        let router = Router()
        router.post("/federation/v1/recognition/query") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1_000_000)
            let requester = request.headers[HTTPField.Name("X-Hub-Id")!] ?? ""
            let requestId = request.headers[HTTPField.Name("X-Hub-Request-Id")!] ?? ""
            var body = try HubJSON.encode(
                RecognitionQueryAnswer(
                    hubId: self.identity.hubId, results: self.results.withLock { $0 }, peers: []))
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            let signing = self.signing.withLock { $0 }
            let signer: HubIdentity?
            switch signing {
            case .unsigned: signer = nil
            case .signedBy(let other): signer = other
            case .signed, .tampered: signer = self.identity
            }
            if let signer {
                for (name, value) in signer.signAnswer(
                    requester: requester, requestId: requestId, status: 200, body: body)
                {
                    headers[HTTPField.Name(name)!] = value
                }
            }
            if case .tampered = signing, let index = body.firstIndex(of: UInt8(ascii: "4")) {
                body[index] = UInt8(ascii: "9")
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        try await server.start(router, label: "stub-peer")
    }

    func stop() async { await server.stop() }
}

@Suite struct FederationTrustTests {
    static let county = Federation.Member(id: "hub-county", region: "420115")
    static let city = Federation.Member(id: "hub-city", region: "420100")
    static let province = Federation.Member(id: "hub-province", region: "420000")

    /// The first K result of `patient` that `hub` holds, as it would answer a peer for it: sealed with its key.
    static func sealedResult(_ hub: HubClient, patient: String) async throws -> FederatedResult {
        let key = hub.env.patientKeys.key(for: PatientIdentifier(system: "cn-resident-id", value: patient))
        let record = try await hub.database.read { db in
            try #require(try RecognitionStore.results(db, patientKeys: [key], itemCode: "K").first)
        }
        return hub.env.identity.seal(
            FederatedResult(hubId: hub.env.config.hubId, performerLevel: .tertiary, result: record))
    }

    static func candidates(_ reply: Reply) -> [[String: Any]] { (reply.json["candidates"] as? [[String: Any]]) ?? [] }

    @Test func aRelayedResultIsKeptOnlyWithItsHubsSealAndTheOthersAreDroppedAndCounted() async throws {
        let relay = StubPeer(hubId: "hub-relay")
        try await relay.start()
        // The county hub asks only the relay; it knows the city hub's key without asking it (serves nothing).
        try await Federation.run([Self.county, Self.city], links: []) { hubs in
            let (county, city) = (hubs[0], hubs[1])
            try await Federation.link(county, to: city, serves: [])
            let added = try await county.call(
                .post, "/v1/peers", token: county.admin,
                json: [
                    "id": "hub-relay", "url": relay.url, "public_key": relay.identity.publicKey, "region": "420100",
                    "serves": ["recognition"],
                ])
            try #require(added.status == 201, "\(added.text)")
            let patient = residentID(birth: "19720202", sequence: "031")
            let setups = try await FederatedCheckTests.seed([county, city], patient: patient)
            let genuine = try await Self.sealedResult(city, patient: patient)
            #expect(ResultSeal.verify(genuine, publicKey: city.env.identity.publicKey))

            // The relay's own result, under its own id: its signed answer vouches for it.
            var own = genuine
            own.hubId = "hub-relay"
            own.signature = nil
            own.result.id = "res-relay-own"
            // A result the city hub never made, under its id, without a seal.
            var unsealed = genuine
            unsealed.signature = nil
            unsealed.result.id = "res-forged"
            // The city hub's genuine result with its value changed, and one with another performer level: the seal
            // no longer matches either.
            var changedValue = genuine
            changedValue.result.values[0].value = "3.9"
            var otherLevel = genuine
            otherLevel.performerLevel = .secondary
            // A result sealed by a key under the name of a hub the county hub does not know.
            let ghost = HubIdentity(hubId: "hub-ghost", region: "420100", privateKey: Curve25519.Signing.PrivateKey())
            var stranger = genuine
            stranger.hubId = "hub-ghost"
            stranger.result.id = "res-ghost"
            stranger = ghost.seal(stranger)
            relay.answer([own, genuine, unsealed, changedValue, otherLevel, stranger])

            let reply = try await FederatedCheckTests.check(county, setups[0], patient: patient)
            let candidates = Self.candidates(reply)
            let ids = Set(candidates.compactMap { $0["result_id"] as? String })
            #expect(ids.contains(genuine.result.id), "the genuine relayed result is kept: \(candidates)")
            #expect(ids.contains("res-relay-own"))
            #expect(!ids.contains("res-forged") && !ids.contains("res-ghost"))
            #expect(candidates.filter { $0["hub_id"] as? String == "hub-city" }.count == 1)
            let outcome = try #require(FederatedCheckTests.peers(reply)["hub-relay"])
            #expect(outcome["status"] as? String == "ok")
            #expect(outcome["results"] as? Int == 2)
            #expect(outcome["dropped"] as? Int == 4, "\(outcome)")
            #expect((outcome["dropped_reason"] as? String)?.contains("res-forged") == true, "\(outcome)")
        }
        await relay.stop()
    }

    @Test func aTamperedUnsignedOrWronglySignedAnswerIsRefusedAndShownInThePeersStatus() async throws {
        let peer = StubPeer(hubId: "hub-relay")
        try await peer.start()
        var hub = try TestHub()
        defer { hub.remove() }
        // Room for the stub peer to answer on a machine busy with the whole suite: this test is about signatures,
        // not about timing.
        hub.config.federationPeerTimeoutMilliseconds = 10_000
        hub.config.federationDeadlineMilliseconds = 12_000
        try await hub.run { county in
            let added = try await county.call(
                .post, "/v1/peers", token: county.admin,
                json: [
                    "id": "hub-relay", "url": peer.url, "public_key": peer.identity.publicKey, "region": "420100",
                    "serves": ["recognition"],
                ])
            try #require(added.status == 201, "\(added.text)")
            let setup = try await RecognitionSetup.make(county)
            let patient = residentID(birth: "19730303", sequence: "041")
            let stored = try await county.call(
                .post, "/v1/results", token: setup.lab,
                json: RecognitionSetup.result(
                    patient: patient, item: "K", performedAt: Timestamp.now().adding(days: -2)))
            try #require(stored.status == 201)
            let storedId = try #require(stored["id"])
            let record = try await county.database.read { db in
                try #require(try ResultStore.result(db, id: storedId))
            }
            var own = FederatedResult(hubId: "hub-relay", performerLevel: .tertiary, result: record)
            own.result.id = "res-relay-own"

            peer.answer([own], .signed)
            let honest = try await FederatedCheckTests.check(county, setup, patient: patient)
            #expect(FederatedCheckTests.peers(honest)["hub-relay"]?["status"] as? String == "ok")
            #expect(Self.candidates(honest).contains { $0["result_id"] as? String == "res-relay-own" })

            let cases: [(StubPeer.Signing, String)] = [
                (.tampered, "does not verify"), (.unsigned, "not signed"),
                (.signedBy(HubIdentity(hubId: "hub-relay", region: "420100", privateKey: .init())), "does not verify"),
            ]
            for (signing, expected) in cases {
                peer.answer([own], signing)
                let reply = try await FederatedCheckTests.check(county, setup, patient: patient)
                let outcome = try #require(FederatedCheckTests.peers(reply)["hub-relay"])
                #expect(outcome["status"] as? String == "error", "\(signing): \(outcome)")
                #expect((outcome["detail"] as? String)?.contains("answer refused") == true, "\(outcome)")
                #expect((outcome["detail"] as? String)?.contains(expected) == true, "\(outcome)")
                #expect(!Self.candidates(reply).contains { $0["result_id"] as? String == "res-relay-own" })
            }
        }
        await peer.stop()
    }

    @Test func aRequestSignedForOneHubIsRefusedByAnotherAndItsQueryCannotBeChanged() async throws {
        try await Federation.run(
            [Self.county, Self.city, Self.province],
            links: [("hub-county", "hub-city"), ("hub-county", "hub-province")]
        ) { hubs in
            let (county, city, province) = (hubs[0], hubs[1], hubs[2])
            let http = county.hub.http
            func url(_ hub: HubClient, _ target: String) throws -> String {
                "http://127.0.0.1:\(try #require(hub.client.port))" + target
            }
            let target = "/federation/v1/directory?limit=5"
            let forCity = county.env.identity.sign(
                method: "GET", target: target, destination: "hub-city", body: Data(), requestId: "req-for-city",
                now: Timestamp.now())
            let atProvince = try await http.execute(CurlRequest(url: try url(province, target), headers: forCity))
            #expect(atProvince.status == 401)
            #expect(String(decoding: atProvince.body, as: UTF8.self).contains("signed for hub 'hub-city'"))
            // The same request where it was meant to go passes, query string and all.
            let atCity = try await http.execute(CurlRequest(url: try url(city, target), headers: forCity))
            #expect(atCity.status == 200, "\(String(decoding: atCity.body, as: UTF8.self))")
            // Its query changed on the way: refused.
            let changed = county.env.identity.sign(
                method: "GET", target: target, destination: "hub-city", body: Data(), requestId: "req-changed",
                now: Timestamp.now())
            let atCityChanged = try await http.execute(
                CurlRequest(url: try url(city, "/federation/v1/directory?limit=500"), headers: changed))
            #expect(atCityChanged.status == 401)
            // A signature without the destination (the old version) is refused with a clear reason.
            let old = forCity.filter { $0.name != FederationEnvelope.protocolHeader }
            let oldReply = try await http.execute(CurlRequest(url: try url(city, target), headers: old))
            #expect(oldReply.status == 401)
            #expect(String(decoding: oldReply.body, as: UTF8.self).contains("older hub-to-hub signature"))
            let reasons = try await province.database.read { db in
                try String.fetchAll(db, sql: "SELECT detail FROM audit_log WHERE action = 'federation.refused'")
            }
            #expect(reasons.contains { $0.hasPrefix("reason=wrong_destination count=1") }, "\(reasons)")
        }
    }

    @Test func aReplayIsRefusedForAsLongAsItsSignatureTimeIsAccepted() async throws {
        // The receiving hub's clock is moved by hand; the signature time is fixed on a whole second.
        let start = Timestamp(millisecondsSinceEpoch: (Timestamp.now().millisecondsSinceEpoch / 1000) * 1000)
        let clock = TestClock(start)
        var receiver = try TestHub()
        receiver.config.hubId = "hub-city"
        receiver.config.region = "420100"
        receiver.config.federationMaxSkewSeconds = 5
        let sender = HubIdentity(hubId: "hub-county", region: "420115", privateKey: Curve25519.Signing.PrivateKey())
        let hub = receiver
        defer { hub.remove() }
        try await hub.run(clock: { clock.read() }) { city in
            let added = try await city.call(
                .post, "/v1/peers", token: city.admin,
                json: [
                    "id": "hub-county", "url": "http://127.0.0.1:1", "public_key": sender.publicKey,
                    "region": "420115", "serves": [String](),
                ])
            try #require(added.status == 201)
            let url = "http://127.0.0.1:\(try #require(city.client.port))/federation/v1/directory"
            let signedAt = start.adding(milliseconds: 60_000)
            let once = sender.sign(
                method: "GET", target: "/federation/v1/directory", destination: "hub-city", body: Data(),
                requestId: "req-once", now: signedAt)
            // First seen as early as its time allows (5 s before it)...
            clock.set(signedAt.adding(milliseconds: -5000))
            #expect(try await city.hub.http.execute(CurlRequest(url: url, headers: once)).status == 200)
            // ...then, as late as its time is still accepted (5.9 s after it, 10.9 s on), another request makes the
            // hub forget old request ids, and the first comes again.
            clock.set(signedAt.adding(milliseconds: 5900))
            let other = sender.sign(
                method: "GET", target: "/federation/v1/directory", destination: "hub-city", body: Data(),
                requestId: "req-other", now: signedAt.adding(milliseconds: 5900))
            #expect(try await city.hub.http.execute(CurlRequest(url: url, headers: other)).status == 200)
            let replay = try await city.hub.http.execute(CurlRequest(url: url, headers: once))
            #expect(replay.status == 401)
            #expect(String(decoding: replay.body, as: UTF8.self).contains("already received"))
            // A second later its time is too old anyway.
            clock.set(signedAt.adding(milliseconds: 6000))
            let stale = try await city.hub.http.execute(CurlRequest(url: url, headers: once))
            #expect(String(decoding: stale.body, as: UTF8.self).contains("signature time"))
        }
    }

    /// The process-wide count of `hub.federation.refused` for `reason`, from the Prometheus registry.
    static func refusedCount(_ metric: String, reason: String) -> Int {
        var buffer: [UInt8] = []
        HubMetrics.registry().emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(metric + "{") {
            guard line.contains("reason=\"\(reason)\""), let value = line.split(separator: " ").last else { continue }
            return Int(Double(value) ?? 0)
        }
        return 0
    }

    @Test func aFloodOfUnsignedRequestsIsCountedButWrittenDownOnceAMinute() async throws {
        let clock = TestClock(Timestamp.now())
        var receiver = try TestHub()
        receiver.config.hubId = "hub-flooded"
        let hub = receiver
        defer { hub.remove() }
        try await hub.run(clock: { clock.read() }) { flooded in
            let url = "http://127.0.0.1:\(try #require(flooded.client.port))/federation/v1/directory"
            let before = Self.refusedCount("hub_federation_refused", reason: "unsigned")
            let bearerBefore = Self.refusedCount("hub_auth_refused", reason: "unknown")
            for i in 0..<200 {
                // Each claims another hub: claims of hubs this hub does not know are one origin.
                let reply = try await flooded.hub.http.execute(
                    CurlRequest(url: url, headers: [("X-Hub-Id", "hub-flood-\(i)")]))
                #expect(reply.status == 401)
            }
            for _ in 0..<20 {
                let reply = try await flooded.hub.http.execute(
                    CurlRequest(
                        url: "http://127.0.0.1:\(try #require(flooded.client.port))/v1/peers",
                        headers: [("Authorization", "Bearer hub_\(String(repeating: "x", count: 40))")]))
                #expect(reply.status == 401)
            }
            let counted = Self.refusedCount("hub_federation_refused", reason: "unsigned") - before
            // Other suites in this process may refuse an unsigned request or two meanwhile.
            #expect((200...210).contains(counted), "\(counted)")
            #expect(Self.refusedCount("hub_auth_refused", reason: "unknown") - bearerBefore >= 20)
            let database = flooded.database
            @Sendable func rows() async throws -> [String] {
                try await database.read { db in
                    try String.fetchAll(
                        db, sql: "SELECT detail FROM audit_log WHERE action = 'federation.refused' ORDER BY seq")
                }
            }
            let first = try await rows()
            #expect(first.count == 1, "\(first)")
            #expect(first.first?.hasPrefix("reason=unsigned count=1:") == true)
            // A minute on, the refusals held back are written in one row that carries their number.
            clock.advance(minutes: 1)
            try await TestReceiver.eventually(timeout: .seconds(20)) { try await rows().count == 2 }
            let second = try await rows()
            #expect(second.count == 2, "\(second)")
            #expect(second.last?.hasPrefix("reason=unsigned count=199:") == true, "\(second)")
        }
    }

    @Test func plainHTTPPeersAndWebhooksAreRefusedUnlessTheConfigurationAllowsThem() async throws {
        var strict = try TestHub()
        strict.config.federationAllowPlainHTTP = false
        let hub = strict
        defer { hub.remove() }
        try await hub.run { strict in
            let key = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
            let plain = try await strict.call(
                .post, "/v1/peers", token: strict.admin,
                json: ["id": "hub-plain", "url": "http://127.0.0.1:9", "public_key": key, "region": "420100"])
            #expect(plain.status == 422)
            #expect(plain["field"] == "url", "\(plain.text)")
            #expect(plain.text.contains("federation.allow_plain_http"))
            let secure = try await strict.call(
                .post, "/v1/peers", token: strict.admin,
                json: ["id": "hub-secure", "url": "https://127.0.0.1:9", "public_key": key, "region": "420100"])
            #expect(secure.status == 201, "\(secure.text)")
            try await strict.institution("wh-hook")
            let hook = try await strict.call(
                .put, "/v1/institutions/wh-hook/webhook", token: strict.admin,
                json: ["url": "http://127.0.0.1:9/hook", "secret": String(repeating: "s", count: 24)])
            #expect(hook.status == 422, "\(hook.text)")
            // A peer stored over plain HTTP before the rule (here written straight to the database) is not called.
            let now = Timestamp.now()
            try await strict.database.write { db in
                try PeerStore.save(
                    db,
                    Peer(
                        id: "hub-old", url: "http://127.0.0.1:9", publicKey: key, region: "420100",
                        serves: ["recognition"], createdAt: now, updatedAt: now))
            }
            let setup = try await RecognitionSetup.make(strict)
            let reply = try await FederatedCheckTests.check(
                strict, setup, patient: residentID(birth: "19740404", sequence: "051"))
            let outcome = try #require(FederatedCheckTests.peers(reply)["hub-old"])
            #expect(outcome["status"] as? String == "error")
            #expect((outcome["detail"] as? String)?.contains("https://") == true, "\(outcome)")
        }
    }
}
