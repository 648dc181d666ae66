import Foundation
import HTTPTypes
import Testing

@Suite struct AuthTests {
    @Test func missingWrongAndMalformedTokensGet401() async throws {
        try await withHub { hub in
            let missing = try await hub.get("/v1/institutions")
            #expect(missing.status == 401)
            #expect(missing.contentType == "application/problem+json")
            #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            #expect(
                try await hub.get("/v1/institutions", token: "hub_" + String(repeating: "A", count: 43)).status == 401)
            #expect(try await hub.get("/v1/institutions", token: "nonsense").status == 401)
            let basic = try await hub.call(
                .get, "/v1/institutions", headers: ["Authorization": "Basic YWRtaW46YWRtaW4="])
            #expect(basic.status == 401)
        }
    }

    /// Each role boundary of the registry: what a non-admin may read and may not write.
    @Test func everyWriteRouteNeedsAdmin() async throws {
        try await withHub { hub in
            try await hub.institution("clinic-a")
            let (practitionerId, clinic) = try await hub.practitioner(at: "clinic-a", roles: ["clinic"])
            try await hub.institution("host")
            let center = try await hub.call(
                .post, "/v1/centers", token: hub.admin, json: hub.centerBody(id: "c1", institution: "host"))
            #expect(center.status == 201)

            let writes: [(HTTPRequest.Method, String, Any?)] = [
                (.post, "/v1/institutions", ["name": "X", "level": "primary", "region": "420102"]),
                (.patch, "/v1/institutions/clinic-a", ["name": "X"]),
                (
                    .post, "/v1/institutions/clinic-a/practitioners",
                    ["name": "X", "title": "resident", "roles": ["clinic"]]
                ),
                (.patch, "/v1/practitioners/\(practitionerId)", ["title": "chief"]),
                (.post, "/v1/practitioners/\(practitionerId)/tokens", nil),
                (.post, "/v1/centers", hub.centerBody(id: "c2", institution: "host")),
                (.patch, "/v1/centers/c1", ["status": "suspended"]),
                (.post, "/v1/catalog/versions", ["version": "x", "effective_from": "2030-01-01", "items": []]),
            ]
            for (method, path, body) in writes {
                let reply = try await hub.call(method, path, token: clinic, json: body)
                #expect(reply.status == 403, "\(method) \(path) with a clinic token")
                #expect(reply["code"] == "forbidden")
            }
            for path in [
                "/v1/institutions", "/v1/institutions/clinic-a", "/v1/centers", "/v1/centers/c1", "/v1/catalog",
                "/v1/catalog/versions", "/v1/catalog/items/K", "/v1/me",
            ] {
                #expect(try await hub.get(path, token: clinic).status == 200, "GET \(path) with a clinic token")
            }
            #expect(try await hub.get("/v1/audit", token: clinic).status == 403)
            #expect(try await hub.get("/v1/audit", token: hub.admin).status == 403, "the audit log is for auditors")
        }
    }

    @Test func staffSeeOnlyTheirOwnInstitutionsPractitionersAndTokens() async throws {
        try await withHub { hub in
            try await hub.institution("a")
            try await hub.institution("b")
            let (aliceId, alice) = try await hub.practitioner(at: "a", roles: ["clinic"])
            let (bobId, bob) = try await hub.practitioner(at: "b", roles: ["clinic"])
            #expect(try await hub.get("/v1/institutions/a/practitioners", token: alice).status == 200)
            #expect(try await hub.get("/v1/institutions/b/practitioners", token: alice).status == 403)
            #expect(try await hub.get("/v1/practitioners/\(bobId)", token: alice).status == 403)
            #expect(try await hub.get("/v1/practitioners/\(bobId)/tokens", token: alice).status == 403)
            let own = try await hub.get("/v1/practitioners/\(aliceId)/tokens", token: alice)
            #expect(own.status == 200)
            #expect(own.items.count == 1)
            #expect(own.items[0]["token"] == nil, "a token listing never shows secrets")
            let bobsToken = try await hub.get("/v1/practitioners/\(bobId)/tokens", token: bob).items[0]["id"] as! String
            #expect(try await hub.call(.delete, "/v1/tokens/\(bobsToken)", token: alice).status == 403)
        }
    }

    @Test func revokedTokensAndSuspendedAccountsAreLockedOut() async throws {
        try await withHub { hub in
            try await hub.institution("a")
            let (id, token) = try await hub.practitioner(at: "a", roles: ["reader"])
            #expect(try await hub.get("/v1/me", token: token).status == 200)
            try await #require(
                hub.call(.patch, "/v1/practitioners/\(id)", token: hub.admin, json: ["status": "suspended"]).status
                    == 200)
            #expect(try await hub.get("/v1/me", token: token).status == 401)
            try await #require(
                hub.call(.patch, "/v1/practitioners/\(id)", token: hub.admin, json: ["status": "active"]).status == 200)
            #expect(try await hub.get("/v1/me", token: token).status == 200)

            try await #require(
                hub.call(.patch, "/v1/institutions/a", token: hub.admin, json: ["status": "suspended"]).status == 200)
            #expect(
                try await hub.get("/v1/me", token: token).status == 401,
                "a suspended institution's staff are locked out")
            try await #require(
                hub.call(.patch, "/v1/institutions/a", token: hub.admin, json: ["status": "active"]).status == 200)

            let tokenId = try await hub.get("/v1/me", token: token)["token_id"]!
            let revoked = try await hub.call(.delete, "/v1/tokens/\(tokenId)", token: token)
            #expect(revoked.status == 200)
            #expect(revoked["revoked_at"] != nil)
            #expect(try await hub.get("/v1/me", token: token).status == 401)
        }
    }
}

