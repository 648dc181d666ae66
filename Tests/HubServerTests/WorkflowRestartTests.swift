import CurlHTTP
import DICOM
import Foundation
import HubCore
import HubStore
import Testing

@Suite struct WorkflowRestartTests {
    /// What the first run leaves for the second to check.
    struct Midway: Sendable {
        var people: Alliance
        var examId: String
        var exam: Data
        var noticeId: String
        var notice: Data
        var attachment: Data
        var sha256: String
        var auditRecords: Int
    }

    /// The hub stops between the report and its signature; after the restart nothing is missing: the exam and its
    /// draft, the critical-value notice and its deadline, the attachment's bytes, and an unbroken audit chain that
    /// the second run extends.
    @Test func aRestartBetweenReportAndSignatureLosesNothing() async throws {
        let hub = try TestHub()
        defer { hub.remove() }
        let findings = "右肺透亮度增高，肺纹理消失，右肺压缩约80%。"
        let critical = "大量气胸（肺压缩>50%）"
        let midway = try await hub.run { hub in
            let people = try await Alliance.make(hub)
            let patient = residentID(birth: "19620808", sequence: "318")
            let submitted = try await hub.call(
                .post, "/v1/exams", token: people.clinicToken,
                json: Alliance.examBody(patientID: patient, priority: "stat"))
            try #require(submitted.status == 201, "\(submitted.text)")
            let examId = try #require(submitted["id"])
            let file = try ctFile(patientID: patient)
            let uploaded = try await hub.call(
                .post, "/v1/exams/\(examId)/attachments", token: people.clinicToken, raw: file,
                contentType: "application/dicom")
            try #require(uploaded.status == 201, "\(uploaded.text)")
            let claimed = try await hub.call(.post, "/v1/exams/\(examId)/claim", token: people.residentToken)
            try #require(claimed.status == 200, "\(claimed.text)")
            let reported = try await hub.call(
                .post, "/v1/exams/\(examId)/report", token: people.residentToken,
                json: [
                    "findings": findings, "conclusion": "右侧大量气胸，建议立即处理。",
                    "critical_values": [["description": critical]],
                ])
            try #require(reported.status == 200, "\(reported.text)")
            let notices = try await hub.get("/v1/critical-values?exam_id=\(examId)", token: people.clinicToken)
            let notice = try #require(notices.items.first)
            let audit = try await hub.database.read { try AuditLog.verify($0) }
            #expect(audit.isIntact)
            return Midway(
                people: people, examId: examId, exam: reported.body, noticeId: try #require(notice["id"] as? String),
                notice: try JSONSerialization.data(withJSONObject: notice), attachment: file,
                sha256: try #require(uploaded["sha256"]), auditRecords: audit.checked)
        }

        try await hub.run { hub in
            let people = midway.people
            let before = try #require(try JSONSerialization.jsonObject(with: midway.exam) as? [String: Any])
            let after = try await hub.get("/v1/exams/\(midway.examId)", token: people.attendingToken)
            #expect(after.status == 200, "\(after.text)")
            #expect(after["business_status"] == "awaiting-verification")
            #expect(after["accession_number"] == before["accession_number"] as? String)
            #expect(after["center_id"] == "wh-imaging")
            let draft = try #require((after.json["reports"] as? [[String: Any]])?.first)
            let draftBefore = try #require((before["reports"] as? [[String: Any]])?.first)
            for key in ["findings", "conclusion", "status", "authored_at"] {
                #expect(draft[key] as? String == draftBefore[key] as? String, "\(key)")
            }
            #expect(draft["status"] as? String == "partial")
            #expect(
                (after.json["milestones"] as? [String: Any])?["reported_at"] as? String
                    == (before["milestones"] as? [String: Any])?["reported_at"] as? String)

            let noticeBefore = try #require(
                try JSONSerialization.jsonObject(with: midway.notice) as? [String: Any])
            let notice = try await hub.get("/v1/critical-values/\(midway.noticeId)", token: people.clinicToken)
            #expect(notice.status == 200)
            #expect(notice["exam_id"] == midway.examId)
            #expect(notice["ack_due_at"] == noticeBefore["ack_due_at"] as? String)
            #expect(notice["flagged_at"] == noticeBefore["flagged_at"] as? String)
            #expect(notice.json["acknowledgement"] == nil)
            #expect(
                (notice.json["findings"] as? [[String: Any]])?.first?["description"] as? String == critical)

            let bytes = try await hub.get(
                "/v1/exams/\(midway.examId)/attachments/\(midway.sha256)", token: people.residentToken)
            #expect(bytes.status == 200)
            #expect(bytes.body == midway.attachment)

