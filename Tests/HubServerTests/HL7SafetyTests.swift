import Foundation
import HubCore
import Synchronization
import Testing

@testable import TestSupport

/// What the HL7 door must never do: file one patient's results under another, let a reused order number or control
/// id overwrite what another message said, bring a withdrawn result back, or take a record number another authority
/// assigned as the sender's.
/// Its tests run one at a time: each starts a hub and a Python client, and many at once would starve the
/// time-bound tests that run beside them.
@Suite(.serialized) struct HL7SafetyTests {
    typealias Door = HL7DoorTests
    static let second = residentID(birth: "19900202", sequence: "812")
    static let secondPID = "PID|1||\(second)^^^CN-RESIDENT^NNCHN~M0200^^^WHLAB^MR||李^娜||19900202|F"

    static func potassium(_ value: String, status: String = "F") -> String {
        "OBX|1|NM|2823-3^钾^LN||\(value)|mmol/L|3.5-5.3|N|||\(status)"
    }

    static func sodium(_ value: String, status: String = "F", set: Int = 2) -> String {
        "OBX|\(set)|NM|2951-2^钠^LN||\(value)|mmol/L|137-147|N|||\(status)"
    }

    static func order(_ number: String, status: String = "") -> String {
        Door.obr("\(number)^WHLAB", "ELEC^电解质^L", time: "202605310815+0800", status: status)
    }

    func results(_ hub: HubClient, _ setup: Door.Setup, _ patient: String) async throws -> [[String: Any]] {
        try await Door().results(hub, setup, patient: patient)
    }

    func value(_ result: [String: Any]?) -> String? {
        (result?["values"] as? [[String: Any]])?.first?["value"] as? String
    }

    @Test func anORUWithTwoPatientsFilesEachOrderUnderItsOwnPatient() async throws {
        try await Door.withDoor { hub, setup in
            let two = Door.message([
                Door.msh("SAFE0001"), Door.pid, Self.order("ORD-A"), Self.potassium("4.5"),
                Self.secondPID.replacingOccurrences(of: "PID|1|", with: "PID|2|"), Self.order("ORD-B"),
                Self.sodium("139", set: 1),
            ])
            let orphan = Door.message([Door.msh("SAFE0002"), Self.order("ORD-C"), Self.potassium("4.0"), Door.pid])
            let acks = try await Door.exchange([two, orphan], setup)
            #expect(acks.map(\.code) == ["AA", "AE"], "\(acks.map(\.raw))")
            #expect(acks[1].text.contains("follows the PID"), "\(acks[1].text)")

            let first = try await results(hub, setup, Door.resident)
            #expect(first.map { $0["item_code"] as? String } == ["K"], "\(first)")
            let other = try await results(hub, setup, Self.second)
            #expect(other.map { $0["item_code"] as? String } == ["NA"], "\(other)")
            #expect((other.first?["patient"] as? [String: Any])?["name"] as? String == "李娜")
            // The two are not one person: neither is found under the other's record number.
            #expect(try await results(hub, setup, "mrn:wh-lab-host|M0200").map { $0["item_code"] as? String } == ["NA"])
        }
    }

