import Foundation
import HubCore
import Testing

@testable import TestSupport

/// Orders and reports out over MLLP through the outbox, with python-hl7's MLLP server as the center's RIS and the
/// clinic's HIS.
/// Its tests run one at a time: each starts a hub and a Python client, and many at once would starve the
/// time-bound tests that run beside them.
@Suite(.serialized) struct HL7OutboundTests {
    /// A receiving hospital system: python-hl7's asyncio MLLP server on a loopback port of its own.
    final class Receiver: Sendable {
        let process: ChildProcess
        let port: Int
        let messages: URL

        init(folder: URL, refuse: Int = 0, code: String = "AR") async throws {
            let portFile = folder.appendingPathComponent("port-\(UUID().uuidString)")
            messages = folder.appendingPathComponent("messages-\(UUID().uuidString).ndjson")
            let script = OutsideTools.repositoryRoot.appendingPathComponent(
                "Tests/HubServerTests/HL7/hl7_receiver.py")
            process = try ChildProcess(
                "python3", [script.path, portFile.path, messages.path, "\(refuse)", code],
                environment: OutsideTools.defaultEnvironment,
                stdout: .file(folder.appendingPathComponent("receiver.log").path))
            let deadline = ContinuousClock.now + .seconds(20)
            var port: Int?
            while port == nil, ContinuousClock.now < deadline, process.isRunning {
                port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) }
                if port == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let log = (try? String(contentsOf: folder.appendingPathComponent("receiver.log"), encoding: .utf8)) ?? ""
            self.port = try #require(port, "the receiver did not start (\(OutsideTools.missing("python-hl7"))): \(log)")
        }

        /// The messages received so far, each as its answer's code and its segments split into fields.
        func received() -> [(code: String, segments: [[String]])] {
            let text = (try? String(contentsOf: messages, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let code = object["code"] as? String, let segments = object["segments"] as? [String]
                else { return nil }
                return (
                    code, segments.map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
                )
            }
        }

        /// Waits (at most 20 s) until `count` messages arrived.
        func wait(for count: Int) async throws -> [(code: String, segments: [[String]])] {
            let deadline = ContinuousClock.now + .seconds(20)
            while received().count < count, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            return received()
        }

        func stop() {
            process.signal(SIGKILL)
            process.wait()
        }
    }

    static func configured(_ hub: inout TestHub) {
        hub.config.outboxBaseDelayMilliseconds = 50
        hub.config.outboxMaxDelayMilliseconds = 200
        hub.config.outboxMaxAttempts = 4
        hub.config.outboxPollIntervalMilliseconds = 50
    }

    func register(
        _ hub: HubClient, _ institution: String, _ name: String, kind: String, port: Int
    ) async throws {
        let registered = try await hub.call(
            .post, "/v1/institutions/\(institution)/hl7-applications", token: hub.admin,
            json: ["application": name, "facility": name, "host": "127.0.0.1", "port": port, "kind": kind])
        try #require(registered.status == 201, "\(registered.text)")
    }

