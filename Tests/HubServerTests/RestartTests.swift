import Foundation
import HubStore
import Testing

@Suite struct RestartTests {
    @Test func aRestartKeepsEveryRecordTokenAndTheAuditChain() async throws {
        let hub = try TestHub()
        defer { hub.remove() }
        let (practitionerToken, firstAdmin) = try await hub.run { hub in
            try await hub.institution("host", level: "tertiary")
            let center = try await hub.call(
                .post, "/v1/centers", token: hub.admin, json: hub.centerBody(id: "img", institution: "host"))
            #expect(center.status == 201)
            let (_, token) = try await hub.practitioner(at: "host", roles: ["reader"])
            let published = try await hub.call(
                .post, "/v1/catalog/versions", token: hub.admin,
                json: [
                    "version": "2031.1", "effective_from": "2031-01-01",
                    "items": [
                        [
                            "code": "K", "name": "钾", "kind": "lab", "category": "lab", "validity_days": 7,
                            "scope": "city", "price": 5,
                        ]
                    ],
                ])
            #expect(published.status == 201)
            return (token, hub.admin)
        }
        try await hub.run { hub in
            #expect(hub.admin == firstAdmin, "no second admin token is made on restart")
            #expect(try await hub.get("/v1/institutions/host", token: hub.admin).status == 200)
            #expect(try await hub.get("/v1/centers/img", token: hub.admin)["institution_id"] == "host")
            #expect(try await hub.get("/v1/me", token: practitionerToken).status == 200)
            let versions = try await hub.get("/v1/catalog/versions", token: hub.admin).items.compactMap {
                $0["version"] as? String
            }
            #expect(versions == ["2026.1", "2031.1"], "the starting catalog is not published twice")
            let audit = try await hub.database.read { try AuditLog.verify($0) }
            #expect(audit.isIntact)
            #expect(audit.checked >= 6)
        }
    }
}

@Suite struct AuditTrailTests {
    @Test func everyWriteLeavesAChainedRecordForAuditors() async throws {
        try await withHub { hub in
            try await hub.institution("a")
            let (_, auditor) = try await hub.practitioner(at: "a", roles: ["auditor"])
            _ = try await hub.call(.patch, "/v1/institutions/a", token: hub.admin, json: ["status": "suspended"])
            _ = try await hub.call(.patch, "/v1/institutions/a", token: hub.admin, json: ["status": "active"])
            let log = try await hub.get("/v1/audit?target=a", token: auditor)
            #expect(log.status == 200)
            let actions = log.items.compactMap { $0["action"] as? String }
            #expect(actions == ["institution.create", "institution.suspend", "institution.reactivate"])
            #expect(log.items.allSatisfy { $0["remote_addr"] as? String == "127.0.0.1" })
            #expect(log.items.allSatisfy { ($0["request_id"] as? String)?.isEmpty == false })
            #expect(log.items.allSatisfy { ($0["actor"] as? String)?.hasPrefix("token:") == true })
            let verify = try await hub.get("/v1/audit/verify", token: auditor)
            #expect(verify.json["intact"] as? Bool == true)
            let bad = try await hub.get("/v1/audit?from=yesterday", token: auditor)
            #expect(bad.status == 422)
            #expect(bad["field"] == "from")
        }
    }

    @Test func failedWritesLeaveNoAuditRecord() async throws {
        try await withHub { hub in
            let before = try await hub.database.read { try AuditLog.count($0) }
            _ = try await hub.call(
                .post, "/v1/institutions", token: hub.admin, json: ["name": "A", "level": "primary", "region": "99"])
            _ = try await hub.call(
                .post, "/v1/centers", token: hub.admin, json: hub.centerBody(id: "c", institution: "ghost"))
            let after = try await hub.database.read { try AuditLog.count($0) }
            #expect(after == before)
        }
    }
}
