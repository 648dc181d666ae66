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