    @Test func aRoutedExamIsOrderedAtTheCentersRISAndItsReportReachesTheClinicsHIS() async throws {
        let folder = try DIMSEDoorTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // The first message is answered AR (the RIS is busy): the outbox sends it again.
        let receiver = try await Receiver(folder: folder, refuse: 1, code: "AR")
        defer { receiver.stop() }
        var hub = try TestHub()
        defer { hub.remove() }
        Self.configured(&hub)
        let patient = residentID(sequence: "551")
        try await hub.run { hub in
            let people = try await Alliance.make(hub)
            try await register(hub, "wh-xiehe", "XIEHERIS", kind: "ris", port: receiver.port)
            try await register(hub, "hs-clinic", "HSHIS", kind: "his", port: receiver.port)
            let exam = try await hub.readExam(people, patient: patient)
            let messages = try await receiver.wait(for: 3)
            try #require(messages.count == 3, "\(messages)")
            // The order and its second sending, and the report, in the order they arrived.
            let orders = messages.filter { $0.segments[0][8] == "ORM^O01^ORM_O01" }
            #expect(orders.map(\.code) == ["AR", "AA"], "\(messages.map(\.code))")
            let order = try #require(orders.last).segments
            #expect(order[0][4] == "XIEHERIS", "\(order[0])")
            #expect(orders.first?.segments == order, "the same message sent again")
            let pid = try #require(order.first { $0[0] == "PID" })
            #expect(pid[3].contains("\(patient)^^^CN-RESIDENT&2.16.156.10011.1.3&ISO^NNCHN"), "\(pid)")
            let orc = try #require(order.first { $0[0] == "ORC" })
            #expect(orc[1] == "NW" && orc[2] == "\(exam.accession)^ALLIANCEHUB", "\(orc)")
            let obr = try #require(order.first { $0[0] == "OBR" })
            #expect(obr[4].hasPrefix("CT-CHEST^"), "\(obr)")

            let reports = messages.filter { $0.segments[0][8] == "ORU^R01^ORU_R01" }
            #expect(reports.map(\.code) == ["AA"])
            let report = try #require(reports.first).segments
            #expect(report[0][4] == "HSHIS", "\(report[0])")
            let reportOBR = try #require(report.first { $0[0] == "OBR" })
            #expect(reportOBR[2] == "\(exam.accession)^ALLIANCEHUB" && reportOBR[25] == "F", "\(reportOBR)")
            let observations = report.filter { $0[0] == "OBX" }
            #expect(observations.map { $0[2] } == ["FT", "FT"])
            #expect(observations.first?[5].contains("右肺下叶见一约8mm结节") == true, "\(observations)")
            #expect(observations.last?[5] == "右肺下叶磨玻璃结节，建议3个月复查。", "\(observations)")

            // The receiver wrote each message down before it answered: the outbox records the answers just after.
            var hl7: [[String: Any]] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while hl7.count < 2, ContinuousClock.now < deadline {
                hl7 = try await hub.get("/v1/outbox?state=delivered", token: hub.admin).items.filter {
                    ($0["destination"] as? String)?.hasPrefix("hl7:") == true
                }
                if hl7.count < 2 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(hl7.count == 2, "\(hl7)")
            #expect(hl7.contains { $0["attempts"] as? Int == 2 }, "the refused one took two attempts: \(hl7)")
        }
    }

    @Test func anOrderTheReceiverRefusesIsDeadForAnOperator() async throws {
        let folder = try DIMSEDoorTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let receiver = try await Receiver(folder: folder, refuse: 1, code: "AE")
        defer { receiver.stop() }
        var hub = try TestHub()
        defer { hub.remove() }
        Self.configured(&hub)
        try await hub.run { hub in
            let people = try await Alliance.make(hub)
            try await register(hub, "wh-xiehe", "XIEHERIS", kind: "ris", port: receiver.port)
            _ = try await hub.readExam(people, patient: residentID(sequence: "552"), until: "waiting")
            #expect(try await receiver.wait(for: 1).map(\.code) == ["AE"])
            let deadline = ContinuousClock.now + .seconds(20)
            var dead: [[String: Any]] = []
            while dead.isEmpty, ContinuousClock.now < deadline {
                dead = try await hub.get("/v1/outbox?state=dead", token: hub.admin).items
                if dead.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            let delivery = try #require(dead.first, "the refused order is dead")
            #expect((delivery["destination"] as? String)?.hasPrefix("hl7:hl7_") == true, "\(delivery)")
            #expect(delivery["kind"] as? String == "hl7.orm_o01" && delivery["attempts"] as? Int == 1, "\(delivery)")
            #expect((delivery["last_error"] as? String)?.hasPrefix("AE") == true, "\(delivery)")
            #expect(receiver.received().count == 1, "AE is not sent again")
        }
    }
}
