import Foundation
import HubCore
import HubStore
import Testing

/// The audit log shows its own end: the hub keeps its chain's last record signed in a file outside the database, so
/// records cut from the end of the chain are found by `GET /v1/audit/verify` and `hubctl audit verify`, and the hub
/// never signs over the cut.
@Suite struct AuditHeadAcrossRestartsTests {
    @Test func aTruncatedAuditTableIsDetectedAgainstTheSignedHead() async throws {
        var hub = try TestHub()
        hub.config.auditHeadIntervalSeconds = 1
        let testHub = hub
        defer { testHub.remove() }
        let headPath = hub.config.auditHeadPath

        let auditor = try await testHub.run { client in
            try await client.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
            let (_, auditor) = try await client.practitioner(at: "wh-xiehe", roles: ["auditor"])
            for i in 0..<3 {
                try await client.institution("clinic-\(i)", level: "primary", region: "420115", alliances: ["wh-east"])
            }
            // Written within the interval while the hub runs, not only at shutdown.
            let deadline = ContinuousClock.now + .seconds(20)
            while (try? AuditHead.read(path: headPath)).flatMap({ $0 }) == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try AuditHead.read(path: headPath) != nil, "the head is written while the hub runs")
            let verified = try await client.get("/v1/audit/verify", token: auditor)
            #expect(verified.status == 200, "\(verified.text)")
            #expect(verified.json["intact"] as? Bool == true)
            #expect((verified.json["head"] as? [String: Any])?["status"] as? String == "matches")
            return auditor
        }

        // At shutdown the head names the chain's last record.
        let database = try AppDatabase(path: hub.config.databasePath)
        let last = try await database.read { try AuditHead.current($0) }
        let head = try #require(try AuditHead.read(path: headPath))
        #expect(head.seq == last?.seq && head.hash == last?.hash)
        #expect(head.hubId == hub.config.hubId)

        // Someone with the database but not the hub key removes the last three records.
        try await database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_delete")
            try db.execute(sql: "DELETE FROM audit_log WHERE seq > ?", arguments: [head.seq - 3])
        }
        try database.close()
        let signedBytes = try Data(contentsOf: URL(fileURLWithPath: headPath))

        try await testHub.run { client in
            let verified = try await client.get("/v1/audit/verify", token: auditor)
            #expect(verified.status == 200, "\(verified.text)")
            #expect(verified.json["intact"] as? Bool == false)
            let found = try #require(verified.json["head"] as? [String: Any])
            #expect(found["status"] as? String == "truncated")
            #expect(found["seq"] as? Int == Int(head.seq))
            #expect((verified["reason"] ?? "").contains("removed from its end"))
            try await Task.sleep(for: .milliseconds(1500))  // past one interval: the keeper has looked again
        }
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: headPath)) == signedBytes,
            "the hub does not sign over a cut chain")

        let offline = try await Hubctl.run(["audit", "verify", "--data-dir", hub.directory.path])
        #expect(offline.status == 1, "\(offline.output)")
        #expect(offline.output.contains("BROKEN") && offline.output.contains("removed from its end"))
    }
}

/// Peers witness the chain's end: each keeps the last signed head it saw in a peer's directory, so a hub whose head
/// file was removed along with the end of its chain is still shown the cut.
@Suite struct WitnessedAuditHeadTests {
    @Test func aPeerWitnessesTheHeadAndShowsACutEvenWhenTheHeadFileIsGone() async throws {
        var a = try TestHub()
        a.config.hubId = "hub-county"
        a.config.region = "420115"
        a.config.auditHeadIntervalSeconds = 1
        var b = try TestHub()
        b.config.hubId = "hub-city"
        b.config.region = "420100"
        let (county, city) = (a, b)
        defer {
            county.remove()
            city.remove()
        }

        let (auditor, witnessedSeq) = try await county.run { hubA in
            try await hubA.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
            let (_, auditor) = try await hubA.practitioner(at: "wh-xiehe", roles: ["auditor"])
            for i in 0..<4 {
                try await hubA.institution("clinic-\(i)", level: "primary", region: "420115", alliances: ["wh-east"])
            }
            // The head covers those writes before the city first reads the county's directory.
            let last = try #require(try await hubA.database.read { try AuditHead.current($0) })
            try await waitFor("the county's head to reach record \(last.seq)") {
                (try AuditHead.read(path: county.config.auditHeadPath)?.seq ?? 0) >= last.seq
            }
            return try await city.run { hubB in
                let urlA = "http://127.0.0.1:\(try #require(hubA.client.port))"
                let urlB = "http://127.0.0.1:\(try #require(hubB.client.port))"
                // The county knows the city first, so that the city's first directory request is answered.
                try await hubA.addPeer(hubB, id: "hub-city", region: "420100", url: urlB, serves: [])
                try await hubB.addPeer(hubA, id: "hub-county", region: "420115", url: urlA, serves: [])
                var seen: Int64 = 0
                try await waitFor("the city to witness the county's head") {
                    seen =
                        try await hubB.database.read {
                            try WitnessedAuditHeads.witnessed($0, hubId: "hub-county")
                        }?.seq ?? 0
                    return seen >= last.seq
                }
                let verified = try await hubA.get("/v1/audit/verify", token: auditor)
                #expect(verified.json["intact"] as? Bool == true, "\(verified.text)")
                let witnesses = try #require(verified.json["witnesses"] as? [[String: Any]])
                #expect(witnesses.map { $0["peer_id"] as? String } == ["hub-city"])
                #expect(witnesses.first?["status"] as? String == "matches")
                return (auditor, seen)
            }
        }

        // Someone with the county's files removes its head file and the end of its chain.
        try FileManager.default.removeItem(atPath: county.config.auditHeadPath)
        let database = try AppDatabase(path: county.config.databasePath)
        try await database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_delete")
            try db.execute(sql: "DELETE FROM audit_log WHERE seq > ?", arguments: [witnessedSeq - 4])
        }
        try database.close()

        try await city.run { hubB in
            try await county.run { hubA in
                // Ports are new after the restart: the county learns where the city is now.
                let urlB = "http://127.0.0.1:\(try #require(hubB.client.port))"
                try await hubA.addPeer(hubB, id: "hub-city", region: "420100", url: urlB, serves: [])
                let verified = try await hubA.get("/v1/audit/verify", token: auditor)
                #expect(verified.status == 200, "\(verified.text)")
                #expect(verified.json["intact"] as? Bool == false, "\(verified.text)")
                let witness = try #require((verified.json["witnesses"] as? [[String: Any]])?.first)
                #expect(["truncated", "rewritten"].contains(witness["status"] as? String), "\(witness)")
                #expect(witness["seq"] as? Int == Int(witnessedSeq))
                #expect((verified["reason"] ?? "").contains("hub-city"))
            }
        }
    }

    func waitFor(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
