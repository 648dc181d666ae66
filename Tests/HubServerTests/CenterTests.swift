import Foundation
import Testing

@Suite struct CenterTests {
    @Test func createListFilterAndSuspend() async throws {
        try await withHub { hub in
            try await hub.institution("host", level: "tertiary")
            let imaging = try await hub.call(
                .post, "/v1/centers", token: hub.admin, json: hub.centerBody(id: "img", institution: "host"))
            #expect(imaging.status == 201)
            #expect(imaging["status"] == "active")
            let lab = try await hub.call(
                .post, "/v1/centers", token: hub.admin,
                json: hub.centerBody(id: "lab", institution: "host", kind: "lab", items: ["K", "GLU", "HBA1C"]))
            #expect(lab.status == 201, "\(lab.text)")

            func ids(_ query: String) async throws -> [String] {
                try await hub.get("/v1/centers?\(query)", token: hub.admin).items.compactMap { $0["id"] as? String }
            }
            #expect(try await ids("kind=imaging") == ["img"])
            #expect(try await ids("item=K") == ["lab"])
            #expect(try await ids("item=2823-3") == ["lab"], "an equivalent code (LOINC) finds the item")
            #expect(try await ids("item=CT-CHEST&kind=lab") == [])
            #expect(try await hub.get("/v1/centers?kind=radiology", token: hub.admin).status == 422)

            let suspended = try await hub.call(
                .patch, "/v1/centers/img", token: hub.admin, json: ["status": "suspended"])
            #expect(suspended["status"] == "suspended")
            #expect(try await ids("status=active") == ["lab"])
            let shown = try await hub.get("/v1/centers/img", token: hub.admin)
            #expect((shown.json["qualifications"] as? [[String: Any]])?.first?["valid_to"] as? String == "2027-12-31")
        }
    }

    @Test func theHostInstitutionMustExistAndBeActive() async throws {
        try await withHub { hub in
            let orphan = try await hub.call(
                .post, "/v1/centers", token: hub.admin, json: hub.centerBody(id: "x", institution: "ghost"))
            #expect(orphan.status == 422)
            #expect(orphan["field"] == "institution_id")
            try await hub.institution("closed")
            _ = try await hub.call(.patch, "/v1/institutions/closed", token: hub.admin, json: ["status": "suspended"])
            let suspendedHost = try await hub.call(
                .post, "/v1/centers", token: hub.admin, json: hub.centerBody(id: "x", institution: "closed"))
            #expect(suspendedHost.status == 422)
            #expect(try await hub.get("/v1/centers", token: hub.admin).items.isEmpty)
        }
    }

    @Test func qualificationValidityKindAndItemsAreChecked() async throws {
        try await withHub { hub in
            try await hub.institution("host")
            let backwards = try await hub.call(
                .post, "/v1/centers", token: hub.admin,
                json: hub.centerBody(id: "x", institution: "host", validFrom: "2027-01-01", validTo: "2026-01-01"))
            #expect(backwards.status == 422)
            #expect(backwards["field"] == "qualifications[0].valid_to")
            let badDate = try await hub.call(
                .post, "/v1/centers", token: hub.admin,
                json: hub.centerBody(id: "x", institution: "host", validTo: "2027-02-30"))
            #expect(badDate.status == 422)
            #expect(badDate["field"] == "qualifications[0].valid_to")
            var wrongKind = hub.centerBody(id: "x", institution: "host")
            wrongKind["kind"] = "radiology"
            let kind = try await hub.call(.post, "/v1/centers", token: hub.admin, json: wrongKind)
            #expect(kind.status == 422)
            #expect(kind["field"] == "kind")
            #expect(kind["detail"]?.contains("imaging, ecg, pathology, lab") == true)
            let labItemInImaging = try await hub.call(
                .post, "/v1/centers", token: hub.admin,
                json: hub.centerBody(id: "x", institution: "host", items: ["CT-CHEST", "K"]))
            #expect(labItemInImaging.status == 422)
            #expect(labItemInImaging["field"] == "items[1]")
            #expect(try await hub.get("/v1/centers", token: hub.admin).items.isEmpty)
        }
    }

    @Test func patchRevalidatesTheWholeCenter() async throws {
        try await withHub { hub in
            try await hub.institution("host")
            _ = try await hub.call(
                .post, "/v1/centers", token: hub.admin, json: hub.centerBody(id: "img", institution: "host"))
            let dropped = try await hub.call(.patch, "/v1/centers/img", token: hub.admin, json: ["items": ["CT-CHEST"]])
            #expect(dropped.status == 422, "the qualification still lists DR-CHEST")
            #expect(dropped["field"] == "qualifications[0].items[1]")
            let moved = try await hub.call(
                .patch, "/v1/centers/img", token: hub.admin, json: ["institution_id": "other"])
            #expect(moved.status == 422)
            let capacity = try await hub.call(
                .patch, "/v1/centers/img", token: hub.admin, json: ["daily_capacity": 300])
            #expect(capacity.json["daily_capacity"] as? Int == 300)
            #expect(
                try await hub.call(.patch, "/v1/centers/nope", token: hub.admin, json: ["daily_capacity": 3]).status
                    == 404)
        }
    }
}