            // The work carries on where it stopped.
            let verified = try await hub.call(
                .post, "/v1/exams/\(midway.examId)/verify", token: people.attendingToken)
            #expect(verified.status == 200, "\(verified.text)")
            #expect(verified["business_status"] == "final")
            #expect(verified["result_id"] != nil)
            let final = try #require((verified.json["reports"] as? [[String: Any]])?.last)
            #expect(final["status"] as? String == "final")
            #expect(final["findings"] as? String == findings)
            #expect(final["authored_at"] as? String == draftBefore["authored_at"] as? String)
            #expect((final["verifier"] as? [String: Any])?["practitioner_id"] as? String == people.attendingId)
            let ack = try await hub.call(
                .post, "/v1/critical-values/\(midway.noticeId)/ack", token: people.clinicToken,
                json: ["name": "王护士", "read_back": "右侧大量气胸，立即处理"])
            #expect(ack.status == 200, "\(ack.text)")

            let audit = try await hub.database.read { try AuditLog.verify($0) }
            #expect(audit.isIntact, "\(audit.reason ?? "")")
            #expect(audit.checked > midway.auditRecords, "the second run extends the same chain")
            let actions = try await hub.database.read {
                try AuditLog.records($0, targetId: midway.examId, after: nil, limit: 500).items.map(\.action)
            }
            let steps = actions.filter { ["exam.submit", "exam.claim", "exam.report", "exam.verify"].contains($0) }
            #expect(steps == ["exam.submit", "exam.claim", "exam.report", "exam.verify"])
        }
    }
}

extension WorkflowRestartTests {
    /// A restart starts with a stop: SIGTERM (here the end of `run`) must not wait for the workflow monitor to wake
    /// from its sleep between two looks at the deadlines.
    @Test func stoppingTheHubDoesNotWaitForTheMonitorsNextLook() async throws {
        var hub = try TestHub()
        // Far longer than a stop takes even on a machine busy with the rest of the suite: a stop that waited for the
        // monitor's next look would take about this long.
        hub.config.monitorIntervalMilliseconds = 120_000
        defer { hub.remove() }
        let bodyEnded = try await hub.run { hub async throws -> ContinuousClock.Instant in
            #expect(try await hub.get("/readyz").status == 200)
            return ContinuousClock.now
        }
        let stopping = ContinuousClock.now - bodyEnded
        #expect(stopping < .seconds(60), "stopping the hub took \(stopping) with reading.monitor_interval_ms 120000")
    }
}

/// A 2 GiB attachment streamed to a real `hubd`: the upload completes and the daemon's memory stays flat. Serialized,
/// and alone in its suite, so that two such uploads never run at once on one machine.
@Suite(.serialized) struct LargeAttachmentTests {
    static let size: UInt64 = 2 << 30
    static let peakLimitBytes = 200_000_000

    /// Peak resident set size of a process, from `VmHWM` in `/proc/<pid>/status`.
    static func peakRSS(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        let kilobytes = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        return kilobytes * 1024
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/status")))
    func aTwoGigabyteUploadStreamsInFlatMemory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hubd-large-\(UUID().uuidString)")
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("large-\(UUID().uuidString).pdf")
        defer {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(at: source)
        }
        // A sparse file: "%PDF-" and then zeros up to 2 GiB, taking no disk space itself.
        #expect(FileManager.default.createFile(atPath: source.path, contents: Data("%PDF-1.7\n".utf8)))
        let handle = try FileHandle(forWritingTo: source)
        try handle.truncate(atOffset: Self.size)
        try handle.close()

        let client = CurlHTTPClient()
        let daemon = try Daemon(dataDir: directory)
        try await daemon.start(client: client)
        let admin = try daemon.adminToken
        func created(
            _ method: String, _ path: String, _ token: String, _ json: Any? = nil
        ) async throws -> [String:
            Any]
        {
            let (status, body) = try await daemon.call(client, method, path, token: token, json: json)
            try #require(status == 201, "\(method) \(path): \(status) \(body)")
            return body
        }
        for (id, level) in [("wh-xiehe", "tertiary"), ("hs-clinic", "primary")] {
            _ = try await created(
                "POST", "/v1/institutions", admin,
                ["id": id, "name": id, "level": level, "region": "420102", "alliances": ["wh-east"]])
        }
        _ = try await created(
            "POST", "/v1/centers", admin,
            [
                "id": "wh-imaging", "name": "影像中心", "kind": "imaging", "institution_id": "wh-xiehe",
                "items": ["CT-CHEST"], "daily_capacity": 100,
                "qualifications": [
                    [
                        "type": "imaging_qc", "items": ["CT-CHEST"], "valid_from": "2026-01-01",
                        "valid_to": "2099-12-31", "issuer": "省影像质控中心",
                    ]
                ],
            ])
        let staff = try await created(
            "POST", "/v1/institutions/hs-clinic/practitioners", admin,
            ["name": "护士", "title": "resident", "roles": ["clinic"]])
        let staffId = try #require(staff["id"] as? String)
        let issued = try await created("POST", "/v1/practitioners/\(staffId)/tokens", admin)
        let clinicToken = try #require(issued["token"] as? String)
        let exam = try await created(
            "POST", "/v1/exams", clinicToken, Alliance.examBody(patientID: residentID(), priority: "routine"))
        let examId = try #require(exam["id"] as? String)
        let pid = try #require(daemon.pid)
        let before = try Self.peakRSS(pid)

        let started = ContinuousClock.now
        let reply = try await client.execute(
            CurlRequest(
                method: "POST", url: daemon.baseURL + "/v1/exams/\(examId)/attachments",
                headers: [("Authorization", "Bearer \(clinicToken)"), ("Content-Type", "application/pdf")],
                body: .file(path: source.path), timeout: .seconds(1800)))
        let elapsed = ContinuousClock.now - started
        let peak = try Self.peakRSS(pid)
        await daemon.stop()
        await client.shutdown()

        #expect(reply.status == 201, "\(String(decoding: reply.body, as: UTF8.self))")
        let body = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
        #expect((body["size"] as? NSNumber)?.uint64Value == Self.size)
        let sha256 = try #require(body["sha256"] as? String)
        let blob = directory.appendingPathComponent(
            "blobs/\(sha256.prefix(2))/\(sha256.dropFirst(2).prefix(2))/\(sha256)")
        let stored = try FileManager.default.attributesOfItem(atPath: blob.path)
        #expect((stored[.size] as? NSNumber)?.uint64Value == Self.size, "the whole file is in the blob store")
        #expect(
            peak < Self.peakLimitBytes,
            "peak RSS \(peak / 1_000_000) MB (before the upload \(before / 1_000_000) MB), upload took \(elapsed)")
    }
}