    @Test func onlyRecordNumbersTheSenderAssignedAreTaken() async throws {
        try await Door.withDoor { hub, setup in
            let mixed = Door.message([
                Door.msh("SAFE0010"),
                "PID|1||\(Door.resident)^^^CN-RESIDENT^NNCHN~X77^^^OTHERHOSP^MR~P55^^^WHLAB^PI~M0300^^^WHLAB^MR~V9^^^WHLAB^VN||张^三||19800101|M",
                Self.order("ORD-M"), Self.potassium("4.2"),
            ])
            let foreignOnly = Door.message([
                Door.msh("SAFE0011"), "PID|1||X77^^^OTHERHOSP^MR~P56^^^WHLAB^PI||张^三||19800101|M",
                Self.order("ORD-N"), Self.potassium("4.3"),
            ])
            let acks = try await Door.exchange([mixed, foreignOnly], setup)
            #expect(acks.map(\.code) == ["AA", "AE"], "\(acks.map(\.raw))")
            #expect(acks[1].locations == ["PID^1^3"], "\(acks[1].locations)")
            let stored = try #require(try await results(hub, setup, Door.resident).first)
            let identifiers = ((stored["patient"] as? [String: Any])?["identifiers"] as? [[String: Any]]) ?? []
            #expect(
                identifiers.map { "\($0["system"] ?? "")|\($0["value"] ?? "")" } == [
                    "cn-resident-id|\(Door.resident)", "mrn:wh-lab-host|M0300",
                ])
            #expect(try await results(hub, setup, "mrn:wh-lab-host|X77").isEmpty)
        }
    }

    @Test func aReusedOrderNumberDoesNotReplaceAnotherPatientsResult() async throws {
        try await Door.withDoor { hub, setup in
            let acks = try await Door.exchange(
                [
                    Door.message([Door.msh("SAFE0020"), Door.pid, Self.order("ORD-R"), Self.potassium("4.1")]),
                    Door.message([
                        Door.msh("SAFE0021"), Self.secondPID, Self.order("ORD-R"), Self.potassium("6.0", status: "C"),
                    ]),
                    Door.message([Door.msh("SAFE0022"), Self.secondPID, Self.order("ORD-R"), Self.potassium("6.1")]),
                ], setup)
            #expect(acks.map(\.code) == ["AA", "AE", "AE"], "\(acks.map(\.raw))")
            #expect(acks[1].locations == ["PID^1^3"] && acks[1].codes == ["205"], "\(acks[1].raw)")
            #expect(acks[2].locations == ["PID^1^3"], "\(acks[2].raw)")
            let first = try await results(hub, setup, Door.resident)
            #expect(first.count == 1 && value(first.first) == "4.1", "\(first)")
            #expect(first.first?["report_version"] as? Int == 1)
            #expect(try await results(hub, setup, Self.second).isEmpty)
        }
    }

    @Test func aFinalResultIsReplacedOnlyByACorrectionAndAWithdrawnOneStaysWithdrawn() async throws {
        try await Door.withDoor { hub, setup in
            func sent(_ control: String, _ lines: [String]) -> Data {
                Door.message([Door.msh(control), Door.pid, Self.order("ORD-F")] + lines)
            }
            let acks = try await Door.exchange(
                [
                    sent("SAFE0030", [Self.potassium("5.9"), Self.sodium("141")]),
                    // The same final result again (an LIS resending its day): nothing changes.
                    sent("SAFE0031", [Self.potassium("5.9"), Self.sodium("141")]),
                    // Another value as final, or a preliminary one: refused; a change is a correction.
                    sent("SAFE0032", [Self.potassium("5.5")]),
                    sent("SAFE0033", [Self.potassium("5.4", status: "P")]),
                    // The potassium was wrong (W): withdrawn; the sodium stays.
                    sent("SAFE0034", [Self.potassium("5.9", status: "W")]),
                    sent("SAFE0035", [Self.potassium("4.0", status: "C")]),
                    // The order's next result is a new one: the withdrawn one stays withdrawn.
                    sent("SAFE0036", [Self.potassium("4.0")]),
                ], setup)
            #expect(acks.map(\.code) == ["AA", "AA", "AE", "AE", "AA", "AE", "AA"], "\(acks.map(\.raw))")
            #expect(acks[0].text == acks[1].text, "the same results: \(acks[0].text) / \(acks[1].text)")
            #expect(acks[2].locations == ["OBX^1^11"] && acks[2].text.contains("corrected (C)"), "\(acks[2].raw)")
            #expect(acks[5].text.contains("withdrawn"), "\(acks[5].text)")
            let stored = try await results(hub, setup, Door.resident)
            let potassium = stored.filter { $0["item_code"] as? String == "K" }
            let withdrawn = try #require(potassium.first { $0["report_status"] as? String == "entered-in-error" })
            #expect(withdrawn["report_version"] as? Int == 2 && value(withdrawn) == "5.9", "\(withdrawn)")
            let renewed = try #require(potassium.first { $0["report_status"] as? String == "final" }, "\(potassium)")
            #expect(value(renewed) == "4.0" && renewed["id"] as? String != withdrawn["id"] as? String)
            let sodium = try #require(stored.first { $0["item_code"] as? String == "NA" })
            #expect(sodium["report_status"] as? String == "final" && sodium["report_version"] as? Int == 1)
            // A withdrawn result is no candidate for recognition; the new one is.
            let check = try await hub.call(
                .post, "/v1/recognition/checks", token: setup.recognition.clinician,
                json: ["patient": Door.resident, "item_code": "K"])
            #expect(check.status == 201, "\(check.text)")
            let candidates = (check.json["candidates"] as? [[String: Any]]) ?? []
            let recognizable = candidates.filter { $0["recognizable"] as? Bool == true }.compactMap {
                $0["result_id"] as? String
            }
            #expect(recognizable == [renewed["id"] as? String].compactMap { $0 }, "\(check.text)")
        }
    }

    @Test func aResultSentForTheWrongPatientIsWithdrawnAndTheOrderThenFilesTheRightOne() async throws {
        try await Door.withDoor { hub, setup in
            let acks = try await Door.exchange(
                [
                    Door.message([Door.msh("SAFE0080"), Door.pid, Self.order("ORD-W"), Self.potassium("4.1")]),
                    Door.message([
                        Door.msh("SAFE0081"), Door.pid, Self.order("ORD-W"), Self.potassium("4.1", status: "W"),
                    ]),
                    Door.message([Door.msh("SAFE0082"), Self.secondPID, Self.order("ORD-W"), Self.potassium("4.1")]),
                    // A preliminary result of another order, then someone else's under the same number: refused.
                    Door.message([
                        Door.msh("SAFE0083"), Door.pid, Self.order("ORD-P"), Self.potassium("3.9", status: "P"),
                    ]),
                    Door.message([Door.msh("SAFE0084"), Self.secondPID, Self.order("ORD-P"), Self.potassium("3.8")]),
                ], setup)
            #expect(acks.map(\.code) == ["AA", "AA", "AA", "AA", "AE"], "\(acks.map(\.raw))")
            #expect(acks[4].codes == ["205"], "\(acks[4].raw)")
            let first = try await results(hub, setup, Door.resident)
            #expect(
                Set(first.map { "\($0["report_status"] ?? "")=\(value($0) ?? "")" }) == [
                    "entered-in-error=4.1", "preliminary=3.9",
                ], "\(first)")
            let other = try await results(hub, setup, Self.second)
            #expect(other.map { $0["report_status"] as? String } == ["final"], "\(other)")
        }
    }

    @Test func aValueThatCouldNotBeObtainedWithdrawsThePreliminaryOne() async throws {
        try await Door.withDoor { hub, setup in
            let acks = try await Door.exchange(
                [
                    Door.message([
                        Door.msh("SAFE0090"), Door.pid, Self.order("ORD-H"), Self.potassium("6.8", status: "P"),
                        Self.sodium("140", status: "I"),
                    ]),
                    // The specimen was haemolysed: the potassium cannot be obtained.
                    Door.message([
                        Door.msh("SAFE0091"), Door.pid, Self.order("ORD-H"), Self.potassium("", status: "X"),
                        Self.sodium("140"),
                    ]),
                ], setup)
            #expect(acks.map(\.code) == ["AA", "AA"], "\(acks.map(\.raw))")
            let stored = try await results(hub, setup, Door.resident)
            #expect(
                Set(stored.map { "\($0["item_code"] ?? "")=\($0["report_status"] ?? "")" }) == [
                    "K=entered-in-error", "NA=final",
                ], "\(stored)")
        }
    }

    @Test func specimenObservationsAndRecordNumbersWithoutAnAuthorityAreNotResults() async throws {
        try await Door.withDoor { hub, setup in
            let acks = try await Door.exchange(
                [
                    Door.message([
                        Door.msh("SAFE0100"),
                        "PID|1||\(Door.resident)^^^CN-RESIDENT^NNCHN~M0301^^^^MR||张^三||19800101|M",
                        Self.order("ORD-S"), Self.potassium("4.3"), "SPM|1|S1||SER^血清^HL70487",
                        "OBX|2|CWE|SPECQ^标本性状^L||HEM^溶血^L||||||F",
                    ])
                ], setup)
            #expect(acks.map(\.code) == ["AA"], "\(acks.map(\.raw))")
            let stored = try await results(hub, setup, Door.resident)
            #expect(stored.map { $0["item_code"] as? String } == ["K"], "\(stored)")
            let identifiers = ((stored.first?["patient"] as? [String: Any])?["identifiers"] as? [[String: Any]]) ?? []
            #expect(identifiers.compactMap { $0["system"] as? String } == ["cn-resident-id"], "\(identifiers)")
        }
    }

    @Test func eachObservationCarriesItsOwnStatus() async throws {
        try await Door.withDoor { hub, setup in
            let acks = try await Door.exchange(
                [
                    // The potassium could not be measured (X); the sodium is final: one result, the sodium.
                    Door.message([
                        Door.msh("SAFE0040"), Door.pid, Self.order("ORD-X"), Self.potassium("", status: "X"),
                        Self.sodium("140"),
                    ]),
                    // OBR-25 says final; the potassium's own OBX-11 says preliminary, and wins.
                    Door.message([
                        Door.msh("SAFE0041"), Door.pid, Self.order("ORD-Y", status: "F"),
                        Self.potassium("4.4", status: "P"),
                    ]),
                    Door.message([
                        Door.msh("SAFE0042"), Door.pid, Self.order("ORD-Z"), Self.potassium("4.4", status: ""),
                    ]),
                ], setup)
            #expect(acks.map(\.code) == ["AA", "AA", "AE"], "\(acks.map(\.raw))")
            #expect(acks[2].locations == ["OBX^1^11"], "\(acks[2].locations)")
            let stored = try await results(hub, setup, Door.resident)
            #expect(
                Set(stored.map { "\($0["item_code"] ?? "")=\($0["report_status"] ?? "")" }) == [
                    "NA=final", "K=preliminary",
                ], "\(stored)")
        }
    }

    @Test func anotherMessageUnderAUsedControlIDIsRefusedAndARefusedMessageCanBeSentAgain() async throws {
        try await Door.withDoor { hub, setup in
            let original = Door.electrolytes("SAFE0050")
            let other = Door.electrolytes("SAFE0050", potassium: "4.0")
            // The sender stamps the header anew when it sends again: still the same message.
            let restamped = Data(
                String(decoding: original, as: UTF8.self).replacingOccurrences(
                    of: "20260601073000+0800", with: "20260601075959+0800"
                ).utf8)
            let badBirth = Door.message([
                Door.msh("SAFE0051"), "PID|1||\(Door.resident)^^^CN-RESIDENT^NNCHN||张^三||1980XX01|M",
                Self.order("ORD-B1"), Self.potassium("4.1"),
            ])
            let fixed = Door.message([
                Door.msh("SAFE0051"), "PID|1||\(Door.resident)^^^CN-RESIDENT^NNCHN||张^三||19800101|M",
                Self.order("ORD-B1"), Self.potassium("4.1"),
            ])
            let acks = try await Door.exchange([original, other, restamped, badBirth, fixed], setup)
            #expect(acks.map(\.code) == ["AA", "AE", "AA", "AE", "AA"], "\(acks.map(\.raw))")
            #expect(acks[1].codes == ["205"] && acks[1].locations == ["MSH^1^10"], "\(acks[1].raw)")
            #expect(acks[2].raw == acks[0].raw, "answered as the first time, byte for byte")
            #expect(acks[3].locations == ["PID^1^7"], "\(acks[3].raw)")
            let stored = try await results(hub, setup, Door.resident)
            let potassium = stored.filter { $0["item_code"] as? String == "K" }.compactMap(value)
            #expect(potassium.sorted() == ["4.1", "5.9"], "\(stored)")
        }
    }

    @Test func anA40DoesNotUndoWhatAPersonSeparated() async throws {
        try await Door.withDoor { hub, setup in
            let registration = Door.message([
                Door.msh("SAFE0060", type: "ADT^A04^ADT_A01", application: "HIS"), "EVN|A04|202605300700",
                "PID|1||\(Door.resident)^^^CN-RESIDENT^NNCHN~M0500^^^WHLAB^MR~M0501^^^WHLAB^MR||张^三||19800101|M",
            ])
            _ = try await Door.exchange([registration], setup)
            let person = try await hub.get("/v1/persons?identifier=\(Door.resident)", token: hub.admin)
            let personId = try #require(person["id"])
            let unlinked = try await hub.call(
                .post, "/v1/persons/\(personId)/unlink", token: hub.admin,
                json: ["identifier": ["system": "mrn:wh-lab-host", "value": "M0501"]])
            try #require(unlinked.status == 200, "\(unlinked.text)")
            let merge = Door.message([
                Door.msh("SAFE0061", type: "ADT^A40^ADT_A39", application: "HIS"), "EVN|A40|202605300900",
                "PID|1||M0500^^^WHLAB^MR||张^三||19800101|M", "MRG|M0501^^^WHLAB^MR",
            ])
            let acks = try await Door.exchange([merge], setup)
            #expect(acks.map(\.code) == ["AA"], "\(acks.map(\.raw))")
            #expect(acks[0].text.contains("review"), "\(acks[0].text)")
            let after = try await hub.get("/v1/persons?identifier=\(Door.resident)", token: hub.admin)
            let values = (after.json["identifiers"] as? [[String: Any]])?.compactMap { $0["value"] as? String }
            #expect(Set(values ?? []) == [Door.resident, "M0500"], "\(after.text)")
            let open = try await hub.get("/v1/person-reviews?status=open", token: hub.admin)
            #expect(open.items.map { $0["kind"] as? String } == ["conflict"], "\(open.text)")
            #expect((open.items.first?["reason"] as? String)?.contains("A40") == true, "\(open.text)")
        }
    }

    @Test(.timeLimit(.minutes(1))) func aStoppingHubClosesTheConnectionsItHasOpen() async throws {
        let descriptor = Mutex<Int32>(-1)
        try await Door.withDoor { hub, setup in
            let port = setup.port
            let message = [UInt8]([0x0B]) + [UInt8](Door.electrolytes("SAFE0070")) + [0x1C, 0x0D]
            // A message on it first, so the door is surely serving the connection when the hub stops.
            let (fd, sent, answered) = await offPool { () -> (Int32, Int, Int) in
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                address.sin_port = UInt16(port).bigEndian
                var timeout = timeval(tv_sec: 20, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard fd >= 0, connected == 0 else { return (fd, -1, -1) }
                let sent = message.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                var answer = [UInt8](repeating: 0, count: 4096)
                return (fd, sent, read(fd, &answer, answer.count))
            }
            descriptor.withLock { $0 = fd }
            #expect(sent == message.count && answered > 0, "sent \(sent), answered \(answered)")
        }
        let fd = descriptor.withLock { $0 }
        defer { close(fd) }
        // The idle limit is far away; the door closed the connection as it stopped: the read sees its end.
        let (ended, error) = await offPool { () -> (Int, Int32) in
            var byte: UInt8 = 0
            let count = read(fd, &byte, 1)
            return (count, errno)
        }
        #expect(ended == 0, "errno \(error)")
    }
}
