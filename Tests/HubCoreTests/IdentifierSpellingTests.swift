import Foundation
import HubCore
import Testing

/// One spelling per identifier: what a clinic types and what a hospital's system sends are the same patient.
@Suite struct IdentifierSpellingTests {
    static let canonicalID = "42010219800101108X"

    @Test(arguments: [
        "42010219800101108x", " 42010219800101108X ", "4201 0219 8001 0110 8x", "42010219800101108X\n",
        "４２０１０２１９８００１０１１０８Ｘ", "４２０１０２１９８００１０１１０８ｘ", "420102\u{3000}19800101108x",
    ])
    func everySpellingOfAResidentIDIsOne(_ spelling: String) {
        let identifier = PatientIdentifier(system: PatientIdentifier.residentID, value: spelling)
        #expect(identifier.value == Self.canonicalID)
        #expect(identifier == PatientIdentifier(system: " cn-resident-id ", value: Self.canonicalID))
        #expect(identifier.problem == nil)
    }

    @Test func aMedicalInsuranceNumberIsUpperCaseASCIIWithoutSpaces() {
        let identifier = PatientIdentifier(system: PatientIdentifier.medicalInsurance, value: " hb 4201 ａｂ99 ")
        #expect(identifier.value == "HB4201AB99")
        #expect(identifier.problem == nil)
    }

    @Test func otherSystemsKeepTheirCaseAndInnerCharacters() {
        let record = PatientIdentifier(system: "mrn:wh-xiehe", value: "  Mz-00a 17 ")
        #expect(record.value == "Mz-00a 17")
        #expect(record.system == "mrn:wh-xiehe")
        let card = PatientIdentifier(system: "cn-health-card", value: "ｅ12")
        #expect(card.value == "ｅ12", "an opaque system is not folded")
    }

    @Test func decodedAndQueriedIdentifiersAreCanonicalToo() throws {
        let json = Data(#"{"system":"cn-resident-id","value":"42010219800101108x"}"#.utf8)
        #expect(try JSONDecoder().decode(PatientIdentifier.self, from: json).value == Self.canonicalID)
        #expect(PatientIdentifier(query: "42010219800101108x")?.value == Self.canonicalID)
        #expect(PatientIdentifier(query: "cn-resident-id| 42010219800101108x")?.value == Self.canonicalID)
        let scanned = StrictJSONDecoder().decode(PatientIdentifier.self, from: String(decoding: json, as: UTF8.self))
        #expect(scanned?.value == Self.canonicalID, "the stored results' own reader")
    }

    @Test func twoSpellingsOfOneIdentifierAreListedTwice() {
        let patient = Patient(identifiers: [
            PatientIdentifier(system: PatientIdentifier.residentID, value: "42010219800101108x"),
            PatientIdentifier(system: PatientIdentifier.residentID, value: "42010219800101108X"),
        ])
        var validator = Validator()
        patient.validate(&validator)
        #expect(validator.problems.map(\.field) == ["patient.identifiers[1]"])
    }
}