@Suite struct PractitionerTests {
    @Test func tokensCarryThePractitionersRolesAndAreShownOnce() async throws {
        try await withHub { hub in
            try await hub.institution("h", level: "tertiary")
            let created = try await hub.call(
                .post, "/v1/institutions/h/practitioners", token: hub.admin,
                json: ["name": "张主任", "title": "chief", "department": "放射科", "roles": ["reader", "verifier"]])
            #expect(created.status == 201)
            #expect(created["title"] == "chief")
            let id = created["id"]!
            let narrow = try await hub.call(
                .post, "/v1/practitioners/\(id)/tokens", token: hub.admin,
                json: ["label": "workstation", "roles": ["reader"]])
            #expect(narrow.status == 201)
            let secret = try #require(narrow["token"])
            let me = try await hub.get("/v1/me", token: secret)
            #expect(me.json["roles"] as? [String] == ["reader"])
            #expect(me["title"] == "chief")
            #expect(me["institution_id"] == "h")
            let wider = try await hub.call(
                .post, "/v1/practitioners/\(id)/tokens", token: hub.admin, json: ["roles": ["admin"]])
            #expect(wider.status == 422)
            #expect(wider["field"] == "roles[0]")
            let replay = try await hub.call(
                .post, "/v1/practitioners/\(id)/tokens", token: hub.admin, headers: ["Idempotency-Key": "k"])
            #expect(replay.status == 422)
        }
    }

    @Test func titleAndRolesComeFromTheFixedLists() async throws {
        try await withHub { hub in
            try await hub.institution("h")
            let badTitle = try await hub.call(
                .post, "/v1/institutions/h/practitioners", token: hub.admin,
                json: ["name": "A", "title": "professor", "roles": ["reader"]])
            #expect(badTitle.status == 422)
            #expect(badTitle["field"] == "title")
            let badRole = try await hub.call(
                .post, "/v1/institutions/h/practitioners", token: hub.admin,
                json: ["name": "A", "title": "resident", "roles": ["reader", "surgeon"]])
            #expect(badRole.status == 422)
            #expect(badRole["field"] == "roles[1]")
            let noInstitution = try await hub.call(
                .post, "/v1/institutions/nope/practitioners", token: hub.admin,
                json: ["name": "A", "title": "resident", "roles": ["reader"]])
            #expect(noInstitution.status == 404)
        }
    }

    @Test func listingIsPaginated() async throws {
        try await withHub { hub in
            try await hub.institution("h")
            for _ in 0..<5 { _ = try await hub.practitioner(at: "h", roles: ["reader"]) }
            let first = try await hub.get("/v1/institutions/h/practitioners?limit=2", token: hub.admin)
            #expect(first.items.count == 2)
            let next = try #require(first["next"])
            let second = try await hub.get("/v1/institutions/h/practitioners?limit=10&next=\(next)", token: hub.admin)
            #expect(second.items.count == 3)
            #expect(second["next"] == nil)
        }
    }
}
