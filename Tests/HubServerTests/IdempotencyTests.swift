import Foundation
import HTTPTypes
import Testing

@Suite struct IdempotencyTests {
    @Test func sameKeyAndBodyReplaysTheFirstAnswer() async throws {
        try await withHub { hub in
            let body: [String: Any] = ["name": "乡镇卫生院", "level": "primary", "region": "420115"]
            let first = try await hub.call(
                .post, "/v1/institutions", token: hub.admin, json: body, headers: ["Idempotency-Key": "k-1"])
            let second = try await hub.call(
                .post, "/v1/institutions", token: hub.admin, json: body, headers: ["Idempotency-Key": "k-1"])
            #expect(first.status == 201)
            #expect(second.status == 201)
            #expect(second["id"] == first["id"])
            #expect(second.body == first.body)
            #expect(second.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await hub.get("/v1/institutions", token: hub.admin).items.count == 1)
        }
    }

    @Test func sameKeyWithAnotherBodyIsRefused() async throws {
        try await withHub { hub in
            let a = try await hub.call(
                .post, "/v1/institutions", token: hub.admin,
                json: ["name": "A", "level": "primary", "region": "420115"], headers: ["Idempotency-Key": "k-2"])
            #expect(a.status == 201)
            let b = try await hub.call(
                .post, "/v1/institutions", token: hub.admin,
                json: ["name": "B", "level": "primary", "region": "420115"], headers: ["Idempotency-Key": "k-2"])
            #expect(b.status == 422)
            #expect(b["code"] == "idempotency_key_reused")
            #expect(try await hub.get("/v1/institutions", token: hub.admin).items.count == 1)
        }
    }

    @Test func concurrentRetriesCreateOneRecord() async throws {
        try await withHub { hub in
            let body = Data(#"{"name":"并发","level":"primary","region":"420115"}"#.utf8)
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await hub.call(
                            .post, "/v1/institutions", token: hub.admin, raw: body, contentType: "application/json",
                            headers: ["Idempotency-Key": "same"])["id"]
                    }
                }
                var ids = Set<String?>()
                for try await id in group { ids.insert(id) }
                return ids
            }
            #expect(ids.count == 1)
            #expect(ids.first! != nil)
            #expect(try await hub.get("/v1/institutions", token: hub.admin).items.count == 1)
        }
    }

    @Test func failedRequestsAreNotRemembered() async throws {
        try await withHub { hub in
            let bad = try await hub.call(
                .post, "/v1/institutions", token: hub.admin, json: ["name": "A", "level": "primary", "region": "1"],
                headers: ["Idempotency-Key": "k-3"])
            #expect(bad.status == 422)
            let good = try await hub.call(
                .post, "/v1/institutions", token: hub.admin,
                json: ["name": "A", "level": "primary", "region": "420102"], headers: ["Idempotency-Key": "k-3"])
            #expect(good.status == 201)
        }
    }

    @Test func malformedKeysAreRefused() async throws {
        try await withHub { hub in
            let reply = try await hub.call(
                .post, "/v1/institutions", token: hub.admin,
                json: ["name": "A", "level": "primary", "region": "420102"],
                headers: ["Idempotency-Key": String(repeating: "x", count: 300)])
            #expect(reply.status == 422)
            #expect(reply["field"] == "Idempotency-Key")
        }
    }
}
