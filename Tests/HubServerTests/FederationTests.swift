import Crypto
import CurlHTTP
import Foundation
import GRDB
import HubCore
import HubFederation
import HubStore
import Testing

@Suite struct FederationTests {
    /// Two hubs on loopback; each knows the other as a peer through its identity endpoint.
    func withTwoHubs(_ body: @Sendable (HubClient, HubClient, PeerClient) async throws -> Void) async throws {
        var a = try TestHub()
        a.config.hubId = "hub-county"
        a.config.region = "420115"
        var b = try TestHub()
        b.config.hubId = "hub-city"
        b.config.region = "420100"
        let (first, second) = (a, b)
        defer {
            first.remove()
            second.remove()
        }
        try await first.run { hubA in
            try await second.run { hubB in
                let urlA = "http://127.0.0.1:\(try #require(hubA.client.port))"
                let urlB = "http://127.0.0.1:\(try #require(hubB.client.port))"
                let identityB = try await hubB.get("/federation/v1/identity")
                #expect(identityB.status == 200)
                #expect(identityB["hub_id"] == "hub-city")
                let identityA = try await hubA.get("/federation/v1/identity")
                let addB = try await hubA.call(
                    .post, "/v1/peers", token: hubA.admin,
                    json: ["id": "hub-city", "url": urlB, "public_key": identityB["public_key"]!, "region": "420100"])
                #expect(addB.status == 201, "\(addB.text)")
                let addA = try await hubB.call(
                    .post, "/v1/peers", token: hubB.admin,
                    json: ["id": "hub-county", "url": urlA, "public_key": identityA["public_key"]!, "region": "420115"])
                #expect(addA.status == 201, "\(addA.text)")
                let client = PeerClient(
                    identity: hubA.env.identity, http: hubA.hub.http, allowPlainHTTP: true, clock: { Timestamp.now() },
                    outbound: hubA.env.outbound)
                try await body(hubA, hubB, client)
            }
        }
    }

