import Foundation
import HubCore
import Testing

/// The patient index through FHIR: `Patient/{id}`, IHE PDQm's search and IHE PIXm's `$ihe-pix`, validated as FHIR R4
/// by fhir.resources.
@Suite struct FHIRPatientTests {
    typealias Index = PatientIndexTests
    static let resident = residentID(birth: "19800101", sequence: "271")
    static let residentURI = "urn:oid:2.16.156.10011.1.3"

    @Test func aPersonIsReadSearchedAndCrossReferencedAsFHIRPatient() async throws {
        try await withHub(clock: { Index.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let index = Index()
            _ = try await index.register(
                hub, setup,
                Index.result(
                    [
                        (PatientIdentifier.residentID, Self.resident), ("mrn:wh-lab-host", "MRN-27"),
                        (PatientIdentifier.medicalInsurance, "INS27"),
                    ], name: "李四", birthDate: "1980-01-01", sex: "male"))
            var documents: [String: Data] = [:]

            let byIdentifier = try await hub.get(
                "/fhir/R4/Patient?identifier=\(Self.residentURI)%7C\(Self.resident)", token: setup.clinician)
            #expect(
                byIdentifier.status == 200 && byIdentifier.contentType == "application/fhir+json",
                "\(byIdentifier.text)")
            #expect(byIdentifier.json["total"] as? Int == 1)
            let entry = try #require((byIdentifier.json["entry"] as? [[String: Any]])?.first)
            let patient = try #require(entry["resource"] as? [String: Any])
            let id = try #require(patient["id"] as? String)
            #expect(id.hasPrefix("psn-"))
            #expect((patient["name"] as? [[String: Any]])?.first?["text"] as? String == "李四")
            #expect(patient["gender"] as? String == "male" && patient["birthDate"] as? String == "1980-01-01")
            let systems = (patient["identifier"] as? [[String: Any]])?.compactMap { $0["system"] as? String }
            #expect(
                Set(systems ?? []) == [
                    Self.residentURI, "urn:alliancehub:mrn:wh-lab-host", "urn:alliancehub:cn-medical-insurance",
                ], "\(patient)")
            documents["bundle-patient"] = byIdentifier.body

            // PDQm by the whole name, birth date and sex; a family name alone is no query.
            let byName = try await hub.get(
                "/fhir/R4/Patient?family=%E6%9D%8E&given=%E5%9B%9B&birthdate=1980-01-01&gender=male",
                token: setup.clinician)
            #expect(byName.json["total"] as? Int == 1, "\(byName.text)")
            let other = try await hub.get(
                "/fhir/R4/Patient?family=%E6%9D%8E&given=%E5%9B%9B&birthdate=1980-01-02&gender=male",
                token: setup.clinician)
            #expect(other.status == 200 && other.json["total"] as? Int == 0, "\(other.text)")
            let partial = try await hub.get("/fhir/R4/Patient?family=%E6%9D%8E", token: setup.clinician)
            #expect(partial.status == 422 && partial.json["resourceType"] as? String == "OperationOutcome")
            #expect(partial.text.contains("birthdate"), "\(partial.text)")
            documents["operation-outcome-partial"] = partial.body

            let read = try await hub.get("/fhir/R4/Patient/\(id)", token: setup.clinician)
            #expect(read.status == 200 && read.json["id"] as? String == id, "\(read.text)")
            documents["patient"] = read.body
            #expect(try await hub.get("/fhir/R4/Patient/psn-0000000000", token: setup.clinician).status == 404)

            // PIXm: every other identifier, or those of the domains asked for.
            let source = "urn:alliancehub:mrn:wh-lab-host%7CMRN-27"
            let pix = try await hub.get("/fhir/R4/Patient/$ihe-pix?sourceIdentifier=\(source)", token: setup.clinician)
            #expect(pix.status == 200 && pix.json["resourceType"] as? String == "Parameters", "\(pix.text)")
            let parameters = (pix.json["parameter"] as? [[String: Any]]) ?? []
            let targets = parameters.filter { $0["name"] as? String == "targetIdentifier" }.compactMap {
                ($0["valueIdentifier"] as? [String: Any])?["value"] as? String
            }
            #expect(Set(targets) == [Self.resident, "INS27"], "\(pix.text)")
            #expect(
                parameters.contains {
                    ($0["valueReference"] as? [String: Any])?["reference"] as? String == "Patient/\(id)"
                }, "\(pix.text)")
            documents["parameters-pix"] = pix.body
            let narrowed = try await hub.get(
                "/fhir/R4/Patient/$ihe-pix?sourceIdentifier=\(source)&targetSystem=\(Self.residentURI)",
                token: setup.clinician)
            let narrowedTargets = ((narrowed.json["parameter"] as? [[String: Any]]) ?? []).compactMap {
                ($0["valueIdentifier"] as? [String: Any])?["value"] as? String
            }
            #expect(narrowedTargets == [Self.resident], "\(narrowed.text)")
            let unknown = try await hub.get(
                "/fhir/R4/Patient/$ihe-pix?sourceIdentifier=urn:alliancehub:mrn:wh-lab-host%7CMRN-99",
                token: setup.clinician)
            #expect(unknown.status == 404, "\(unknown.text)")
            let foreign = try await hub.get(
                "/fhir/R4/Patient/$ihe-pix?sourceIdentifier=urn:alliancehub:mrn:nowhere%7CMRN-27",
                token: setup.clinician)
            #expect(foreign.status == 422 && foreign.text.contains("sourceIdentifier"), "\(foreign.text)")
            let elsewhere = try await hub.get(
                "/fhir/R4/Patient/$ihe-pix?sourceIdentifier=\(source)&targetSystem=urn:alliancehub:mrn:nowhere",
                token: setup.clinician)
            #expect(elsewhere.status == 403, "\(elsewhere.text)")
            #expect(try await hub.get("/fhir/R4/Patient/$ihe-pix?sourceIdentifier=\(source)").status == 401)

            let audit = try await hub.get("/v1/audit?action=person.pix", token: setup.auditor)
            #expect(audit.items.count >= 2, "\(audit.text)")
            try await FHIRValidator.validate(documents)
        }
    }
}
