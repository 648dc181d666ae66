import Foundation
import HubStore
import Testing

@Suite struct InstitutionTests {
    @Test func createReadUpdateAndSuspend() async throws {
        try await withHub { hub in
            let created = try await hub.institution(
                "wh-xh", level: "tertiary", region: "420102", alliances: ["wh", "hb"])
            #expect(created["level"] == "tertiary")
            #expect(created["created_at"] != nil)

            let read = try await hub.get("/v1/institutions/wh-xh", token: hub.admin)
            #expect(read.status == 200)
            #expect(read["name"] == "机构 wh-xh")

            let renamed = try await hub.call(.patch, "/v1/institutions/wh-xh", token: hub.admin, json: ["name": "协和医院"])
            #expect(renamed.status == 200)
            #expect(renamed["name"] == "协和医院")
            #expect(renamed["region"] == "420102")

            let suspended = try await hub.call(
                .patch, "/v1/institutions/wh-xh", token: hub.admin, json: ["status": "suspended"])
            #expect(suspended["status"] == "suspended")
            let active = try await hub.get("/v1/institutions?status=active", token: hub.admin)
            #expect(active.items.isEmpty)
        }
    }

    @Test func serverGeneratesIdsWhenNoneIsGiven() async throws {
        try await withHub { hub in
            let reply = try await hub.call(
                .post, "/v1/institutions", token: hub.admin,
                json: ["name": "社区卫生服务中心", "level": "primary", "region": "420103"])
            #expect(reply.status == 201)
            #expect(reply["id"]?.hasPrefix("ins_") == true)
        }
    }

    @Test func validationNamesEveryBadField() async throws {
        try await withHub { hub in
            let reply = try await hub.call(
                .post, "/v1/institutions", token: hub.admin, json: ["name": "", "level": "primary", "region": "4201"])
            #expect(reply.status == 422)
            #expect(reply.contentType == "application/problem+json")
            #expect(reply["code"] == "validation_failed")
            let fields = (reply.json["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
            #expect(fields == ["name", "region"])
        }
    }

    @Test func unknownLevelIsRefusedWithTheAllowedValues() async throws {
        try await withHub { hub in
            let reply = try await hub.call(
                .post, "/v1/institutions", token: hub.admin,
                json: ["name": "A", "level": "quaternary", "region": "420102"])
            #expect(reply.status == 422)
            #expect(reply["field"] == "level")
            #expect(reply["detail"]?.contains("primary, secondary, tertiary") == true)
        }
    }

    @Test func wrongTypesAndBrokenJSONAreClientErrors() async throws {
        try await withHub { hub in
            let typed = try await hub.call(
                .post, "/v1/institutions", token: hub.admin, json: ["name": 12, "level": "primary", "region": "420102"])
            #expect(typed.status == 422)
            #expect(typed["field"] == "name")
            let broken = try await hub.call(
                .post, "/v1/institutions", token: hub.admin, raw: Data("{\"name\":".utf8),
                contentType: "application/json")
            #expect(broken.status == 400)
            #expect(broken["code"] == "malformed_request")
            let notJSON = try await hub.call(
                .post, "/v1/institutions", token: hub.admin, raw: Data("name=A".utf8),
                contentType: "application/x-www-form-urlencoded")
            #expect(notJSON.status == 415)
            #expect(notJSON["code"] == "unsupported_media_type")
        }
    }

    @Test func duplicateIdIsAConflict() async throws {
        try await withHub { hub in
            try await hub.institution("dup")
            let again = try await hub.call(
                .post, "/v1/institutions", token: hub.admin,
                json: ["id": "dup", "name": "B", "level": "primary", "region": "420102"])
            #expect(again.status == 409)
            #expect(again["field"] == "id")
        }
    }

    @Test func oversizedBodyIsRefusedAndNothingIsWritten() async throws {
        let hub = try TestHub()
        defer { hub.remove() }
        var small = hub
        small.config.maxBodyBytes = 2048
        try await small.run { hub in
            let big = ["name": String(repeating: "医", count: 3000), "level": "primary", "region": "420102"]
            let reply = try await hub.call(.post, "/v1/institutions", token: hub.admin, json: big)
            #expect(reply.status == 413)
            #expect(reply["code"] == "payload_too_large")
            #expect(try await hub.get("/v1/institutions", token: hub.admin).items.isEmpty)
        }
    }

    @Test func paginationVisitsEveryRecordOnce() async throws {
        try await withHub { hub in
            for i in 0..<7 { try await hub.institution("inst-\(i)") }
            var seen: [String] = []
            var next: String? = nil
            var pages = 0
            repeat {
                let query = next.map { "&next=\($0)" } ?? ""
                let page = try await hub.get("/v1/institutions?limit=3\(query)", token: hub.admin)
                #expect(page.status == 200)
                seen += page.items.compactMap { $0["id"] as? String }
                next = page["next"]
                pages += 1
            } while next != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == (0..<7).map { "inst-\($0)" })
            #expect(try await hub.get("/v1/institutions?limit=0", token: hub.admin).status == 422)
            #expect(try await hub.get("/v1/institutions?limit=501", token: hub.admin).status == 422)
            #expect(try await hub.get("/v1/institutions?next=%%%", token: hub.admin).status == 422)
        }
    }

    @Test func filtersByLevelRegionPrefixAndAlliance() async throws {
        try await withHub { hub in
            try await hub.institution("a", level: "primary", region: "420102", alliances: ["wh"])
            try await hub.institution("b", level: "tertiary", region: "420103", alliances: ["wh", "hb"])
            try await hub.institution("c", level: "primary", region: "110105", alliances: ["bj"])
            func ids(_ query: String) async throws -> [String] {
                try await hub.get("/v1/institutions?\(query)", token: hub.admin).items.compactMap {
                    $0["id"] as? String
                }
            }
            #expect(try await ids("level=primary") == ["a", "c"])
            #expect(try await ids("region=42") == ["a", "b"])
            #expect(try await ids("region=420103") == ["b"])
            #expect(try await ids("alliance=wh") == ["a", "b"])
            #expect(try await hub.get("/v1/institutions?level=huge", token: hub.admin).status == 422)
        }
    }
}
