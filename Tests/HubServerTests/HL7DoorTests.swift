import Foundation
import HubCore
import Testing

@testable import TestSupport

/// The HL7 door with python-hl7 as the other side: its client sends messages written as laboratory and hospital
/// systems export them (segments in carriage returns, escapes, repetitions, empty fields, GB 18030), and its parser
/// reads the acknowledgements.
/// Its tests run one at a time: each starts a hub and a Python client, and many at once would starve the
/// time-bound tests that run beside them.
@Suite(.serialized) struct HL7DoorTests {
    static let start = Timestamp(rfc3339: "2026-06-01T08:00:00+08:00")!
    static let resident = residentID(birth: "19800101", sequence: "731")

    struct Setup {
        var port: Int
        var recognition: RecognitionSetup
        var folder: URL
    }

    /// A hub with its HL7 door on a free port, the laboratory of `RecognitionSetup` and its LIS registered at
    /// loopback as `LIS` of `WHLAB`, and its HIS as `HIS` of `WHLAB`.
    static func withDoor(_ body: @Sendable (HubClient, Setup) async throws -> Void) async throws {
        var hub = try TestHub()
        defer { hub.remove() }
        hub.config.hl7Port = try freeLoopbackPort()
        let folder = try DIMSEDoorTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try await hub.run(clock: { Self.start }) { hub in
            let recognition = try await RecognitionSetup.make(hub)
            for (name, kind) in [("LIS", "lis"), ("HIS", "his")] {
                let registered = try await hub.call(
                    .post, "/v1/institutions/wh-lab-host/hl7-applications", token: hub.admin,
                    json: ["application": name, "facility": "WHLAB", "host": "127.0.0.1", "kind": kind])
                try #require(registered.status == 201, "\(registered.text)")
            }
            let port = try await hub.hub.hl7.port()
            try await body(hub, Setup(port: port, recognition: recognition, folder: folder))
        }
    }

    /// What python-hl7 read in one acknowledgement.
    struct Acknowledgement {
        var json: [String: Any]
        var code: String? { json["code"] as? String }
        var controlID: String? { json["control_id"] as? String }
        var text: String { json["text"] as? String ?? "" }
        var raw: String { json["raw"] as? String ?? "" }
        var errors: [[String: Any]] { json["errors"] as? [[String: Any]] ?? [] }
        var locations: [String] { errors.compactMap { $0["location"] as? String } }
        var codes: [String] { errors.compactMap { $0["code"] as? String } }
        var segments: [String] { json["segments"] as? [String] ?? [] }
        /// The segments with this id, as `|`-separated fields (index 0 is the id).
        func segments(_ id: String) -> [[String]] {
            segments.filter { $0.hasPrefix(id + "|") }.map {
                $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            }
        }
    }

