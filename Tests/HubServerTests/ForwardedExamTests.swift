import Crypto
import Foundation
import HTTPTypes
import HubConfig
import HubCore
import HubServer
import HubStore
import Testing

/// Exams forwarded to a peer hub's center: read and signed there, the report back at the submitting clinic.
@Suite struct ForwardedExamTests {
    static let county = Federation.Member(id: "hub-county", region: "420115")
    static let city = Federation.Member(id: "hub-city", region: "420100")

    static func fast(_ config: inout HubConfiguration) {
        config.outboxBaseDelayMilliseconds = 50
        config.outboxMaxDelayMilliseconds = 200
        config.outboxPollIntervalMilliseconds = 50
    }

    /// A township clinic at the county hub (no imaging center there) and the city hub's imaging center.
    static func setUp(
        _ county: HubClient, _ city: HubClient, webhook: String
    ) async throws -> (
        clinic: String, city: Alliance
    ) {
        try await county.institution("hs-clinic", level: "primary", region: "420115", alliances: ["county"])
        let (_, clinic) = try await county.practitioner(at: "hs-clinic", title: "resident", roles: ["clinic"])
        try await county.registerWebhook("hs-clinic", url: webhook)
        let people = try await Alliance.make(city)
        let refreshed = try await county.call(.post, "/v1/peers/hub-city/refresh", token: county.admin)
        try #require(refreshed.json["centers"] as? Int == 1, "\(refreshed.text)")
        return (clinic, people)
    }

    @Test func anExamWithNoLocalCenterIsReadAtThePeerAndItsReportReachesTheClinic() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        try await Federation.run(
            [Self.county, Self.city], links: [("hub-county", "hub-city"), ("hub-city", "hub-county")],
            configure: Self.fast
        ) { hubs in
            let (county, city) = (hubs[0], hubs[1])
            let (clinic, people) = try await Self.setUp(county, city, webhook: receiver.url)
            let patient = residentID(region: "420115", birth: "19800101", sequence: "051")
            let submitted = try await county.call(
                .post, "/v1/exams", token: clinic, json: Alliance.examBody(patientID: patient))
            #expect(submitted.status == 201, "\(submitted.text)")
            let examId = try #require(submitted["id"])
            #expect(submitted["center_id"] == "wh-imaging")
            #expect((submitted.json["forward"] as? [String: Any])?["hub_id"] as? String == "hub-city")
            let file = try ctFile(patientID: patient)
            let uploaded = try await county.call(
                .post, "/v1/exams/\(examId)/attachments", token: clinic, raw: file, contentType: "application/dicom")
            #expect(uploaded.status == 201, "\(uploaded.text)")
            // A second image through STOW-RS: small, so kept in the county hub's database rather than as a file.
            let stowed = try ctFile(patientID: patient, sopInstance: "1.2.826.0.1.3680043.10.1.2.1")
            let stored = try await county.call(
                .post, "/dicomweb/studies?exam_id=\(examId)", token: clinic, raw: Multipart.body([stowed]),
                contentType: Multipart.contentType)
            #expect(stored.status == 200, "\(stored.text)")
            let stowedSHA = SHA256.hash(data: stowed).withUnsafeBytes(Hex.encode)
            let inline = try await county.database.read { try InlineBlobs.bytes($0, sha256: stowedSHA) }
            #expect(inline == Array(stowed))
            #expect(!FileManager.default.fileExists(atPath: county.env.blobs.path(for: stowedSHA)))

            // The exam and its images arrive at the city hub's worklist, as a local exam.
            #expect(
                try await TestReceiver.eventually {
                    let list = try await city.get("/v1/centers/wh-imaging/worklist", token: people.residentToken)
                    guard let id = list.items.first?["id"] as? String else { return false }
                    let attachments = try await city.get("/v1/exams/\(id)/attachments", token: people.residentToken)
                    return attachments.items.count == 2
                })
            let worklist = try await city.get("/v1/centers/wh-imaging/worklist", token: people.residentToken)
            let readId = try #require(worklist.items.first?["id"] as? String)
            let atCity = try await city.get("/v1/exams/\(readId)", token: people.residentToken)
            #expect((atCity.json["origin"] as? [String: Any])?["exam_id"] as? String == examId)
            #expect(atCity["accession_number"] == submitted["accession_number"])
            let image = try await city.get(
                "/v1/exams/\(readId)/attachments/\(try #require(uploaded["sha256"]))", token: people.residentToken)
            #expect(image.body == file, "the image arrives byte for byte")
            let second = try await city.get("/v1/exams/\(readId)/attachments/\(stowedSHA)", token: people.residentToken)
            #expect(second.body == stowed, "the image kept in the database arrives byte for byte")

