import Foundation
import HubCore
import Testing

@Suite struct CatalogTests {
    @Test func theStartingCatalogIsRealistic() async throws {
        try await withHub { hub in
            var items: [[String: Any]] = []
            var next: String? = nil
            repeat {
                let page = try await hub.get(
                    "/v1/catalog?limit=40" + (next.map { "&next=\($0)" } ?? ""), token: hub.admin)
                #expect(page.status == 200)
                items += page.items
                next = page["next"]
            } while next != nil
            let version = try await hub.get("/v1/catalog", token: hub.admin).json["version"] as? [String: Any]
            #expect(version?["in_force"] as? Bool == true)
            #expect(version?["item_count"] as? Int == items.count)

            let lab = items.filter { $0["kind"] as? String == "lab" }
            #expect(lab.count >= 40)
            #expect(lab.allSatisfy { ($0["loinc"] as? String)?.contains("-") == true })
            func validity(_ code: String) -> Int? {
                items.first { $0["code"] as? String == code }?["validity_days"] as? Int
            }
            #expect(validity("K") == 7)
            #expect(validity("GLU") == 30)
            #expect(validity("HBA1C") == 60)
            let categories = Set(items.compactMap { $0["category"] as? String })
            #expect(categories.isSuperset(of: ["DR", "CT", "MR", "US", "ECG", "pathology", "lab"]))
            let imaging = items.filter { $0["kind"] as? String == "imaging" }
            #expect(imaging.count >= 20)
            #expect(imaging.allSatisfy { ($0["price"] as? Double ?? 0) > 0 })
            #expect(items.contains { $0["code"] as? String == "ECG-12" })
            #expect(items.contains { $0["code"] as? String == "PATH-HISTO" })
        }
    }

    @Test func itemsAreFoundByCodeOrEquivalentCode() async throws {
        try await withHub { hub in
            let byLoinc = try await hub.get("/v1/catalog/items/4548-4", token: hub.admin)
            #expect(byLoinc.status == 200)
            #expect((byLoinc.json["item"] as? [String: Any])?["code"] as? String == "HBA1C")
            #expect(try await hub.get("/v1/catalog/items/NOPE", token: hub.admin).status == 404)
        }
    }

    @Test func aNewVersionTakesEffectOnItsDateAndOldOnesStayReadable() async throws {
        try await withHub { hub in
            let future: [String: Any] = [
                "version": "2030.1", "effective_from": "2030-01-01", "title": "下一版",
                "items": [
                    [
                        "code": "K", "name": "钾", "kind": "lab", "category": "lab", "loinc": "2823-3",
                        "validity_days": 5, "scope": "province", "price": 6.5, "equivalent_codes": ["2823-3"],
                    ]
                ],
            ]
            let published = try await hub.call(.post, "/v1/catalog/versions", token: hub.admin, json: future)
            #expect(published.status == 201, "\(published.text)")
            #expect(published.json["item_count"] as? Int == 1)

            let current = try await hub.get("/v1/catalog/items/K", token: hub.admin)
            #expect(current["version"] == "2026.1", "a future version is not in force yet")
            let named = try await hub.get("/v1/catalog/items/K?version=2030.1", token: hub.admin)
            #expect((named.json["item"] as? [String: Any])?["validity_days"] as? Int == 5)
            let versions = try await hub.get("/v1/catalog/versions", token: hub.admin)
            #expect(versions.items.compactMap { $0["version"] as? String } == ["2026.1", "2030.1"])
            #expect(versions.items.map { $0["in_force"] as? Bool } == [true, false])

            let again = try await hub.call(.post, "/v1/catalog/versions", token: hub.admin, json: future)
            #expect(again.status == 409)
            #expect(again["field"] == "version")
        }
    }

    @Test func aVersionInForceIsChosenByTheClock() async throws {
        let later = Timestamp(rfc3339: "2030-06-01T00:00:00Z")!
        try await withHub(clock: { later }) { hub in
            let future: [String: Any] = [
                "version": "2030.1", "effective_from": "2030-01-01",
                "items": [
                    [
                        "code": "K", "name": "钾", "kind": "lab", "category": "lab", "validity_days": 5, "scope": "city",
                        "price": 6.5,
                    ]
                ],
            ]
            let published = try await hub.call(.post, "/v1/catalog/versions", token: hub.admin, json: future)
            #expect(published.status == 201)
            let potassium = try await hub.get("/v1/catalog/items/K", token: hub.admin)
            #expect(potassium["version"] == "2030.1")
            let gone = try await hub.get("/v1/catalog/items/HBA1C", token: hub.admin)
            #expect(gone.status == 404)
        }
    }

    @Test func invalidVersionsAreRefusedWhole() async throws {
        try await withHub { hub in
            let bad: [String: Any] = [
                "version": "bad version!", "effective_from": "2030-01-01",
                "items": [
                    [
                        "code": "K", "name": "钾", "kind": "lab", "category": "lab", "validity_days": 0, "scope": "city",
                        "price": 6.5,
                    ],
                    [
                        "code": "K", "name": "钾", "kind": "lab", "category": "CT", "validity_days": 3, "scope": "city",
                        "price": 6.5,
                    ],
                ],
            ]
            let reply = try await hub.call(.post, "/v1/catalog/versions", token: hub.admin, json: bad)
            #expect(reply.status == 422)
            let fields = (reply.json["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
            #expect(fields == ["version", "items[0].validity_days", "items[1].category", "items[1].code"])
            let price = try await hub.call(
                .post, "/v1/catalog/versions", token: hub.admin,
                json: [
                    "version": "v", "effective_from": "2030-01-01",
                    "items": [
                        [
                            "code": "K", "name": "钾", "kind": "lab", "category": "lab", "validity_days": 3,
                            "scope": "city", "price": -1,
                        ]
                    ],
                ])
            #expect(price.status == 422)
            #expect(price["field"] == "items[0].price")
            #expect(try await hub.get("/v1/catalog/versions", token: hub.admin).items.count == 1)
        }
    }
}
