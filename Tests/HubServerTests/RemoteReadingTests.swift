import Foundation
import HTTPTypes
import HubCore
import Testing

@Suite struct RemoteReadingTests {
    /// 基层检查、上级诊断, end to end over real HTTP: submission with a DICOM attachment, routing, a resident's report
    /// with a critical value, the clinic's acknowledgement, an attending's signature, the final report back at the
    /// clinic, and a correction that keeps version 1.
    @Test func aChestCTFromSubmissionToACorrectedFinalReport() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let hub = try fastOutboxHub()
        defer { hub.remove() }
        try await hub.run { hub in
            let people = try await Alliance.make(hub, webhook: receiver.url)
            let patient = residentID()

            let submitted = try await hub.call(
                .post, "/v1/exams", token: people.clinicToken, json: Alliance.examBody(patientID: patient),
                headers: ["Idempotency-Key": "exam-1"])
            #expect(submitted.status == 201, "\(submitted.text)")
            let examId = try #require(submitted["id"])
            #expect(submitted["center_id"] == "wh-imaging")
            #expect(submitted["status"] == "received")
            #expect(submitted["business_status"] == "waiting")
            let accession = try #require(submitted["accession_number"])
            #expect(accession.count <= 16)

            let file = try ctFile(patientID: patient)
            let uploaded = try await hub.call(
                .post, "/v1/exams/\(examId)/attachments", token: people.clinicToken, raw: file,
                contentType: "application/dicom")
            #expect(uploaded.status == 201, "\(uploaded.text)")
            let sha = try #require(uploaded["sha256"])
            #expect((uploaded.json["dicom"] as? [String: String])?["patient_name"] == "张^三")
            #expect(uploaded.json["patient_mismatch"] == nil)
            let back = try await hub.get("/v1/exams/\(examId)/attachments/\(sha)", token: people.residentToken)
            #expect(back.body == file, "the bytes read back are the bytes stored")

            let worklist = try await hub.get("/v1/centers/wh-imaging/worklist", token: people.residentToken)
            #expect(worklist.items.compactMap { $0["id"] as? String } == [examId])

            let claimed = try await hub.call(.post, "/v1/exams/\(examId)/claim", token: people.residentToken)
            #expect(claimed["business_status"] == "claimed")
            #expect(claimed["status"] == "in-progress")
            let report: [String: Any] = [
                "findings": "右肺透亮度增高，肺纹理消失，右肺压缩约80%。", "conclusion": "右侧大量气胸，建议立即处理。",
                "critical_values": [["description": "大量气胸（肺压缩>50%）"]],
            ]
            let reported = try await hub.call(
                .post, "/v1/exams/\(examId)/report", token: people.residentToken, json: report)
            #expect(reported.status == 200, "\(reported.text)")
            #expect(reported["business_status"] == "awaiting-verification")

            // The clinic hears about the critical value at once, and acknowledges it by name with read-back.
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains { $0.headers[HTTPField.Name("X-Hub-Event")!] == "critical_value.notice" }
                })
            let open = try await hub.get("/v1/critical-values?acknowledged=false", token: people.clinicToken)
            let noticeId = try #require(open.items.first?["id"] as? String)
            let ack = try await hub.call(
                .post, "/v1/critical-values/\(noticeId)/ack", token: people.clinicToken,
                json: ["name": "王护士", "read_back": "右侧大量气胸，立即处理"])
            #expect(ack.status == 200, "\(ack.text)")
            #expect((ack.json["acknowledgement"] as? [String: Any])?["name"] as? String == "王护士")
            #expect(
                try await hub.get("/v1/critical-values?acknowledged=false", token: people.clinicToken).items.isEmpty)

            // 书写/审核: the resident cannot sign; the attending can.
            let residentSigns = try await hub.call(.post, "/v1/exams/\(examId)/verify", token: people.residentToken)
            #expect(residentSigns.status == 403)
            let verified = try await hub.call(.post, "/v1/exams/\(examId)/verify", token: people.attendingToken)
            #expect(verified.status == 200, "\(verified.text)")
            #expect(verified["status"] == "completed")
            #expect(verified["business_status"] == "final")
            let resultId = try #require(verified["result_id"])

            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains { $0.headers[HTTPField.Name("X-Hub-Event")!] == "exam.report.final" }
                })
            let atClinic = try await hub.get("/v1/exams/\(examId)", token: people.clinicToken)
            let reports = atClinic.json["reports"] as? [[String: Any]]
            #expect(reports?.last?["status"] as? String == "final")
            #expect((reports?.last?["verifier"] as? [String: Any])?["practitioner_id"] as? String == people.attendingId)

            let corrected = try await hub.call(
                .post, "/v1/exams/\(examId)/amend", token: people.secondAttendingToken,
                json: [
                    "findings": "右肺压缩约60%。", "conclusion": "右侧气胸。", "reason": "压缩比例测量更正", "correction": true,
                ])
            #expect(corrected.status == 200, "\(corrected.text)")
            let versions = corrected.json["reports"] as? [[String: Any]]
            #expect(versions?.map { $0["version"] as? Int } == [1, 2])
            #expect(versions?.map { $0["status"] as? String } == ["final", "corrected"])
            #expect(versions?.first?["conclusion"] as? String == "右侧大量气胸，建议立即处理。", "version 1 stays readable")
            #expect(corrected["result_id"] == resultId, "the correction updates the same result")
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains { $0.headers[HTTPField.Name("X-Hub-Event")!] == "exam.report.corrected" }
                })

            let replay = try await hub.call(
                .post, "/v1/exams", token: people.clinicToken, json: Alliance.examBody(patientID: patient),
                headers: ["Idempotency-Key": "exam-1"])
            #expect(replay["id"] == examId, "a retried submission creates nothing twice")
        }
    }
}