            // Read, reported with a critical value, and signed at the city hub.
            #expect(
                try await city.call(.post, "/v1/exams/\(readId)/claim", token: people.residentToken).status == 200)
            let reported = try await city.call(
                .post, "/v1/exams/\(readId)/report", token: people.residentToken,
                json: [
                    "findings": "右肺透亮度增高，右肺压缩约80%。", "conclusion": "右侧大量气胸。",
                    "critical_values": [["description": "大量气胸"]],
                ])
            #expect(reported.status == 200, "\(reported.text)")

            // The critical value reaches the clinic through its own hub, and its acknowledgement goes back.
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains { $0.headers[HTTPField.Name("X-Hub-Event")!] == "critical_value.notice" }
                })
            let open = try await county.get("/v1/critical-values?acknowledged=false", token: clinic)
            let noticeId = try #require(open.items.first?["id"] as? String)
            let ack = try await county.call(
                .post, "/v1/critical-values/\(noticeId)/ack", token: clinic,
                json: ["name": "王护士", "read_back": "右侧大量气胸"])
            #expect(ack.status == 200, "\(ack.text)")
            #expect(
                try await TestReceiver.eventually {
                    let notice = try await city.get("/v1/critical-values/\(noticeId)", token: people.residentToken)
                    return (notice.json["acknowledgement"] as? [String: Any])?["name"] as? String == "王护士"
                })

            let verified = try await city.call(.post, "/v1/exams/\(readId)/verify", token: people.attendingToken)
            #expect(verified.status == 200, "\(verified.text)")
            let resultId = try #require(verified["result_id"])

            // The signed report arrives at the clinic and at its hub's record of the exam.
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains { $0.headers[HTTPField.Name("X-Hub-Event")!] == "exam.report.final" }
                })
            let final = try #require(
                receiver.all.first { $0.headers[HTTPField.Name("X-Hub-Event")!] == "exam.report.final" })
            let notice = try #require(try JSONSerialization.jsonObject(with: final.body) as? [String: Any])
            #expect(notice["exam_id"] as? String == examId)
            #expect(notice["reading_hub_id"] as? String == "hub-city")
            #expect(notice["result_id"] as? String == resultId)
            #expect((notice["report"] as? [String: Any])?["conclusion"] as? String == "右侧大量气胸。")
            let atCounty = try await county.get("/v1/exams/\(examId)", token: clinic)
            #expect(atCounty["business_status"] == "final")
            #expect(atCounty["result_id"] == resultId)
            #expect((atCounty.json["reports"] as? [[String: Any]])?.last?["status"] as? String == "final")
            // The result lives at the hub that read it, and the clinic's hub fetches it from there.
            let result = try await county.get("/v1/results/\(resultId)?hub_id=hub-city", token: clinic)
            #expect(result.status == 200, "\(result.text)")
            #expect(result["hub_id"] == "hub-city")
        }
        await receiver.stop()
    }

    @Test func aRetriedForwardNeverCreatesASecondExamAndConsentIsCheckedAtTheReceiver() async throws {
        try await Federation.run(
            [Self.county, Self.city], links: [("hub-county", "hub-city"), ("hub-city", "hub-county")],
            configure: Self.fast
        ) { hubs in
            let (county, city) = (hubs[0], hubs[1])
            _ = try await Self.setUp(county, city, webhook: "http://127.0.0.1:9/hook")
            let peer = try #require(try await county.database.read { try PeerStore.peer($0, id: "hub-city") })
            let patient = residentID(region: "420115", birth: "19750505", sequence: "062")
            var message: [String: Any] = [
                "origin_exam_id": "exm_county_1", "accession_number": "A2611220000TEST",
                "clinic": [
                    "id": "hs-clinic", "name": "卫生院", "level": "primary", "region": "420115", "alliances": ["county"],
                ],
                "submitted_by": ["practitioner_id": "prc_1", "name": "李医生"],
                "patient": ["identifiers": [["system": "cn-resident-id", "value": patient]], "name": "张三"],
                "item_code": "CT-CHEST", "priority": "routine", "center_id": "wh-imaging",
                "consent": ["given": true, "method": "written", "recorded_at": Timestamp.now().description],
                "submitted_at": Timestamp.now().description,
            ]
            func send() async throws -> (Int, [String: Any]) {
                let reply = try await county.env.peerClient.send(
                    peer, method: "POST", path: "/federation/v1/exams",
                    body: try JSONSerialization.data(withJSONObject: message))
                return (
                    reply.status, (try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]) ?? [:]
                )
            }
            let (first, created) = try await send()
            #expect(first == 201, "\(created)")
            let (again, repeated) = try await send()
            #expect(again == 200)
            #expect(repeated["exam_id"] as? String == created["exam_id"] as? String)
            let count = try await city.database.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM exams WHERE origin_exam_id = 'exm_county_1'") ?? 0
            }
            #expect(count == 1)

            // Without the patient's consent the peer refuses, naming the field.
            message["origin_exam_id"] = "exm_county_2"
            message["consent"] = ["given": false, "recorded_at": Timestamp.now().description]
            let (refused, problem) = try await send()
            #expect(refused == 422)
            #expect(
                ((problem["errors"] as? [[String: Any]]) ?? []).contains { $0["field"] as? String == "consent.given" },
                "\(problem)")
            // A center the peer does not have is refused too.
            message["consent"] = ["given": true, "recorded_at": Timestamp.now().description]
            message["center_id"] = "elsewhere"
            #expect(try await send().0 == 422)
        }
    }
}
