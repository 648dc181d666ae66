import Foundation
import HubCore
import NetworkDoor
import Testing

/// What keeps the patient index from showing a clinician another person's results: a search does not reach through
/// a person whose resident ID contradicts the one it gave, placeholder values link nothing, and no person grows
/// without bound.
@Suite struct PatientIndexSafetyTests {
    typealias Index = PatientIndexTests

    @Test func aSearchDoesNotReachThroughAPersonWhoseResidentIDContradictsTheOneItGave() async throws {
        let (asked, other) = (residentID(sequence: "611"), residentID(sequence: "622"))
        try await withHub(clock: { Index.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let index = Index()
            // Someone else: their resident ID, a record number, and an insurance number linked to both.
            let theirs = try await index.register(
                hub, setup, Index.result([(PatientIdentifier.residentID, other), ("mrn:wh-lab-host", "M-9")]))
            let theirsByInsurance = try await index.register(
                hub, setup,
                Index.result([("mrn:wh-lab-host", "M-9"), (PatientIdentifier.medicalInsurance, "INS9")], item: "K"))
            let check = try await hub.call(
                .post, "/v1/recognition/checks", token: setup.clinician,
                json: [
                    "patient": [
                        "identifiers": [
                            ["system": PatientIdentifier.residentID, "value": asked],
                            ["system": "mrn:wh-lab-host", "value": "M-9"],
                        ]
                    ],
                    "item_code": "K",
                ])
            #expect(check.status == 201, "\(check.text)")
            let found = (check.json["candidates"] as? [[String: Any]] ?? []).compactMap { $0["result_id"] as? String }
            #expect(!found.contains(theirs), "a record with another resident ID is not the patient's: \(found)")
            #expect(!found.contains(theirsByInsurance), "nor is what the index links to that other person: \(found)")
            // Asked by their own resident ID, both are theirs.
            #expect(
                Set(try await index.candidates(hub, setup, other).compactMap { $0["result_id"] as? String }) == [
                    theirs, theirsByInsurance,
                ])
        }
    }

    @Test func placeholderValuesLinkNothing() async throws {
        try await withHub(clock: { Index.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let index = Index()
            let first = try await index.register(
                hub, setup,
                Index.result([("mrn:wh-lab-host", "UNKNOWN"), (PatientIdentifier.medicalInsurance, "INSA1")]))
            _ = try await index.register(
                hub, setup,
                Index.result([("mrn:wh-lab-host", "000000"), (PatientIdentifier.medicalInsurance, "INSB1")]))
            _ = try await index.register(
                hub, setup,
                Index.result([("mrn:wh-lab-host", "UNKNOWN"), (PatientIdentifier.medicalInsurance, "INSC1")]))
            let person = try await hub.get(
                "/v1/persons?identifier=\(PatientIdentifier.medicalInsurance)%7CINSA1", token: hub.admin)
            #expect(person.status == 200, "\(person.text)")
            let values = (person.json["identifiers"] as? [[String: Any]])?.compactMap { $0["value"] as? String }
            #expect(values == ["INSA1"], "\(person.text)")
            let placeholder = try await hub.get("/v1/persons?identifier=mrn:wh-lab-host%7CUNKNOWN", token: hub.admin)
            #expect(placeholder.status == 404, "\(placeholder.text)")
            #expect(
                try await index.candidates(hub, setup, "\(PatientIdentifier.medicalInsurance)|INSA1").map {
                    $0["result_id"] as? String
                } == [first])
        }
    }

    @Test func aPlaceholderValueInACheckFindsNoOne() async throws {
        let resident = residentID(sequence: "633")
        try await withHub(clock: { Index.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let index = Index()
            // Someone unknown, filed by the laboratory under its catch-all record number.
            _ = try await index.register(hub, setup, Index.result([("mrn:wh-lab-host", "0")]))
            let check = try await hub.call(
                .post, "/v1/recognition/checks", token: setup.clinician,
                json: [
                    "patient": [
                        "identifiers": [
                            ["system": PatientIdentifier.residentID, "value": resident],
                            ["system": "mrn:wh-lab-host", "value": "0"],
                        ]
                    ],
                    "item_code": "K",
                ])
            #expect(check.status == 201, "\(check.text)")
            #expect((check.json["candidates"] as? [[String: Any]])?.isEmpty == true, "\(check.text)")
        }
    }

    @Test func aPersonDoesNotGrowPastItsLimit() async throws {
        try await withHub(clock: { Index.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let index = Index()
            // One record number shared by ever more insurance numbers: a system's catch-all, not a person.
            for n in 1..<IdentifierRules.maximumPerPerson {
                _ = try await index.register(
                    hub, setup,
                    Index.result([("mrn:wh-lab-host", "SHARED-7"), (PatientIdentifier.medicalInsurance, "INS\(n)")]))
            }
            let person = try await hub.get("/v1/persons?identifier=mrn:wh-lab-host%7CSHARED-7", token: hub.admin)
            #expect((person.json["identifiers"] as? [Any])?.count == IdentifierRules.maximumPerPerson, "\(person.text)")
            _ = try await index.register(
                hub, setup,
                Index.result([("mrn:wh-lab-host", "SHARED-7"), (PatientIdentifier.medicalInsurance, "INSX")]))
            let after = try await hub.get("/v1/persons?identifier=mrn:wh-lab-host%7CSHARED-7", token: hub.admin)
            #expect((after.json["identifiers"] as? [Any])?.count == IdentifierRules.maximumPerPerson, "\(after.text)")
            let reviews = try await hub.get("/v1/person-reviews?status=open&kind=conflict", token: hub.admin)
            #expect(
                reviews.items.contains { ($0["reason"] as? String)?.contains("more than") == true }, "\(reviews.text)")
        }
    }

    @Test func anIPv4AddressInItsIPv6FormIsTheIPv4Address() {
        #expect(HostAddresses.normalized("::ffff:10.1.2.3") == "10.1.2.3")
        #expect(HostAddresses.normalized("::FFFF:127.0.0.1") == "127.0.0.1")
        #expect(HostAddresses.normalized("::1") == "::1")
        #expect(HostAddresses.normalized("::ffff:zz") == "::ffff:zz")
        #expect(HostAddresses.normalized("192.168.0.1") == "192.168.0.1")
    }
}