    /// Sends each message over one connection with python-hl7's client; answers what its parser read in each ACK.
    static func exchange(_ messages: [Data], _ setup: Setup) async throws -> [Acknowledgement] {
        var files: [String] = []
        for (index, message) in messages.enumerated() {
            let path = setup.folder.appendingPathComponent("message-\(UUID().uuidString)-\(index).hl7").path
            try message.write(to: URL(fileURLWithPath: path))
            files.append(path)
        }
        let script = OutsideTools.repositoryRoot.appendingPathComponent("Tests/HubServerTests/HL7/hl7_exchange.py")
        let (status, output) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", script.path, "127.0.0.1", "\(setup.port)"] + files,
            environment: OutsideTools.defaultEnvironment)
        let text = String(decoding: output, as: UTF8.self)
        try #require(status == 0, "hl7_exchange.py failed (\(OutsideTools.missing("python-hl7"))): \(text)")
        return try text.split(separator: "\n").map {
            Acknowledgement(
                json: try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)"))
        }
    }

    /// An OBR: set id, placer and filler order numbers, universal service id (OBR-4), observation time (OBR-7) and
    /// result status (OBR-25).
    static func obr(_ order: String, _ service: String, time: String, status: String) -> String {
        var fields = Array(repeating: "", count: 26)
        (fields[0], fields[1], fields[2], fields[3], fields[4]) = ("OBR", "1", order, order, service)
        (fields[7], fields[25]) = (time, status)
        return fields.joined(separator: "|")
    }

    static func message(_ segments: [String]) -> Data { Data(segments.joined(separator: "\r").utf8 + [0x0D]) }

    static func msh(
        _ control: String, type: String = "ORU^R01^ORU_R01", application: String = "LIS", version: String = "2.5.1",
        processing: String = "P", charset: String = "UNICODE UTF-8"
    ) -> String {
        "MSH|^~\\&|\(application)|WHLAB|ALLIANCEHUB|HUB|20260601073000+0800||\(type)|\(control)|\(processing)|\(version)|||AL|NE||\(charset)"
    }

    static let pid =
        "PID|1||\(resident)^^^CN-RESIDENT&2.16.156.10011.1.1&ISO^NNCHN~INS42010073^^^CNHSA^SN~M0073^^^WHLAB^MR||张^三||19800101|M|||武汉市江岸区^^武汉^湖北"

    /// An electrolytes order as an LIS sends it: the panel's local code, which names no catalog item, and an
    /// observation per analyte, each by its LOINC code.
    static func electrolytes(
        _ control: String, order: String = "LAB2026060100042", status: String = "F", potassium: String = "5.9"
    ) -> Data {
        message([
            msh(control), pid, "PV1|1|O|内科门诊",
            "ORC|RE|\(order)^WHLAB|\(order)^WHLAB",
            obr("\(order)^WHLAB", "ELEC^电解质^L", time: "202605310815+0800", status: status),
            "OBX|1|NM|2823-3^钾^LN||\(potassium)|mmol/L^^UCUM|3.5-5.3|H|||\(status)|||202605310815+0800",
            "OBX|2|NM|2951-2^钠^LN||141|mmol/L^^UCUM|137-147|N|||\(status)",
            "OBX|3|ST|NOTE^备注^L||溶血\\T\\脂血 \\F\\ 已复查|||||\(status)",
            "OBX|4|ST|NOTE2^^L||\"\"||||||\(status)",
        ])
    }

    func results(_ hub: HubClient, _ setup: Setup, patient: String = resident) async throws -> [[String: Any]] {
        let query = patient.replacingOccurrences(of: "|", with: "%7C")
        let listed = try await hub.get("/v1/results?patient=\(query)", token: setup.recognition.clinician)
        try #require(listed.status == 200, "\(listed.text)")
        return listed.items
    }

    @Test func anORUFromTheLaboratoryBecomesResultsAndIsAcknowledgedAA() async throws {
        try await Self.withDoor { hub, setup in
            let acks = try await Self.exchange([Self.electrolytes("MSG0001")], setup)
            let ack = try #require(acks.first)
            #expect(ack.code == "AA", "\(ack.raw)")
            #expect(ack.controlID == "MSG0001")
            #expect(ack.json["type"] as? String == "ACK^R01^ACK")
            #expect(ack.json["receiving_application"] as? String == "LIS")
            #expect(ack.errors.isEmpty)

            let stored = try await results(hub, setup)
            #expect(Set(stored.compactMap { $0["item_code"] as? String }) == ["K", "NA"])
            let potassium = try #require(stored.first { $0["item_code"] as? String == "K" })
            #expect(potassium["report_status"] as? String == "final")
            #expect(
                (potassium["performed_at"] as? String).flatMap { Timestamp(rfc3339: $0) }
                    == Timestamp(rfc3339: "2026-05-31T00:15:00Z"))
            #expect(potassium["findings"] as? String == "溶血&脂血 | 已复查", "the order's note")
            #expect(potassium["institution_id"] as? String == "wh-lab-host")
            let value = try #require((potassium["values"] as? [[String: Any]])?.first)
            #expect(value["value"] as? String == "5.9")
            #expect(value["unit"] as? String == "mmol/L")
            #expect(value["reference_range"] as? String == "3.5-5.3")
            #expect(value["flag"] as? String == "H")
            #expect(value["loinc"] as? String == "2823-3")
            #expect(ack.text.contains(try #require(potassium["id"] as? String)), "\(ack.text)")
            let patient = try #require(potassium["patient"] as? [String: Any])
            #expect(patient["name"] as? String == "张三")
            #expect(patient["birth_date"] as? String == "1980-01-01")
            let identifiers = (patient["identifiers"] as? [[String: Any]])?.compactMap { $0["system"] as? String }
            #expect(identifiers == ["cn-resident-id", "cn-medical-insurance", "mrn:wh-lab-host"])

            // The results are recognition candidates, under every identifier of the person.
            let check = try await hub.call(
                .post, "/v1/recognition/checks", token: setup.recognition.clinician,
                json: ["patient": "mrn:wh-lab-host|M0073", "item_code": "K"])
            #expect(check.status == 201, "\(check.text)")
            #expect((check.json["candidates"] as? [[String: Any]])?.count == 1, "\(check.text)")

            let audit = try await hub.get("/v1/audit?target=hl7:", token: setup.recognition.auditor)
            #expect(audit.status == 200)
        }
    }

    @Test func theSameMessageAgainChangesNothingAndGetsTheSameAcknowledgement() async throws {
        try await Self.withDoor { hub, setup in
            let message = Self.electrolytes("MSG0002")
            let first = try await Self.exchange([message], setup)
            // Sent again on another connection, as an LIS does after a lost ACK; and once more with mllp_send.
            let again = try await Self.exchange([message, message], setup)
            #expect(first.first?.code == "AA")
            #expect(again.map(\.raw) == [first[0].raw, first[0].raw], "byte for byte")
            let path = setup.folder.appendingPathComponent("again.hl7")
            try (Data([0x0B]) + message + Data([0x1C, 0x0D])).write(to: path)
            let (status, output) = try await ChildProcess.run(
                "/usr/bin/env", ["mllp_send", "-p", "\(setup.port)", "-f", path.path, "127.0.0.1"],
                environment: OutsideTools.defaultEnvironment)
            let printed = String(decoding: output, as: UTF8.self)
            #expect(status == 0, "\(OutsideTools.missing("mllp_send (python-hl7)")): \(printed)")
            #expect(printed.contains("MSA|AA|MSG0002"), "\(printed)")
            #expect(try await results(hub, setup).count == 2, "two results, not six")
        }
    }

    @Test func aMessageWithProblemsIsRefusedWholeWithAnERRForEachNamingItsField() async throws {
        try await Self.withDoor { hub, setup in
            let badCheck = String(Self.resident.dropLast()) + (Self.resident.last == "1" ? "2" : "1")
            let refused = Self.message([
                Self.msh("MSG0003"),
                "PID|1||\(badCheck)^^^CN-RESIDENT^NNCHN||李^四||19800101|F",
                Self.obr("ORD9", "ELEC^电解质^L", time: "", status: "F"),
                "OBX|1|NM|2823-3^钾^LN||4.1|mmol/L|3.5-5.3|N|||F",
                "OBX|2|NM|99999^未知项目^L||1.0|mmol/L||N|||F",
            ])
            let acks = try await Self.exchange([refused], setup)
            let ack = try #require(acks.first)
            #expect(ack.code == "AE", "\(ack.raw)")
            #expect(ack.locations.contains("PID^1^3^1"), "\(ack.locations)")
            #expect(ack.locations.contains("OBR^1^7"), "\(ack.locations)")
            #expect(ack.locations.contains("OBX^2^3"), "\(ack.locations)")
            #expect(ack.codes.contains("101") && ack.codes.contains("103") && ack.codes.contains("102"), "\(ack.codes)")
            #expect(ack.errors.allSatisfy { $0["severity"] as? String == "E" })
            #expect(ack.errors.contains { ($0["message"] as? String)?.contains("check character") == true })
            // Nothing of it was stored, not even the line that was right.
            #expect(try await results(hub, setup, patient: "mrn:wh-lab-host|M0073").isEmpty)
        }
    }

    @Test func messagesTheHubDoesNotTakeAreRejectedAR() async throws {
        try await Self.withDoor { hub, setup in
            let acks = try await Self.exchange(
                [
                    Self.message([Self.msh("MSG0004", application: "NOBODY"), Self.pid]),
                    Self.message([Self.msh("MSG0005", processing: "T"), Self.pid]),
                    Self.message([Self.msh("MSG0006", type: "ORM^O01^ORM_O01"), Self.pid]),
                    Self.message([Self.msh("MSG0007", version: "2.7"), Self.pid]),
                    Self.message([Self.msh("MSG0008", type: "ADT^A04^ADT_A01"), Self.pid]),
                    Self.message([Self.msh("MSG0009", charset: "8859/1"), Self.pid]),
                ], setup)
            #expect(acks.map(\.code) == ["AR", "AR", "AR", "AR", "AR", "AR"], "\(acks.map(\.raw))")
            #expect(acks.map(\.controlID) == ["MSG0004", "MSG0005", "MSG0006", "MSG0007", "MSG0008", "MSG0009"])
            #expect(
                acks.map { $0.locations.first ?? "" } == [
                    "MSH^1^3", "MSH^1^11", "MSH^1^9", "MSH^1^12", "MSH^1^9", "MSH^1^18",
                ])
            #expect(acks.map { $0.codes.first ?? "" } == ["204", "202", "200", "203", "200", "103"])
            #expect(acks[0].text.contains("not a registered HL7 application"), "\(acks[0].text)")
            #expect(acks[4].text.contains("lis"), "an LIS does not send ADT: \(acks[4].text)")
        }
    }

    @Test func aCorrectedResultReplacesTheOneItsOrderRegistered() async throws {
        try await Self.withDoor { hub, setup in
            let acks = try await Self.exchange(
                [
                    Self.electrolytes("MSG0010", status: "P", potassium: "5.9"),
                    Self.electrolytes("MSG0011", status: "F", potassium: "5.8"),
                    Self.electrolytes("MSG0012", status: "C", potassium: "4.2"),
                    Self.electrolytes("MSG0013", order: "LAB-NEVER-SENT", status: "C"),
                ], setup)
            #expect(acks.map(\.code) == ["AA", "AA", "AA", "AE"], "\(acks.map(\.raw))")
            #expect(acks[3].locations.first == "OBX^1^11", "\(acks[3].locations)")
            let stored = try await results(hub, setup)
            #expect(stored.count == 2, "one result per item, in its latest version")
            let potassium = try #require(stored.first { $0["item_code"] as? String == "K" })
            #expect(potassium["report_status"] as? String == "corrected")
            #expect(potassium["report_version"] as? Int == 3)
            #expect((potassium["values"] as? [[String: Any]])?.first?["value"] as? String == "4.2")
            let history = try await hub.get(
                "/v1/results/\(try #require(potassium["id"] as? String))", token: setup.recognition.clinician)
            #expect((history.json["history"] as? [[String: Any]])?.count == 2, "\(history.text)")
        }
    }

    @Test func aGB18030MessageWithTheInstitutionsOwnCodesIsReadThroughItsCodeMap() async throws {
        try await Self.withDoor { hub, setup in
            let map = try await hub.call(
                .put, "/v1/institutions/wh-lab-host/code-maps", token: hub.admin,
                json: ["entries": [["system": "99WH", "code": "LK01", "item_code": "K"]]])
            #expect(map.status == 200, "\(map.text)")
            let unknownItem = try await hub.call(
                .put, "/v1/institutions/wh-lab-host/code-maps", token: hub.admin,
                json: ["entries": [["code": "X", "item_code": "NOPE"]]])
            #expect(
                unknownItem.status == 422 && unknownItem.text.contains("entries[0].item_code"), "\(unknownItem.text)")

            let text =
                [
                    Self.msh("MSG0014", version: "2.3.1", charset: "GB 18030"), Self.pid,
                    Self.obr("G77", "LK01^血钾^99WH", time: "20260531090000", status: "F"),
                    "OBX|1|NM|LK01^血钾^99WH||3.9|mmol/L|3.5-5.3|N|||F",
                ].joined(separator: "\r") + "\r"
            let source = setup.folder.appendingPathComponent("utf8.hl7")
            try Data(text.utf8).write(to: source)
            let (status, gb18030) = try await ChildProcess.run(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    "import sys; sys.stdout.buffer.write(open(sys.argv[1], encoding='utf-8').read().encode('gb18030'))",
                    source.path,
                ])
            try #require(status == 0)
            try #require(gb18030 != Data(text.utf8), "the bytes are GB 18030, not UTF-8")
            let acks = try await Self.exchange([gb18030], setup)
            #expect(acks.first?.code == "AA", "\(acks.first?.raw ?? "")")
            #expect(acks.first?.json["charset"] as? String == "GB 18030", "answered in the sender's character set")
            let stored = try await results(hub, setup)
            let potassium = try #require(stored.first)
            #expect(potassium["item_code"] as? String == "K")
            #expect((potassium["patient"] as? [String: Any])?["name"] as? String == "张三")
            // No offset in OBR-7: the hub's (UTC+8).
            #expect(
                (potassium["performed_at"] as? String).flatMap { Timestamp(rfc3339: $0) }
                    == Timestamp(rfc3339: "2026-05-31T01:00:00Z"))
        }
    }

    @Test func anADTFromTheHospitalLinksItsPatientsIdentifiersAndA40MergesTwoRecords() async throws {
        try await Self.withDoor { hub, setup in
            // A result under the record number only, then the hospital's registration that says whose it is.
            let onlyRecord = Self.message([
                Self.msh("MSG0020"), "PID|1||M0099^^^WHLAB^MR||王^五||19750303|F",
                Self.obr("O1", "ELEC^电解质^L", time: "202605300800+0800", status: "F"),
                "OBX|1|NM|2823-3^钾^LN||4.0|mmol/L|3.5-5.3|N|||F",
            ])
            let other = residentID(birth: "19750303", sequence: "742")
            let adt = Self.message([
                Self.msh("ADT0001", type: "ADT^A04^ADT_A01", application: "HIS"), "EVN|A04|202605300700",
                "PID|1||\(other)^^^CN-RESIDENT^NNCHN~M0099^^^WHLAB^MR||王^五||19750303|F", "PV1|1|O",
            ])
            let duplicate = Self.message([
                Self.msh("ADT0002", type: "ADT^A04^ADT_A01", application: "HIS"), "EVN|A04|202605300700",
                "PID|1||M0100^^^WHLAB^MR||王^五||19750303|F", "PV1|1|O",
            ])
            let merge = Self.message([
                Self.msh("ADT0003", type: "ADT^A40^ADT_A39", application: "HIS"), "EVN|A40|202605300900",
                "PID|1||M0099^^^WHLAB^MR||王^五||19750303|F", "MRG|M0100^^^WHLAB^MR",
            ])
            let lateResult = Self.message([
                Self.msh("MSG0021"), "PID|1||M0100^^^WHLAB^MR||王^五||19750303|F",
                Self.obr("O2", "ELEC^电解质^L", time: "202605300830+0800", status: "F"),
                "OBX|1|NM|2951-2^钠^LN||140|mmol/L|137-147|N|||F",
            ])
            let acks = try await Self.exchange([onlyRecord, adt, duplicate, merge, lateResult], setup)
            #expect(acks.map(\.code) == ["AA", "AA", "AA", "AA", "AA"], "\(acks.map(\.raw))")
            let found = try await results(hub, setup, patient: other)
            #expect(Set(found.compactMap { $0["item_code"] as? String }) == ["K", "NA"], "\(found)")
            let person = try await hub.get("/v1/persons?identifier=\(other)", token: hub.admin)
            let values = (person.json["identifiers"] as? [[String: Any]])?.compactMap { $0["value"] as? String }
            #expect(Set(values ?? []) == [other, "M0099", "M0100"], "\(person.text)")
            let audit = try await hub.get(
                "/v1/audit?target=\(try #require(person["id"]))", token: setup.recognition.auditor)
            #expect(audit.items.contains { $0["action"] as? String == "person.merge" }, "\(audit.text)")
            // The second registration looked like the first patient (a suggestion); the merge answered it.
            let open = try await hub.get("/v1/person-reviews?status=open", token: hub.admin)
            #expect(open.status == 200 && open.items.isEmpty, "\(open.text)")
            let merged = try await hub.get("/v1/person-reviews?status=merged", token: hub.admin)
            #expect(merged.items.map { $0["kind"] as? String } == ["suggestion"], "\(merged.text)")
        }
    }
}
