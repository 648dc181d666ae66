import Foundation
import HubCore
import Testing

@testable import TestSupport

/// IHE's PIX and PDQ queries over MLLP (QBP^Q23, QBP^Q22), with python-hl7 as the hospital system that asks.
/// Its tests run one at a time: each starts a hub and a Python client, and many at once would starve the
/// time-bound tests that run beside them.
@Suite(.serialized) struct HL7QueryTests {
    typealias Door = HL7DoorTests

    static func query(_ control: String, pdq: Bool = false, _ qpd: String) -> Data {
        Door.message([
            Door.msh(control, type: pdq ? "QBP^Q22^QBP_Q21" : "QBP^Q23^QBP_Q21"),
            "QPD|\(pdq ? "IHE PDQ Query" : "IHE PIX Query")|\(control)|\(qpd)", "RCP|I",
        ])
    }

    @Test func aPIXQueryAnswersThePersonsIdentifiersInTheDomainsAskedFor() async throws {
        try await Door.withDoor { hub, setup in
            let acks = try await Door.exchange(
                [
                    Door.electrolytes("PIX0001"),
                    Self.query("PIX0002", "M0073^^^WHLAB^MR"),
                    Self.query("PIX0003", "M0073^^^WHLAB^MR|^^^CN-RESIDENT"),
                    Self.query("PIX0004", "\(Door.resident)^^^CN-RESIDENT|^^^wh-lab-host~^^^CNHSA"),
                    Self.query("PIX0005", "M9999^^^WHLAB^MR"),
                    Self.query("PIX0006", "M0073^^^NOWHERE&1.2.3&ISO^MR"),
                    Self.query("PIX0007", "M0073^^^WHLAB^MR|^^^MARS"),
                ], setup)
            #expect(acks.map(\.code) == ["AA", "AA", "AA", "AA", "AE", "AE", "AE"], "\(acks.map(\.raw))")
            #expect(acks[1].json["type"] as? String == "RSP^K23^RSP_K23", "\(acks[1].raw)")
            #expect(acks[1].segments("QAK").first?[2] == "OK")
            #expect(acks[1].segments("QAK").first?[1] == "PIX0002", "QAK-1 is the query tag")
            let all = try #require(acks[1].segments("PID").first, "\(acks[1].segments)")
            let identifiers = all[3].split(separator: "~").map(String.init)
            #expect(
                Set(identifiers) == [
                    "\(Door.resident)^^^CN-RESIDENT&2.16.156.10011.1.3&ISO^NNCHN", "INS42010073^^^CNHSA^SN",
                ], "the identifier asked about is left out: \(identifiers)")
            #expect(acks[2].segments("PID").first?[3] == "\(Door.resident)^^^CN-RESIDENT&2.16.156.10011.1.3&ISO^NNCHN")
            #expect(
                Set(acks[3].segments("PID").first?[3].split(separator: "~").map(String.init) ?? []) == [
                    "M0073^^^wh-lab-host^MR", "INS42010073^^^CNHSA^SN",
                ], "\(acks[3].segments)")
            #expect(acks[4].segments("QAK").first?[2] == "AE")
            #expect(acks[4].locations == ["QPD^1^3"] && acks[4].codes == ["204"], "\(acks[4].raw)")
            #expect(acks[5].codes == ["204"], "\(acks[5].raw)")
            #expect(acks[6].locations == ["QPD^1^4^1"], "\(acks[6].raw)")
            #expect(acks[4...].allSatisfy { $0.segments("PID").isEmpty })

            let audit = try await hub.get("/v1/audit?action=person.pix", token: setup.recognition.auditor)
            #expect(audit.status == 200 && audit.items.count >= 4, "\(audit.text)")
        }
    }

    @Test func aPDQQueryFindsByTheWholeNameBirthDateAndSexOrByAnIdentifier() async throws {
        try await Door.withDoor { hub, setup in
            let acks = try await Door.exchange(
                [
                    Door.electrolytes("PDQ0001"),
                    Self.query("PDQ0002", pdq: true, "@PID.5.1.1^张~@PID.5.2^三~@PID.7.1^19800101~@PID.8^M"),
                    Self.query("PDQ0003", pdq: true, "@PID.3.1^M0073~@PID.3.4.1^WHLAB~@PID.3.5^MR"),
                    // Another birth date is another person; a family name alone is no query.
                    Self.query("PDQ0004", pdq: true, "@PID.5.1.1^张~@PID.5.2^三~@PID.7.1^19800102~@PID.8^M"),
                    Self.query("PDQ0005", pdq: true, "@PID.5.1.1^张"),
                ], setup)
            #expect(acks.map(\.code) == ["AA", "AA", "AA", "AA", "AE"], "\(acks.map(\.raw))")
            #expect(acks[1].json["type"] as? String == "RSP^K22^RSP_K21", "\(acks[1].raw)")
            for ack in acks[1...2] {
                let pid = try #require(ack.segments("PID").first, "\(ack.segments)")
                #expect(pid[5] == "张三" && pid[7] == "19800101" && pid[8] == "M", "\(pid)")
                #expect(pid[3].contains("M0073^^^wh-lab-host^MR"), "\(pid)")
                #expect(ack.segments("QAK").first?[2] == "OK")
                #expect(ack.segments("QAK").first?[4] == "1", "hits")
            }
            #expect(acks[3].segments("QAK").first?[2] == "NF" && acks[3].segments("PID").isEmpty)
            #expect(acks[4].locations == ["QPD^1^3"], "\(acks[4].raw)")
            #expect(acks[4].text.contains("birth date"), "\(acks[4].text)")
        }
    }
}
