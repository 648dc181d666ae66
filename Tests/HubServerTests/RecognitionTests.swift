import Foundation
import HubCore
import Synchronization
import Testing

/// A clock tests can move.
final class TestClock: Sendable {
    private let now: Mutex<Timestamp>
    init(_ start: Timestamp) { now = Mutex(start) }
    func read() -> Timestamp { now.withLock { $0 } }
    func set(_ time: Timestamp) { now.withLock { $0 = time } }
    func advance(days: Int = 0, minutes: Int = 0) {
        now.withLock { $0 = $0.adding(milliseconds: Int64(days) * 86_400_000 + Int64(minutes) * 60_000) }
    }
}

/// A lab in Wuhan with an EQA pass for the year, a clinician at a second hospital, and a lab technician.
struct RecognitionSetup {
    var lab: String
    var clinician: String
    var auditor: String

    static func make(
        _ hub: some HubAPI, eqaFrom: String = "2026-01-01", eqaTo: String = "2027-12-31"
    ) async throws -> RecognitionSetup {
        try await hub.institution("wh-lab-host", level: "tertiary", region: "420102", alliances: ["wh-east"])
        try await hub.institution("wh-second", level: "secondary", region: "420106", alliances: ["wh-east"])
        let center = try await hub.call(
            .post, "/v1/centers", token: hub.admin,
            json: hub.centerBody(
                id: "wh-lab", institution: "wh-lab-host", kind: "lab", items: ["K", "GLU", "HBA1C", "NA"],
                validFrom: eqaFrom, validTo: eqaTo))
        try #require(center.status == 201, "\(center.text)")
        let (_, lab) = try await hub.practitioner(at: "wh-lab-host", title: "attending", roles: ["reader", "verifier"])
        let (_, clinician) = try await hub.practitioner(at: "wh-second", title: "attending", roles: ["clinician"])
        let (_, auditor) = try await hub.practitioner(at: "wh-second", title: "attending", roles: ["auditor"])
        return RecognitionSetup(lab: lab, clinician: clinician, auditor: auditor)
    }

    static func result(patient: String, item: String, performedAt: Timestamp, status: String = "final") -> [String: Any]
    {
        [
            "patient": ["identifiers": [["system": "cn-resident-id", "value": patient]], "name": "李四"],
            "item_code": item, "performed_at": performedAt.description, "report_status": status,
            "values": [["value": "4.1", "unit": "mmol/L", "reference_range": "3.5-5.3", "flag": "N"]],
            "conclusion": "正常",
        ]
    }
}

@Suite struct RecognitionTests {
    static let start = Timestamp(rfc3339: "2026-06-01T08:00:00+08:00")!

