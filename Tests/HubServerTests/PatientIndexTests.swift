import Foundation
import HubCore
import HubStore
import Testing

/// The master patient index over HTTP: identifiers seen together are one person, so a check by one finds what was
/// registered under another; name, birth date and sex only suggest; a record that would give one person two resident
/// IDs, or join what a person separated, is not linked.
@Suite struct PatientIndexTests {
    static let start = Timestamp(rfc3339: "2026-06-01T08:00:00+08:00")!

    static func result(
        _ identifiers: [(String, String)], item: String = "K", name: String = "李四", birthDate: String? = nil,
        sex: String? = nil, daysAgo: Int = 2
    ) -> [String: Any] {
        var patient: [String: Any] = [
            "identifiers": identifiers.map { ["system": $0.0, "value": $0.1] }, "name": name,
        ]
        if let birthDate { patient["birth_date"] = birthDate }
        if let sex { patient["sex"] = sex }
        return [
            "patient": patient, "item_code": item, "performed_at": start.adding(days: -daysAgo).description,
            "values": [["value": "4.1", "unit": "mmol/L", "reference_range": "3.5-5.3", "flag": "N"]],
        ]
    }

    func register(_ hub: HubClient, _ setup: RecognitionSetup, _ body: [String: Any]) async throws -> String {
        let reply = try await hub.call(.post, "/v1/results", token: setup.lab, json: body)
        try #require(reply.status == 201, "\(reply.text)")
        return try #require(reply["id"])
    }

    func candidates(
        _ hub: HubClient, _ setup: RecognitionSetup, _ patient: String, item: String = "K"
    ) async throws -> [[String: Any]] {
        let check = try await hub.call(
            .post, "/v1/recognition/checks", token: setup.clinician, json: ["patient": patient, "item_code": item])
        try #require(check.status == 201, "\(check.text)")
        return try #require(check.json["candidates"] as? [[String: Any]])
    }

    @Test func aCheckByResidentIDFindsAResultRegisteredUnderARecordAndInsuranceNumberOfTheSamePerson() async throws {
        let resident = residentID(birth: "19800101", sequence: "211")
        try await withHub(clock: { Self.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let hospitalResult = try await register(
                hub, setup,
                Self.result([("mrn:wh-lab-host", "MRN-0042"), (PatientIdentifier.medicalInsurance, "ins42010001")]))
            #expect(try await candidates(hub, setup, resident).isEmpty, "nothing links the resident ID yet")

            // A later record gives the resident ID with the insurance number: the three identifiers are one person.
            let linking = try await register(
                hub, setup,
                Self.result(
                    [(PatientIdentifier.residentID, resident), (PatientIdentifier.medicalInsurance, "INS42010001")],
                    item: "GLU"))
            let found = try await candidates(hub, setup, resident)
            #expect(found.map { $0["result_id"] as? String } == [hospitalResult])
            let foundBy = try #require(found.first?["found_by"] as? [String: Any])
            #expect(foundBy["linked"] as? Bool == true)
            let identifier = try #require(foundBy["identifier"] as? [String: Any])
            #expect(identifier["system"] as? String == "mrn:wh-lab-host")
            #expect(identifier["value"] as? String == "MRN-0042")
            // Asked by the identifier it was registered under, it is found directly.
            let direct = try await candidates(hub, setup, "mrn:wh-lab-host|MRN-0042")
            #expect((direct.first?["found_by"] as? [String: Any])?["linked"] as? Bool == false)

            let listed = try await hub.get("/v1/results?patient=\(resident)", token: setup.clinician)
            #expect(listed.status == 200, "\(listed.text)")
            #expect(Set(listed.items.compactMap { $0["id"] as? String }) == [hospitalResult, linking])

            let person = try await hub.get("/v1/persons?identifier=\(resident)", token: setup.clinician)
            #expect(person.status == 200, "\(person.text)")
            let identifiers = try #require(person.json["identifiers"] as? [[String: Any]])
            #expect(
                Set(identifiers.compactMap { $0["system"] as? String })
                    == ["mrn:wh-lab-host", PatientIdentifier.medicalInsurance, PatientIdentifier.residentID])
            #expect(identifiers.allSatisfy { ($0["source"] as? String)?.hasPrefix("result:") == true })
            let unknown = try await hub.get(
                "/v1/persons?identifier=\(residentID(sequence: "999"))", token: setup.clinician)
            #expect(unknown.status == 404, "\(unknown.text)")
            let audit = try await hub.get("/v1/audit?target=\(try #require(person["id"]))", token: setup.auditor)
            #expect(audit.items.contains { $0["action"] as? String == "person.link" }, "\(audit.text)")
            #expect(audit.items.contains { $0["action"] as? String == "person.read" }, "\(audit.text)")
        }
    }