    func peerB(_ hubA: HubClient) async throws -> Peer {
        try await hubA.database.read { try #require(try PeerStore.peer($0, id: "hub-city")) }
    }

    @Test func aSignedRequestReadsThePeersDirectory() async throws {
        try await withTwoHubs { hubA, hubB, client in
            try await hubB.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
            #expect(
                try await hubB.call(
                    .post, "/v1/centers", token: hubB.admin,
                    json: hubB.centerBody(id: "wh-imaging", institution: "wh-xiehe")
                ).status == 201)
            let reply = try await client.send(try await peerB(hubA), method: "GET", path: "/federation/v1/directory")
            #expect(reply.status == 200, "\(String(decoding: reply.body, as: UTF8.self))")
            let items =
                (try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["items"]
                as? [[String: Any]]
            #expect(items?.first?["center_id"] as? String == "wh-imaging")
            #expect(items?.first?["hub_id"] as? String == "hub-city")
            let status = try await hubA.get("/v1/peers/hub-city/status", token: hubA.admin)
            #expect(status["circuit"] == "closed")
            #expect(status.json["outbox_backlog"] as? Int == 0)
        }
    }

    @Test func forgedReplayedStaleUnknownAndLoopingRequestsAreRefused() async throws {
        try await withTwoHubs { hubA, hubB, client in
            let peer = try await peerB(hubA)
            let path = "/federation/v1/directory"
            // Replayed: the same signed headers twice.
            let headers = hubA.env.identity.sign(
                method: "GET", target: path, destination: "hub-city", body: Data(), requestId: "req-once",
                now: Timestamp.now())
            let first = try await hubA.hub.http.execute(CurlRequest(url: peer.url + path, headers: headers))
            #expect(first.status == 200)
            let again = try await hubA.hub.http.execute(CurlRequest(url: peer.url + path, headers: headers))
            #expect(again.status == 401)
            // Forged: signed by a key hub-city does not know, under hub-county's name.
            let forger = HubIdentity(hubId: "hub-county", region: "420115", privateKey: Curve25519.Signing.PrivateKey())
            let forged = try await PeerClient(
                identity: forger, http: hubA.hub.http, allowPlainHTTP: true, clock: { Timestamp.now() },
                outbound: hubA.env.outbound
            ).send(peer, method: "GET", path: path)
            #expect(forged.status == 401)
            // Unknown: a hub hub-city never configured.
            let stranger = HubIdentity(
                hubId: "hub-elsewhere", region: "110000", privateKey: Curve25519.Signing.PrivateKey())
            #expect(
                try await PeerClient(
                    identity: stranger, http: hubA.hub.http, allowPlainHTTP: true, clock: { Timestamp.now() },
                    outbound: hubA.env.outbound
                ).send(peer, method: "GET", path: path).status == 401)
            // Stale: signed an hour ago.
            let stale = PeerClient(
                identity: hubA.env.identity, http: hubA.hub.http, allowPlainHTTP: true,
                clock: { Timestamp.now().adding(milliseconds: -3_600_000) }, outbound: hubA.env.outbound)
            #expect(try await stale.send(peer, method: "GET", path: path).status == 401)
            // Unsigned.
            #expect(try await hubA.hub.http.execute(CurlRequest(url: peer.url + path)).status == 401)
            // Past the hop limit: a request that has gone round a ring of hubs.
            let looping = try await client.send(peer, method: "GET", path: path, hops: 9)
            #expect(looping.status == 422)
            #expect(
                (try JSONSerialization.jsonObject(with: Data(looping.body)) as? [String: Any])?["code"] as? String
                    == "hop_limit")
            // A body altered after signing does not verify: the signature covers the body digest and the path.
            var moved = hubA.env.identity.sign(
                method: "GET", target: "/federation/v1/elsewhere", destination: "hub-city", body: Data(),
                requestId: "req-moved", now: Timestamp.now())
            moved.removeAll { $0.name == "X-Hub-Request-Id" }
            moved.append(("X-Hub-Request-Id", "req-moved"))
            #expect(try await hubA.hub.http.execute(CurlRequest(url: peer.url + path, headers: moved)).status == 401)

            // Each reason is audited (the directory refresh hub-county starts as soon as it knows hub-city may reach
            // hub-city before hub-city knows hub-county, an `unknown_hub` refusal too). The forged and the moved
            // request are both `bad_signature` from hub-county within a minute: one row stands for both.
            let refused = try await hubB.database.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT actor, detail FROM audit_log WHERE action = 'federation.refused' ORDER BY seq"
                ).map { (actor: $0["actor"] as String, detail: $0["detail"] as String) }
            }
            func reason(_ row: (actor: String, detail: String)) -> String {
                String(row.detail.prefix { $0 != " " }.dropFirst("reason=".count))
            }
            #expect(
                Set(refused.map { "\($0.actor) \(reason($0))" }) == [
                    "peer:hub-county replay", "peer:hub-county bad_signature", "peer:unknown unknown_hub",
                    "peer:hub-county stale", "peer:unknown unsigned", "peer:hub-county hop_limit",
                ], "\(refused)")
            #expect(refused.count == 6, "one row per origin and reason: \(refused)")
            #expect(refused.contains { reason($0) == "bad_signature" && $0.detail.contains("count=1:") })
        }
    }

    @Test func peersAreValidatedAndAdminOnly() async throws {
        try await withHub { hub in
            let key = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
            let bad = try await hub.call(
                .post, "/v1/peers", token: hub.admin,
                json: ["id": "hub-x", "url": "ftp://x", "public_key": "nope", "region": "42"])
            #expect(bad.status == 422)
            let fields = (bad.json["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
            #expect(fields == ["url", "public_key", "region"])
            let own = try await hub.call(
                .post, "/v1/peers", token: hub.admin,
                json: ["id": "hub-local", "url": "http://127.0.0.1:1", "public_key": key, "region": "420100"])
            #expect(own["field"] == "id")
            try await hub.institution("h")
            let (_, clinic) = try await hub.practitioner(at: "h", roles: ["clinic"])
            #expect(try await hub.get("/v1/peers", token: clinic).status == 403)
            #expect(try await hub.get("/v1/peers/nope/status", token: hub.admin).status == 404)
        }
    }

    @Test func theKeyFileIsPrivateAndStableAcrossRestarts() async throws {
        let hub = try TestHub()
        defer { hub.remove() }
        let first = try await hub.run { try await $0.get("/federation/v1/identity")["public_key"] }
        let second = try await hub.run { try await $0.get("/federation/v1/identity")["public_key"] }
        #expect(first != nil && first == second)
        let attributes = try FileManager.default.attributesOfItem(atPath: hub.config.federationKeyPath)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
    }
}