    @Test func aCheckJudgesEveryPriorResultAndIsStoredWithItsAnswer() async throws {
        let clock = TestClock(Self.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let patient = residentID(birth: "19700512", sequence: "021")
            for (item, daysAgo, status) in [
                ("K", 3, "final"), ("K", 8, "final"), ("K", 1, "preliminary"), ("HBA1C", 45, "final"),
            ] {
                let reply = try await hub.call(
                    .post, "/v1/results", token: setup.lab,
                    json: RecognitionSetup.result(
                        patient: patient, item: item, performedAt: Self.start.adding(days: -daysAgo), status: status))
                #expect(reply.status == 201, "\(reply.text)")
                #expect((reply.json["recognition"] as? [String: Any])?["catalog_version"] as? String == "2026.1")
                #expect((reply.json["recognition"] as? [String: Any])?["qualification"] != nil)
            }
            // Asked by LOINC: the equivalent code finds the catalog item K.
            let check = try await hub.call(
                .post, "/v1/recognition/checks", token: setup.clinician,
                json: ["patient": "cn-resident-id|\(patient)", "item_code": "2823-3", "emergency": false])
            #expect(check.status == 201, "\(check.text)")
            #expect(check["item_code"] == "K")
            let candidates = try #require(check.json["candidates"] as? [[String: Any]])
            #expect(candidates.count == 3)
            #expect(candidates.map { $0["recognizable"] as? Bool } == [true, false, false], "recognizable first")
            let reasons = candidates.map {
                ($0["reasons"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            }
            #expect(reasons[0].isEmpty)
            #expect(Set(reasons.dropFirst()) == [["report_not_final"], ["expired"]])
            #expect(candidates[0]["mark"] as? String == "HR")
            #expect(candidates.allSatisfy { $0["hub_id"] as? String == "hub-local" })
            let expired = candidates.first {
                ($0["reasons"] as? [[String: Any]])?.first?["code"] as? String == "expired"
            }
            #expect((expired?["reasons"] as? [[String: Any]])?.first?["age_days"] as? Int == 8)

            // A later catalog version with a shorter window does not change the stored answer.
            let stricter: [String: Any] = [
                "version": "2026.2", "effective_from": "2026-05-01",
                "items": [
                    [
                        "code": "K", "name": "钾", "kind": "lab", "category": "lab", "validity_days": 1, "scope": "city",
                        "price": 5, "equivalent_codes": ["2823-3"],
                    ]
                ],
            ]
            #expect(try await hub.call(.post, "/v1/catalog/versions", token: hub.admin, json: stricter).status == 201)
            let again = try await hub.get("/v1/recognition/checks/\(check["id"]!)", token: setup.clinician)
            #expect(again.status == 200)
            #expect(again.json["candidates"] as? NSArray == check.json["candidates"] as? NSArray)
            #expect(again["catalog_version"] == "2026.1")
            let fresh = try await hub.call(
                .post, "/v1/recognition/checks", token: setup.clinician, json: ["patient": patient, "item_code": "K"])
            #expect(fresh["catalog_version"] == "2026.2")
            #expect(
                (fresh.json["candidates"] as? [[String: Any]])?.contains { $0["recognizable"] as? Bool == true }
                    == false)
        }
    }

    @Test func decisionsFollowTheNationalReasonsAndAreAppendOnly() async throws {
        let clock = TestClock(Self.start)
        var hub = try TestHub()
        hub.config.extraRetestReasons = [7: "the patient asks"]
        defer { hub.remove() }
        try await hub.run(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let patient = residentID(sequence: "033")
            let registered = try await hub.call(
                .post, "/v1/results", token: setup.lab,
                json: RecognitionSetup.result(
                    patient: patient, item: "HBA1C", performedAt: Self.start.adding(days: -10)))
            let resultId = try #require(registered["id"])
            func check(emergency: Bool = false) async throws -> String {
                try #require(
                    try await hub.call(
                        .post, "/v1/recognition/checks", token: setup.clinician,
                        json: ["patient": patient, "item_code": "HBA1C", "emergency": emergency])["id"])
            }
            let c1 = try await check()
            let noReason = try await hub.call(
                .post, "/v1/recognition/decisions", token: setup.clinician,
                json: ["check_id": c1, "decision": "retest"])
            #expect(noReason.status == 422)
            #expect(noReason["field"] == "reason_code")
            let otherNoNote = try await hub.call(
                .post, "/v1/recognition/decisions", token: setup.clinician,
                json: ["check_id": c1, "decision": "retest", "reason_code": 6])
            #expect(otherNoNote["field"] == "note")
            let unknownReason = try await hub.call(
                .post, "/v1/recognition/decisions", token: setup.clinician,
                json: ["check_id": c1, "decision": "retest", "reason_code": 9])
            #expect(unknownReason["field"] == "reason_code")
            let adopted = try await hub.call(
                .post, "/v1/recognition/decisions", token: setup.clinician,
                json: ["check_id": c1, "decision": "adopt", "result_id": resultId, "department": "内分泌科"])
            #expect(adopted.status == 201, "\(adopted.text)")
            #expect(adopted.json["price"] as? Double == 60)
            #expect(adopted.json["cross_institution"] as? Bool == true)
            let twice = try await hub.call(
                .post, "/v1/recognition/decisions", token: setup.clinician,
                json: ["check_id": c1, "decision": "retest", "reason_code": 1])
            #expect(twice.status == 409)

            let c2 = try await check(emergency: true)
            let emergency = try await hub.call(
                .post, "/v1/recognition/decisions", token: setup.clinician,
                json: ["check_id": c2, "decision": "retest"])
            #expect(emergency.status == 201, "an emergency is never blocked from re-testing")
            #expect(emergency.json["reason_code"] as? Int == 4)
            let c3 = try await check()
            let provincial = try await hub.call(
                .post, "/v1/recognition/decisions", token: setup.clinician,
                json: ["check_id": c3, "decision": "retest", "reason_code": 7])
            #expect(provincial.status == 201)
            let auditorCannot = try await hub.call(
                .post, "/v1/recognition/decisions", token: setup.auditor,
                json: ["check_id": c3, "decision": "retest", "reason_code": 1])
            #expect(auditorCannot.status == 403)
        }
    }

    @Test func aLabWhosePassEndedTheDayBeforeIsNotRecognized() async throws {
        let clock = TestClock(Self.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub, eqaFrom: "2025-06-01", eqaTo: "2026-05-28")
            let patient = residentID(sequence: "044")
            _ = try await hub.call(
                .post, "/v1/results", token: setup.lab,
                json: RecognitionSetup.result(
                    patient: patient, item: "GLU", performedAt: Timestamp(rfc3339: "2026-05-29T09:00:00+08:00")!))
            let check = try await hub.call(
                .post, "/v1/recognition/checks", token: setup.clinician, json: ["patient": patient, "item_code": "GLU"])
            let reasons = ((check.json["candidates"] as? [[String: Any]])?.first?["reasons"] as? [[String: Any]])?
                .compactMap { $0["code"] as? String }
            #expect(reasons == ["qualification_lapsed"])
        }
    }

    @Test func correctionsAddVersionsAndEnteredInErrorWithdraws() async throws {
        let clock = TestClock(Self.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let patient = residentID(sequence: "055")
            let id = try #require(
                try await hub.call(
                    .post, "/v1/results", token: setup.lab,
                    json: RecognitionSetup.result(
                        patient: patient, item: "NA", performedAt: Self.start.adding(days: -1)))["id"])
            let corrected = try await hub.call(
                .post, "/v1/results/\(id)/corrections", token: setup.lab,
                json: ["values": [["value": "139", "unit": "mmol/L"]], "reason": "录入错误"])
            #expect(corrected.status == 200, "\(corrected.text)")
            #expect(corrected.json["report_version"] as? Int == 2)
            let withdrawn = try await hub.call(
                .post, "/v1/results/\(id)/corrections", token: setup.lab,
                json: ["report_status": "entered-in-error", "reason": "标本错误"])
            #expect(withdrawn.json["report_status"] as? String == "entered-in-error")
            let shown = try await hub.get("/v1/results/\(id)", token: setup.clinician)
            #expect(shown.json["previous_versions"] as? [Int] == [1, 2])
            let check = try await hub.call(
                .post, "/v1/recognition/checks", token: setup.clinician, json: ["patient": patient, "item_code": "NA"])
            let reasons = ((check.json["candidates"] as? [[String: Any]])?.first?["reasons"] as? [[String: Any]])?
                .compactMap { $0["code"] as? String }
            #expect(reasons == ["withdrawn"])
            #expect(
                try await hub.call(
                    .post, "/v1/results/\(id)/corrections", token: setup.clinician, json: ["reason": "x"]
                ).status == 403)
        }
    }
}