    @Test func twoPeopleWhoShareANameAndBirthDateAreNotLinkedOnlySuggested() async throws {
        let (first, second) = (
            residentID(birth: "19800101", sequence: "311"), residentID(birth: "19800101", sequence: "322")
        )
        try await withHub(clock: { Self.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let hers = try await register(
                hub, setup,
                Self.result([(PatientIdentifier.residentID, first)], name: "张伟", birthDate: "1980-01-01", sex: "male"))
            let his = try await register(
                hub, setup,
                Self.result(
                    [(PatientIdentifier.residentID, second), ("mrn:wh-lab-host", "MRN-7")], name: "张 伟",
                    birthDate: "1980-01-01", sex: "male"))
            #expect(try await candidates(hub, setup, first).map { $0["result_id"] as? String } == [hers])
            #expect(try await candidates(hub, setup, second).map { $0["result_id"] as? String } == [his])

            let reviews = try await hub.get("/v1/person-reviews?status=open", token: hub.admin)
            #expect(reviews.status == 200, "\(reviews.text)")
            try #require(reviews.items.count == 1, "\(reviews.text)")
            let review = reviews.items[0]
            #expect(review["kind"] as? String == "suggestion")
            #expect((review["person_ids"] as? [String])?.count == 2)
            let reviewId = try #require(review["id"] as? String)

            // Two resident IDs are two people: a person cannot merge them either.
            let merge = try await hub.call(
                .post, "/v1/person-reviews/\(reviewId)/decision", token: hub.admin, json: ["decision": "merged"])
            #expect(merge.status == 409, "\(merge.text)")
            #expect(merge.json["type"] != nil || merge.text.contains("resident"), "\(merge.text)")
            let notAdmin = try await hub.call(
                .post, "/v1/person-reviews/\(reviewId)/decision", token: setup.clinician,
                json: ["decision": "separate"])
            #expect(notAdmin.status == 403, "\(notAdmin.text)")
            let bad = try await hub.call(
                .post, "/v1/person-reviews/\(reviewId)/decision", token: hub.admin, json: ["decision": "maybe"])
            #expect(bad.status == 422 || bad.status == 400, "\(bad.text)")
            #expect(bad.text.contains("decision"), "\(bad.text)")
            let apart = try await hub.call(
                .post, "/v1/person-reviews/\(reviewId)/decision", token: hub.admin, json: ["decision": "separate"])
            #expect(apart.status == 200, "\(apart.text)")
            #expect(apart["status"] == "separate")
            let again = try await hub.call(
                .post, "/v1/person-reviews/\(reviewId)/decision", token: hub.admin, json: ["decision": "separate"])
            #expect(again.status == 409, "\(again.text)")
            #expect(try await candidates(hub, setup, first).count == 1)
        }
    }

    @Test func aRecordThatWouldGiveOnePersonTwoResidentIDsIsKeptApartForAPersonToDecide() async throws {
        let (first, second) = (residentID(sequence: "411"), residentID(sequence: "422"))
        try await withHub(clock: { Self.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let firstResult = try await register(
                hub, setup, Self.result([(PatientIdentifier.residentID, first), ("mrn:wh-lab-host", "MRN-1")]))
            // The hospital reused the record number for someone else, or typed it wrong.
            let secondResult = try await register(
                hub, setup, Self.result([(PatientIdentifier.residentID, second), ("mrn:wh-lab-host", "MRN-1")]))
            #expect(try await candidates(hub, setup, first).map { $0["result_id"] as? String } == [firstResult])
            #expect(try await candidates(hub, setup, second).map { $0["result_id"] as? String } == [secondResult])
            // Under the record number alone, the person the index holds it for: the other record with it names
            // another resident ID, and is someone else's.
            #expect(
                try await candidates(hub, setup, "mrn:wh-lab-host|MRN-1").map { $0["result_id"] as? String } == [
                    firstResult
                ])

            let reviews = try await hub.get("/v1/person-reviews?status=open", token: hub.admin)
            try #require(reviews.items.count == 1, "\(reviews.text)")
            #expect(reviews.items[0]["kind"] as? String == "conflict")
            #expect((reviews.items[0]["reason"] as? String)?.contains("cn-resident-id") == true)

            // One record with two resident IDs is refused outright, naming the identifier.
            let both = try await hub.call(
                .post, "/v1/results", token: setup.lab,
                json: Self.result([(PatientIdentifier.residentID, first), (PatientIdentifier.residentID, second)]))
            #expect(both.status == 422, "\(both.text)")
            #expect(both.text.contains("patient.identifiers[1]"), "\(both.text)")
        }
    }

    @Test func anIdentifierUnlinkedByAPersonIsNotLinkedAgainUntilMerged() async throws {
        let resident = residentID(sequence: "511")
        try await withHub(clock: { Self.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            _ = try await register(
                hub, setup,
                Self.result([(PatientIdentifier.residentID, resident), ("mrn:wh-lab-host", "MRN-5")], item: "GLU"))
            let underRecord = try await register(hub, setup, Self.result([("mrn:wh-lab-host", "MRN-5")]))
            #expect(try await candidates(hub, setup, resident).map { $0["result_id"] as? String } == [underRecord])

            let person = try await hub.get("/v1/persons?identifier=\(resident)", token: hub.admin)
            let personId = try #require(person["id"])
            let refused = try await hub.call(
                .post, "/v1/persons/\(personId)/unlink", token: setup.clinician,
                json: ["identifier": ["system": "mrn:wh-lab-host", "value": "MRN-5"]])
            #expect(refused.status == 403, "\(refused.text)")
            let missing = try await hub.call(.post, "/v1/persons/\(personId)/unlink", token: hub.admin, json: [:])
            #expect(missing.status == 422 && missing.text.contains("identifier"), "\(missing.text)")
            let unlinked = try await hub.call(
                .post, "/v1/persons/\(personId)/unlink", token: hub.admin,
                json: ["identifier": ["system": "mrn:wh-lab-host", "value": "MRN-5"]])
            #expect(unlinked.status == 200, "\(unlinked.text)")
            let separated = try #require((unlinked.json["separated"] as? [String: Any])?["id"] as? String)
            #expect(try await candidates(hub, setup, resident).isEmpty, "the record number is someone else's")

            // The same pair again: the index does not undo a person's decision.
            _ = try await register(
                hub, setup,
                Self.result(
                    [(PatientIdentifier.residentID, resident), ("mrn:wh-lab-host", "MRN-5")], item: "NA"))
            #expect(try await candidates(hub, setup, resident).isEmpty)
            let conflicts = try await hub.get("/v1/person-reviews?status=open", token: hub.admin)
            #expect(conflicts.items.map { $0["kind"] as? String } == ["conflict"], "\(conflicts.text)")

            let merged = try await hub.call(
                .post, "/v1/persons/\(personId)/merge", token: hub.admin, json: ["merged_person_id": separated])
            #expect(merged.status == 200, "\(merged.text)")
            #expect(try await candidates(hub, setup, resident).map { $0["result_id"] as? String } == [underRecord])
            let audit = try await hub.get("/v1/audit?target=\(personId)", token: setup.auditor)
            let actions = Set(audit.items.compactMap { $0["action"] as? String })
            #expect(actions.isSuperset(of: ["person.unlink", "person.merge"]), "\(audit.text)")
        }
    }

    @Test func examsAndResultsStoredBeforeTheIndexAreLinkedAtTheNextStart() async throws {
        let resident = residentID(sequence: "611")
        let hub = try TestHub()
        defer { hub.remove() }
        let resultId = try await hub.run(clock: { Self.start }) { client in
            let setup = try await RecognitionSetup.make(client)
            _ = try await register(
                client, setup,
                Self.result([(PatientIdentifier.residentID, resident), ("mrn:wh-lab-host", "MRN-6")], item: "GLU"))
            return try await register(client, setup, Self.result([("mrn:wh-lab-host", "MRN-6")]))
        }
        // The store as it was before the index: no person, and the backfill still to run.
        let database = try AppDatabase(path: hub.config.databasePath)
        try await database.write { db in
            try db.execute(sql: "DELETE FROM person_identifiers")
            try db.execute(
                sql: "INSERT INTO maintenance_tasks (name, created_at) VALUES (?, 0)",
                arguments: [PatientIndexBackfill.task])
        }
        try database.close()
        try await hub.run(clock: { Self.start }) { client in
            let clinician = try await client.practitioner(at: "wh-second", title: "attending", roles: ["clinician"]).1
            let check = try await client.call(
                .post, "/v1/recognition/checks", token: clinician, json: ["patient": resident, "item_code": "K"])
            #expect(check.status == 201, "\(check.text)")
            let found = (check.json["candidates"] as? [[String: Any]])?.map { $0["result_id"] as? String }
            #expect(found == [resultId], "\(check.text)")
        }
        let reopened = try AppDatabase(path: hub.config.databasePath)
        defer { try? reopened.close() }
        let pending = try await reopened.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM maintenance_tasks") ?? -1
        }
        #expect(pending == 0)
    }
}