extension LargeAttachmentTests {
    /// A 1 GiB instance stored through STOW-RS to a real `hubd`: the multipart body is read part by part into the
    /// blob store, never whole.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/status")))
    func aOneGigabyteInstanceStoredThroughSTOWStreamsInFlatMemory() async throws {
        let pixels: UInt64 = 1 << 30
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hubd-stow-\(UUID().uuidString)")
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("stow-\(UUID().uuidString).bin")
        defer {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(at: source)
        }
        // One part: a CT header, then a pixel data element of 1 GiB of zeros (a sparse hole in the file).
        let header = try DICOMWriter.write([
            .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2"),
            .string(.sopInstanceUID, .UI, "1.2.826.0.1.3680043.10.9.1"),
            .string(.studyInstanceUID, .UI, "1.2.826.0.1.3680043.10.9"),
            .string(.seriesInstanceUID, .UI, "1.2.826.0.1.3680043.10.9.2"),
            .string(.modality, .CS, "CT"), .string(.patientID, .LO, "HS-0042"),
        ])
        var prefix = Data("--big\r\nContent-Type: application/dicom\r\n\r\n".utf8) + Data(header)
        prefix += Data([0xE0, 0x7F, 0x10, 0x00]) + Data("OW".utf8) + Data([0, 0])
        withUnsafeBytes(of: UInt32(pixels).littleEndian) { prefix += Data($0) }
        #expect(FileManager.default.createFile(atPath: source.path, contents: prefix))
        let handle = try FileHandle(forWritingTo: source)
        try handle.seek(toOffset: UInt64(prefix.count) + pixels)
        try handle.write(contentsOf: Data("\r\n--big--\r\n".utf8))
        try handle.close()

        let client = CurlHTTPClient()
        let daemon = try Daemon(dataDir: directory)
        try await daemon.start(client: client)
        let hub = try DaemonHub(daemon, client: client)
        try await hub.institution("hs-clinic", level: "primary", region: "420115")
        let (_, clinic) = try await hub.practitioner(at: "hs-clinic", title: "resident", roles: ["clinic"])
        let pid = try #require(daemon.pid)
        let before = try Self.peakRSS(pid)
        let reply = try await client.execute(
            CurlRequest(
                method: "POST", url: daemon.baseURL + "/dicomweb/studies",
                headers: [
                    ("Authorization", "Bearer \(clinic)"),
                    ("Content-Type", "multipart/related; type=\"application/dicom\"; boundary=big"),
                ],
                body: .file(path: source.path), timeout: .seconds(1800)))
        let peak = try Self.peakRSS(pid)
        let found = try await hub.get("/dicomweb/instances?includefield=00280008", token: clinic)
        await daemon.stop()
        await client.shutdown()
        #expect(reply.status == 200, "\(String(decoding: reply.body, as: UTF8.self))")
        #expect(found.text.contains("1.2.826.0.1.3680043.10.9.1"))
        let blobs = directory.appendingPathComponent("blobs").path
        let stored = try FileManager.default.subpathsOfDirectory(atPath: blobs).filter {
            !$0.hasPrefix("tmp") && $0.split(separator: "/").count == 3
        }
        #expect(stored.count == 1, "the instance is one file of the blob store: \(stored)")
        let size = try FileManager.default.attributesOfItem(atPath: blobs + "/" + (stored.first ?? ""))[.size] as? Int
        #expect(size.map(UInt64.init) == UInt64(header.count + 12) + pixels)
        #expect(
            peak < Self.peakLimitBytes, "peak RSS \(peak / 1_000_000) MB (before the upload \(before / 1_000_000) MB)")
    }
}
