import CurlHTTP
import DICOM
import Foundation
import GRDB
import HTTPTypes
import HubCore
import HubStore
import TestSupport
import Testing

/// Shortcuts for driving the reading workflow over HTTP.
private enum Desk {
    static var report: [String: Any] {
        [
            "findings": "右肺上叶见一枚实性结节，直径约8mm，边缘光整。", "conclusion": "右肺上叶结节，建议3个月后复查。",
        ]
    }
    static var criticalReport: [String: Any] {
        [
            "findings": "右肺透亮度增高，肺纹理消失，右肺压缩约80%。", "conclusion": "右侧大量气胸，建议立即处理。",
            "critical_values": [["description": "大量气胸（肺压缩>50%）"]],
        ]
    }

    static func submit(
        _ hub: HubClient, _ token: String, patient: String = residentID(), item: String = "CT-CHEST",
        priority: String = "urgent", center: String? = nil
    ) async throws -> Reply {
        var body = Alliance.examBody(patientID: patient, item: item, priority: priority)
        if let center { body["center_id"] = center }
        return try await hub.call(.post, "/v1/exams", token: token, json: body)
    }

    /// Submits an exam that must be accepted; returns its id.
    static func submitted(
        _ hub: HubClient, _ token: String, patient: String = residentID(), priority: String = "urgent"
    ) async throws -> String {
        let reply = try await submit(hub, token, patient: patient, priority: priority)
        try #require(reply.status == 201, "\(reply.text)")
        return try #require(reply["id"])
    }

    static func post(
        _ hub: HubClient, _ exam: String, _ step: String, _ token: String, json: Any? = nil
    ) async throws -> Reply {
        try await hub.call(.post, "/v1/exams/\(exam)/\(step)", token: token, json: json)
    }

    /// Claims and reports as `reader`; the exam then awaits verification.
    static func reported(
        _ hub: HubClient, _ exam: String, by reader: String, report: [String: Any] = Desk.report
    ) async throws {
        let claimed = try await post(hub, exam, "claim", reader)
        try #require(claimed.status == 200, "\(claimed.text)")
        let reported = try await post(hub, exam, "report", reader, json: report)
        try #require(reported.status == 200, "\(reported.text)")
    }

    /// Adds a second imaging center of the same alliance, hosted by its own hospital.
    static func secondCenter(
        _ hub: HubClient, id: String = "tj-imaging", host: String = "wh-tongji", validFrom: String = "2026-01-01",
        validTo: String = "2027-12-31"
    ) async throws {
        try await hub.institution(host, level: "tertiary", region: "420103", alliances: ["wh-east"])
        let created = try await hub.call(
            .post, "/v1/centers", token: hub.admin,
            json: hub.centerBody(id: id, institution: host, validFrom: validFrom, validTo: validTo))
        try #require(created.status == 201, "\(created.text)")
    }

    static func suspend(_ hub: HubClient, center: String) async throws {
        let reply = try await hub.call(.patch, "/v1/centers/\(center)", token: hub.admin, json: ["status": "suspended"])
        try #require(reply.status == 200, "\(reply.text)")
    }

    static func event(_ received: TestReceiver.Received) -> String? {
        received.headers[HTTPField.Name("X-Hub-Event")!]
    }

    static func json(_ received: TestReceiver.Received) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: received.body)) as? [String: Any]) ?? [:]
    }

    /// The hub's civil date ("today") for a clock reading, as the hub computes it for qualification validity.
    static func today(_ hub: HubClient, _ time: Timestamp) -> CivilDate {
        time.civilDate(utcOffsetMinutes: hub.env.config.utcOffsetMinutes)
    }

    static func auditActions(_ hub: HubClient, target: String) async throws -> [String] {
        try await hub.database.read {
            try AuditLog.records($0, targetId: target, after: nil, limit: 500).items.map(\.action)
        }
    }
}

// MARK: - Submission

@Suite struct SubmissionRulesTests {
    @Test func anExamNeedsThePatientsConsent() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let refused = try await hub.call(
                .post, "/v1/exams", token: people.clinicToken,
                json: Alliance.examBody(patientID: residentID(), consent: false))
            #expect(refused.status == 422)
            #expect(refused["code"] == "validation_failed")
            #expect(refused["field"] == "consent.given")
            var body = Alliance.examBody(patientID: residentID())
            body["consent"] = nil
            let missing = try await hub.call(.post, "/v1/exams", token: people.clinicToken, json: body)
            #expect(missing.status == 422)
            #expect(missing["field"] == "consent")
            let listed = try await hub.get("/v1/exams", token: people.clinicToken)
            #expect(listed.status == 200)
            #expect(listed.items.isEmpty, "a refused submission leaves nothing behind")
        }
    }

    @Test func anExamNeedsAnItemOfTheCatalogInForce() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let refused = try await Desk.submit(hub, people.clinicToken, item: "CT-NOSUCH")
            #expect(refused.status == 422)
            #expect(refused["field"] == "item_code")
            #expect(refused.text.contains("CT-NOSUCH"))
        }
    }

    @Test func aResidentIDWithAWrongCheckCharacterIsRefused() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let good = residentID()
            let wrong = String(good.dropLast()) + (good.last == "0" ? "1" : "0")
            let refused = try await Desk.submit(hub, people.clinicToken, patient: wrong)
            #expect(refused.status == 422)
            #expect(refused["field"] == "patient.identifiers[0]")
            let accepted = try await Desk.submit(hub, people.clinicToken, patient: good)
            #expect(accepted.status == 201, "\(accepted.text)")
        }
    }
}

// MARK: - Routing

@Suite struct RoutingRulesTests {
    /// Routing reads each center's open work from counts the database's triggers keep. Through submissions, claims,
    /// reports, verification, returns, resubmissions and cancellations at two centers, they equal a recount.
    @Test func theKeptOpenWorkEqualsARecountThroughEveryStep() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            try await Desk.secondCenter(hub)
            let centers = ["wh-imaging", "tj-imaging"]
            func agrees(_ moment: String) async throws {
                let (kept, counted) = try await hub.database.read { db in
                    (
                        try ExamStore.openWork(db, centerIds: centers),
                        try Dictionary(
                            uniqueKeysWithValues: Row.fetchAll(
                                db,
                                sql: """
                                    SELECT center_id, COUNT(*) AS n FROM exams
                                    WHERE step IN ('waiting', 'claimed', 'awaiting-verification', 'preliminary')
                                    GROUP BY center_id
                                    """
                            ).map { ($0["center_id"] as String, $0["n"] as Int) })
                    )
                }
                #expect(
                    centers.map { kept[$0] ?? 0 } == centers.map { counted[$0] ?? 0 }, "\(moment): \(kept) \(counted)")
            }
            // Routing by load spreads them over both centers; the alliance's people read at wh-imaging.
            var exams: [String] = []
            for n in 0..<12 {
                let reply = try await Desk.submit(
                    hub, people.clinicToken, patient: residentID(sequence: String(format: "%03d", 200 + n)))
                try #require(reply.status == 201, "\(reply.text)")
                if reply["center_id"] == "wh-imaging" { exams.append(try #require(reply["id"])) }
            }
            try #require(exams.count >= 5, "\(exams.count) exams at wh-imaging")
            try await agrees("submitted")
            #expect(
                try await hub.database.read { try ExamStore.openWork($0, centerIds: centers) }.values.reduce(0, +)
                    == 12)
            try await Desk.reported(hub, exams[0], by: people.residentToken)
            #expect(try await Desk.post(hub, exams[0], "verify", people.attendingToken).status == 200)
            try await Desk.reported(hub, exams[1], by: people.residentToken)
            #expect(try await Desk.post(hub, exams[2], "claim", people.residentToken).status == 200)
            #expect(try await Desk.post(hub, exams[2], "release", people.residentToken).status == 200)
            #expect(
                try await Desk.post(hub, exams[3], "return", people.residentToken, json: ["reason": "图像不清"]).status
                    == 200)
            try await agrees("read, verified, released and returned")
            #expect(try await Desk.post(hub, exams[3], "resubmit", people.clinicToken).status == 200)
            #expect(
                try await Desk.post(hub, exams[4], "cancel", people.clinicToken, json: ["reason": "重复申请"]).status
                    == 200)
            try await agrees("resubmitted and cancelled")
            let left = try await hub.database.read { try ExamStore.openWork($0, centerIds: centers) }
            #expect(left.values.reduce(0, +) == 10, "one verified and one cancelled of twelve: \(left)")
        }
    }

    @Test func aSuspendedCenterIsNeverChosen() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            try await Desk.secondCenter(hub)
            // Both fit and both are idle: the tie goes to the first id, tj-imaging.
            let first = try await Desk.submit(hub, people.clinicToken)
            #expect(first["center_id"] == "tj-imaging", "\(first.text)")
            // Now wh-imaging is the less loaded one, but it is suspended: the work goes to the busier center.
            try await Desk.suspend(hub, center: "wh-imaging")
            for _ in 0..<2 {
                let next = try await Desk.submit(hub, people.clinicToken)
                #expect(next.status == 201)
                #expect(next["center_id"] == "tj-imaging", "\(next.text)")
            }
        }
    }

    @Test func aCenterWhoseQualificationLapsedYesterdayIsNeverChosen() async throws {
        let clock = SteppedClock()
        try await withHub(clock: clock.read) { hub in
            let people = try await Alliance.make(hub)
            let today = Desk.today(hub, clock.now)
            try await Desk.secondCenter(
                hub, validFrom: today.adding(days: -365).description, validTo: today.adding(days: -1).description)
            // tj-imaging would win every tie and is idle; its qualification ended yesterday.
            for _ in 0..<3 {
                let exam = try await Desk.submit(hub, people.clinicToken)
                #expect(exam.status == 201)
                #expect(exam["center_id"] == "wh-imaging", "\(exam.text)")
            }
        }
    }

    @Test func withNoCenterFittingTheExamWaitsWithTheReason() async throws {
        let clock = SteppedClock()
        try await withHub(clock: clock.read) { hub in
            let people = try await Alliance.make(hub)
            let today = Desk.today(hub, clock.now)
            try await Desk.secondCenter(
                hub, validFrom: today.adding(days: -365).description, validTo: today.adding(days: -1).description)
            try await Desk.suspend(hub, center: "wh-imaging")
            let waiting = try await Desk.submit(hub, people.clinicToken)
            #expect(waiting.status == 201, "\(waiting.text)")
            #expect(waiting["status"] == "requested")
            #expect(waiting["business_status"] == "awaiting-routing")
            #expect(waiting["center_id"] == nil)
            let note = try #require(waiting["routing_note"])
            #expect(note.contains("wh-imaging") && note.contains("suspended"), "\(note)")
            #expect(note.contains("tj-imaging") && note.contains("qualification"), "\(note)")
            // Nobody's worklist holds it.
            let (_, tjReader) = try await hub.practitioner(at: "wh-tongji", roles: ["reader"])
            #expect(try await hub.get("/v1/centers/tj-imaging/worklist", token: tjReader).items.isEmpty)
            #expect(try await hub.get("/v1/centers/wh-imaging/worklist", token: people.residentToken).items.isEmpty)

            // A center named by the clinic must fit too.
            for center in ["tj-imaging", "wh-imaging", "no-such-center"] {
                let named = try await Desk.submit(hub, people.clinicToken, center: center)
                #expect(named.status == 422, "\(center): \(named.text)")
                #expect(named["field"] == "center_id")
            }
        }
    }

    @Test func aCenterNamedByTheClinicNeedNotShareItsAlliance() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            try await hub.institution("sy-hospital", level: "tertiary", region: "420300", alliances: ["sy-alliance"])
            let created = try await hub.call(
                .post, "/v1/centers", token: hub.admin,
                json: hub.centerBody(id: "sy-imaging", institution: "sy-hospital"))
            try #require(created.status == 201, "\(created.text)")
            try await Desk.suspend(hub, center: "wh-imaging")
            let automatic = try await Desk.submit(hub, people.clinicToken)
            #expect(automatic["business_status"] == "awaiting-routing", "another alliance's center is not chosen")
            let named = try await Desk.submit(hub, people.clinicToken, center: "sy-imaging")
            #expect(named.status == 201, "\(named.text)")
            #expect(named["center_id"] == "sy-imaging")
        }
    }
}

// MARK: - Worklist and claims

@Suite struct WorklistAndClaimTests {
    @Test func theWorklistPutsTheMostUrgentFirstThenTheLongestWaiting() async throws {
        let clock = SteppedClock()
        try await withHub(clock: clock.read) { hub in
            let people = try await Alliance.make(hub)
            let urgency = ["stat": 3, "asap": 2, "urgent": 1, "routine": 0]
            var submitted: [(id: String, priority: String, order: Int)] = []
            for (order, priority) in ["routine", "urgent", "stat", "asap", "routine", "stat", "urgent", "asap"]
                .enumerated()
            {
                clock.advance(seconds: 1)
                submitted.append(
                    (try await Desk.submitted(hub, people.clinicToken, priority: priority), priority, order))
            }
            let expected = submitted.sorted {
                (urgency[$0.priority]!, -$0.order) > (urgency[$1.priority]!, -$1.order)
            }.map(\.id)
            let worklist = try await hub.get("/v1/centers/wh-imaging/worklist", token: people.residentToken)
            #expect(worklist.status == 200)
            #expect(worklist.items.compactMap { $0["id"] as? String } == expected)
            #expect(
                worklist.items.compactMap { $0["priority"] as? String }
                    == ["stat", "stat", "asap", "asap", "urgent", "urgent", "routine", "routine"])
        }
    }

    @Test func twoReadersClaimingAtOnceOneWins() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let port = try #require(hub.client.port)
            let curl = CurlHTTPClient()
            defer { Task { await curl.shutdown() } }
            let readers = [people.residentToken, people.attendingToken]
            for _ in 0..<5 {
                let exam = try await Desk.submitted(hub, people.clinicToken)
                // Separate connections, fired together, so the hub really sees them at the same moment.
                let outcomes = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                    for token in readers {
                        group.addTask {
                            let reply = try await curl.execute(
                                CurlRequest(
                                    method: "POST", url: "http://127.0.0.1:\(port)/v1/exams/\(exam)/claim",
                                    headers: [("Authorization", "Bearer \(token)")]))
                            return (token, reply.status)
                        }
                    }
                    return try await group.reduce(into: [(String, Int)]()) { $0.append($1) }
                }
                #expect(outcomes.map(\.1).sorted() == [200, 409], "\(outcomes.map(\.1))")
                let winner = try #require(outcomes.first { $0.1 == 200 }?.0)
                let loser = try #require(outcomes.first { $0.1 != 200 }?.0)
                // The winner holds the lease: only they may report.
                #expect(try await Desk.post(hub, exam, "report", loser, json: Desk.report).status == 403)
                #expect(try await Desk.post(hub, exam, "report", winner, json: Desk.report).status == 200)
            }
        }
    }

    @Test func anAbandonedClaimReturnsToTheWorklistWhenTheLeaseEnds() async throws {
        let clock = SteppedClock()
        try await withHub(clock: clock.read) { hub in
            let people = try await Alliance.make(hub)
            let lease = Int64(hub.env.config.claimLeaseMinutes)
            let exam = try await Desk.submitted(hub, people.clinicToken)
            let claimed = try await Desk.post(hub, exam, "claim", people.residentToken)
            #expect(claimed.status == 200)
            let until = try #require((claimed.json["claim"] as? [String: Any])?["until"] as? String)
            #expect(Timestamp(rfc3339: until) == clock.now.adding(milliseconds: lease * 60_000))
            #expect(try await hub.get("/v1/centers/wh-imaging/worklist", token: people.attendingToken).items.isEmpty)
            let early = try await Desk.post(hub, exam, "claim", people.attendingToken)
            #expect(early.status == 409)
            #expect(early["code"] == "conflict")

            clock.advance(minutes: lease - 1)
            #expect(
                try await hub.get("/v1/centers/wh-imaging/worklist", token: people.attendingToken).items.isEmpty,
                "a minute before the lease ends, the claim still holds")
            clock.advance(minutes: 2)
            let worklist = try await hub.get("/v1/centers/wh-imaging/worklist", token: people.attendingToken)
            #expect(worklist.items.compactMap { $0["id"] as? String } == [exam])
            let taken = try await Desk.post(hub, exam, "claim", people.attendingToken)
            #expect(taken.status == 200, "\(taken.text)")
            #expect(
                ((taken.json["claim"] as? [String: Any])?["reader"] as? [String: Any])?["practitioner_id"] as? String
                    == people.attendingId)
            let abandoned = try await Desk.post(hub, exam, "report", people.residentToken, json: Desk.report)
            #expect(abandoned.status == 403, "the reader who let the lease lapse no longer reports")
            #expect(try await hub.get("/v1/centers/wh-imaging/worklist", token: people.attendingToken).items.isEmpty)
        }
    }
}

// MARK: - Who may do what

@Suite struct ReadingBoundaryTests {
    @Test func eachSideDoesOnlyItsOwnSteps() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            try await Desk.secondCenter(hub)
            let (_, foreignReader) = try await hub.practitioner(at: "wh-tongji", roles: ["reader", "verifier"])
            try await hub.institution("other-clinic", level: "primary", region: "420115", alliances: ["wh-east"])
            let (_, otherClinic) = try await hub.practitioner(at: "other-clinic", roles: ["clinic"])
            let (_, verifierOnly) = try await hub.practitioner(at: "wh-xiehe", roles: ["verifier"])
            // Route to wh-imaging whatever the tie-break says.
            let submitted = try await Desk.submit(hub, people.clinicToken, center: "wh-imaging")
            let exam = try #require(submitted["id"])

            #expect(try await Desk.post(hub, exam, "claim", foreignReader).status == 403)
            #expect(try await hub.get("/v1/centers/wh-imaging/worklist", token: foreignReader).status == 403)
            #expect(try await hub.get("/v1/exams/\(exam)", token: foreignReader).status == 403)
            #expect(try await Desk.post(hub, exam, "claim", people.clinicToken).status == 403)
            #expect(
                try await Desk.post(hub, exam, "claim", verifierOnly).status == 403, "verifiers sign, readers claim")
            #expect(try await hub.get("/v1/exams/\(exam)", token: otherClinic).status == 403)
            #expect(
                try await hub.call(
                    .post, "/v1/exams/\(exam)/attachments", token: otherClinic, raw: Data("%PDF-1.7\n".utf8),
                    contentType: "application/pdf"
                ).status == 403)
            #expect(try await hub.get("/v1/exams/\(exam)", token: people.clinicToken).status == 200)
            #expect(try await hub.get("/v1/exams/\(exam)", token: people.residentToken).status == 200)

            #expect(try await Desk.post(hub, exam, "claim", people.residentToken).status == 200)
            let clinicReports = try await Desk.post(hub, exam, "report", people.clinicToken, json: Desk.report)
            #expect(clinicReports.status == 403)
            #expect(clinicReports["code"] == "forbidden")
            #expect(try await Desk.post(hub, exam, "report", foreignReader, json: Desk.report).status == 403)
            #expect(try await Desk.post(hub, exam, "report", people.residentToken, json: Desk.report).status == 200)
            #expect(try await Desk.post(hub, exam, "verify", people.clinicToken).status == 403)
            #expect(try await Desk.post(hub, exam, "verify", foreignReader).status == 403)
            let shown = try await hub.get("/v1/exams/\(exam)", token: people.clinicToken)
            #expect(shown["business_status"] == "awaiting-verification", "no refused call changed the exam")
        }
    }

    /// 书写/审核 over HTTP: an attending who wrote the report cannot sign it; another attending can.
    @Test func theAuthorNeverSignsTheirOwnReport() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let exam = try await Desk.submitted(hub, people.clinicToken)
            try await Desk.reported(hub, exam, by: people.attendingToken)
            let own = try await Desk.post(hub, exam, "verify", people.attendingToken)
            #expect(own.status == 403)
            #expect(own["code"] == "two_level_signature")
            let resident = try await Desk.post(hub, exam, "verify", people.residentToken)
            #expect(resident.status == 403, "a reader without the verifier role does not sign")
            let signed = try await Desk.post(hub, exam, "verify", people.secondAttendingToken)
            #expect(signed.status == 200, "\(signed.text)")
            #expect(signed["business_status"] == "final")
        }
    }
}

// MARK: - Return, resubmission, cancellation, preliminary

@Suite struct ReadingDetourTests {
    @Test func aReturnedExamIsResubmittedAndRoutedAgain() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let hub = try fastOutboxHub()
        defer { hub.remove() }
        try await hub.run { hub in
            let people = try await Alliance.make(hub, webhook: receiver.url)
            let exam = try await Desk.submitted(hub, people.clinicToken)
            #expect(try await Desk.post(hub, exam, "claim", people.residentToken).status == 200)
            let noReason = try await Desk.post(hub, exam, "return", people.residentToken, json: ["reason": " "])
            #expect(noReason.status == 422)
            #expect(noReason["field"] == "reason")
            #expect(try await Desk.post(hub, exam, "return", people.clinicToken, json: ["reason": "x"]).status == 403)
            let returned = try await Desk.post(
                hub, exam, "return", people.residentToken, json: ["reason": "图像运动伪影严重，无法诊断"])
            #expect(returned.status == 200, "\(returned.text)")
            #expect(returned["status"] == "on-hold")
            #expect(returned["business_status"] == "returned")
            #expect(returned["return_reason"] == "图像运动伪影严重，无法诊断")
            #expect(returned.json["claim"] == nil)
            #expect(try await hub.get("/v1/centers/wh-imaging/worklist", token: people.residentToken).items.isEmpty)
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains {
                        Desk.event($0) == "exam.returned" && Desk.json($0)["reason"] as? String == "图像运动伪影严重，无法诊断"
                    }
                })

            #expect(try await Desk.post(hub, exam, "resubmit", people.residentToken).status == 403)
            let again = try await Desk.post(hub, exam, "resubmit", people.clinicToken)
            #expect(again.status == 200, "\(again.text)")
            #expect(again["business_status"] == "waiting")
            #expect(again["center_id"] == "wh-imaging")
            #expect(again["return_reason"] == nil)
            #expect((again.json["reports"] as? [Any])?.isEmpty == true)
            let worklist = try await hub.get("/v1/centers/wh-imaging/worklist", token: people.residentToken)
            #expect(worklist.items.compactMap { $0["id"] as? String } == [exam])
            #expect(try await Desk.post(hub, exam, "resubmit", people.clinicToken).status == 409)
            let actions = try await Desk.auditActions(hub, target: exam)
            #expect(actions.contains("exam.return"))
            #expect(actions.contains("exam.resubmit"))
        }
    }

    @Test func theClinicCancelsWorkNobodyHasStarted() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let exam = try await Desk.submitted(hub, people.clinicToken)
            let noReason = try await Desk.post(hub, exam, "cancel", people.clinicToken, json: [:] as [String: Any])
            #expect(noReason.status == 422)
            #expect(noReason["field"] == "reason")
            #expect(
                try await Desk.post(hub, exam, "cancel", people.residentToken, json: ["reason": "x"]).status == 403)
            let cancelled = try await Desk.post(hub, exam, "cancel", people.clinicToken, json: ["reason": "患者转院"])
            #expect(cancelled.status == 200, "\(cancelled.text)")
            #expect(cancelled["status"] == "cancelled")
            #expect(cancelled["cancel_reason"] == "患者转院")
            #expect(try await hub.get("/v1/centers/wh-imaging/worklist", token: people.residentToken).items.isEmpty)
            let late = try await Desk.post(hub, exam, "claim", people.residentToken)
            #expect(late.status == 409)
            #expect(late["code"] == "invalid_transition")

            let started = try await Desk.submitted(hub, people.clinicToken)
            #expect(try await Desk.post(hub, started, "claim", people.residentToken).status == 200)
            let tooLate = try await Desk.post(hub, started, "cancel", people.clinicToken, json: ["reason": "患者转院"])
            #expect(tooLate.status == 409)
            #expect(tooLate["code"] == "invalid_transition")
        }
    }

    @Test func aStatReportGoesOutPreliminaryAndIsVerifiedLater() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let clock = SteppedClock()
        let hub = try fastOutboxHub()
        defer { hub.remove() }
        try await hub.run(clock: clock.read) { hub in
            let people = try await Alliance.make(hub, webhook: receiver.url)
            let urgent = try await Desk.submitted(hub, people.clinicToken, priority: "urgent")
            try await Desk.reported(hub, urgent, by: people.residentToken)
            let notAllowed = try await Desk.post(hub, urgent, "preliminary", people.residentToken)
            #expect(notAllowed.status == 409)
            #expect(notAllowed["code"] == "invalid_transition")

            let stat = try await Desk.submitted(hub, people.clinicToken, priority: "stat")
            try await Desk.reported(hub, stat, by: people.residentToken)
            #expect(try await Desk.post(hub, stat, "preliminary", people.attendingToken).status == 403)
            clock.advance(minutes: 1)
            let releasedAt = clock.now
            let preliminary = try await Desk.post(hub, stat, "preliminary", people.residentToken)
            #expect(preliminary.status == 200, "\(preliminary.text)")
            #expect(preliminary["business_status"] == "preliminary")
            #expect(preliminary["status"] == "in-progress")
            let draft = (preliminary.json["reports"] as? [[String: Any]])?.last
            #expect(draft?["status"] as? String == "preliminary")
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains { Desk.event($0) == "exam.report.preliminary" }
                })
            let atClinic = try await hub.get("/v1/exams/\(stat)", token: people.clinicToken)
            #expect((atClinic.json["reports"] as? [[String: Any]])?.last?["status"] as? String == "preliminary")

            clock.advance(minutes: 20)
            let verified = try await Desk.post(hub, stat, "verify", people.secondAttendingToken)
            #expect(verified.status == 200, "\(verified.text)")
            #expect(verified["business_status"] == "final")
            let final = try #require((verified.json["reports"] as? [[String: Any]])?.last)
            #expect(final["status"] as? String == "final")
            #expect((final["released_at"] as? String).flatMap { Timestamp(rfc3339: $0) } == releasedAt)
            #expect((final["verified_at"] as? String).flatMap { Timestamp(rfc3339: $0) } == clock.now)
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains {
                        Desk.event($0) == "exam.report.final" && Desk.json($0)["exam_id"] as? String == stat
                    }
                })
        }
    }
}

// MARK: - Attachments

/// Bytes of `text` in GB18030, produced by Python's codec in a child process (Foundation on Linux has no GB18030).
private func gb18030(_ text: String) async throws -> [UInt8] {
    let (status, bytes) = try await ChildProcess.run(
        "python3", ["-c", "import sys; sys.stdout.buffer.write(sys.argv[1].encode('gb18030'))", text], stderr: .null)
    try #require(status == 0, "python3 could not encode to GB18030")
    return Array(bytes)
}

@Suite struct AttachmentRulesTests {
    func upload(
        _ hub: HubClient, _ exam: String, _ token: String, _ data: Data, _ type: String
    ) async throws -> Reply {
        try await hub.call(.post, "/v1/exams/\(exam)/attachments", token: token, raw: data, contentType: type)
    }

    /// Regular files under the blob store, temporary ones included.
    func storedFiles(_ hub: HubClient) -> [String] {
        let root = hub.env.config.blobPath
        let walker = FileManager.default.enumerator(atPath: root)
        var files: [String] = []
        while let path = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                files.append(path)
            }
        }
        return files
    }

    @Test func anAttachmentOverTheLimitIsRefusedAndNothingIsStored() async throws {
        var hub = try TestHub()
        hub.config.maxAttachmentBytes = 2048
        defer { hub.remove() }
        try await hub.run { hub in
            let people = try await Alliance.make(hub)
            let exam = try await Desk.submitted(hub, people.clinicToken)
            let big = Data("%PDF-1.7\n".utf8) + Data(repeating: 0x20, count: 4096)
            let refused = try await upload(hub, exam, people.clinicToken, big, "application/pdf")
            #expect(refused.status == 413)
            #expect(refused["code"] == "payload_too_large")
            #expect(storedFiles(hub).isEmpty, "\(storedFiles(hub))")
            #expect(try await hub.get("/v1/exams/\(exam)/attachments", token: people.clinicToken).items.isEmpty)
            let small = Data("%PDF-1.7\n".utf8) + Data(repeating: 0x20, count: 2039)
            let accepted = try await upload(hub, exam, people.clinicToken, small, "application/pdf")
            #expect(accepted.status == 201, "exactly the limit is allowed: \(accepted.text)")
            #expect(accepted.json["size"] as? Int == 2048)
        }
    }

    @Test func filesMustBeWhatTheirMediaTypeSays() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let exam = try await Desk.submitted(hub, people.clinicToken)
            let file = try ctFile(patientID: residentID())
            for cut in [file.count / 2, file.count - 10, 200] {
                let truncated = try await upload(hub, exam, people.clinicToken, file.prefix(cut), "application/dicom")
                #expect(truncated.status == 422, "cut at \(cut): \(truncated.text)")
                #expect(truncated["code"] == "invalid_dicom")
            }
            let notDICOM = try await upload(
                hub, exam, people.clinicToken, Data("这不是DICOM文件".utf8), "application/dicom")
            #expect(notDICOM.status == 422)
            #expect(notDICOM["code"] == "invalid_dicom")
            let badPDF = try await upload(
                hub, exam, people.clinicToken, Data("<html>report</html>".utf8), "application/pdf")
            #expect(badPDF.status == 422)
            #expect(badPDF["code"] == "invalid_attachment")
            let text = try await upload(hub, exam, people.clinicToken, Data("report".utf8), "text/plain")
            #expect(text.status == 415)
            #expect(text["code"] == "unsupported_media_type")
            #expect(try await hub.get("/v1/exams/\(exam)/attachments", token: people.clinicToken).items.isEmpty)
            #expect(storedFiles(hub).isEmpty, "a refused file leaves nothing on disk: \(storedFiles(hub))")
            let png = try await upload(
                hub, exam, people.clinicToken, Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]),
                "image/png")
            #expect(png.status == 201, "a file that is what it says is kept: \(png.text)")
        }
    }

    @Test func aFileOfAnotherPatientIsKeptAndFlagged() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let patient = residentID(birth: "19750315", sequence: "042")
            let exam = try await Desk.submitted(hub, people.clinicToken, patient: patient)
            let stranger = residentID(birth: "19900707", sequence: "777")
            let uploaded = try await upload(
                hub, exam, people.clinicToken, try ctFile(patientID: stranger), "application/dicom")
            #expect(uploaded.status == 201, "\(uploaded.text)")
            let mismatch = try #require(uploaded["patient_mismatch"])
            #expect(mismatch.contains(stranger))
            #expect(try await Desk.auditActions(hub, target: exam).contains("attachment.patient_mismatch"))
            let logged = try await hub.database.read {
                try AuditLog.records($0, targetId: exam, after: nil, limit: 500).items
            }
            #expect(!logged.contains { ($0.detail ?? "").contains(stranger) }, "no raw patient identifier in the log")
            // The exam's own patient, matched on any identifier (here the clinic's record number), is no mismatch.
            let own = try await upload(
                hub, exam, people.clinicToken,
                try ctFile(patientID: "HS-0042", sopInstance: "1.2.826.0.1.3680043.10.1.9"), "application/dicom")
            #expect(own.status == 201)
            #expect(own.json["patient_mismatch"] == nil)
            let mismatches = try await Desk.auditActions(hub, target: exam).filter {
                $0 == "attachment.patient_mismatch"
            }
            #expect(mismatches.count == 1)
        }
    }

    /// An accession number carries the hub's civil date (`hub.utc_offset_minutes`), not a fixed one.
    @Test func anAccessionNumberCarriesTheHubsCivilDate() async throws {
        // 20:30 UTC on 1 June is 04:30 on 2 June in China Standard Time.
        let late = Timestamp(rfc3339: "2026-06-01T20:30:00Z")!
        for (offset, date) in [(480, "260602"), (0, "260601")] {
            var hub = try TestHub()
            hub.config.utcOffsetMinutes = offset
            defer { hub.remove() }
            try await hub.run(clock: { late }) { hub in
                let people = try await Alliance.make(hub)
                let reply = try await Desk.submit(hub, people.clinicToken, patient: residentID(), priority: "urgent")
                #expect(reply.status == 201, "\(reply.text)")
                let accession = reply["accession_number"] ?? ""
                #expect(accession.hasPrefix("A" + date), "offset \(offset): \(accession)")
            }
        }
    }

    @Test func aGB18030PatientNameIsReadAsChinese() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let patient = residentID()
            let exam = try await Desk.submitted(hub, people.clinicToken, patient: patient)
            let name = "欧阳^娜娜"
            let encoded = try await gb18030(name)
            #expect(encoded != Array(name.utf8), "GB18030 bytes differ from UTF-8")
            let elements: [DICOMWriter.Element] = [
                .string(.specificCharacterSet, .CS, "GB18030"),
                .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2"),
                .string(.sopInstanceUID, .UI, "1.2.826.0.1.3680043.10.2.1"),
                .string(.studyDate, .DA, "20261122"),
                .string(.modality, .CS, "CT"),
                DICOMWriter.Element(.patientName, .PN, .bytes(encoded)),
                .string(.patientID, .LO, patient),
                .string(.studyInstanceUID, .UI, "1.2.826.0.1.3680043.10.2"),
                .string(.seriesInstanceUID, .UI, "1.2.826.0.1.3680043.10.2.2"),
            ]
            let file = Data(try DICOMWriter.write(elements))
            let uploaded = try await upload(hub, exam, people.clinicToken, file, "application/dicom")
            #expect(uploaded.status == 201, "\(uploaded.text)")
            let tags = uploaded.json["dicom"] as? [String: String]
            #expect(tags?["patient_name"] == name)
            #expect(tags?["specific_character_set"] == "GB18030")
            #expect(uploaded.json["patient_mismatch"] == nil)
        }
    }

    @Test func theSameFileTwiceIsOneAttachment() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let patient = residentID()
            let exam = try await Desk.submitted(hub, people.clinicToken, patient: patient)
            let file = try ctFile(patientID: patient)
            let first = try await upload(hub, exam, people.clinicToken, file, "application/dicom")
            #expect(first.status == 201)
            let second = try await upload(hub, exam, people.residentToken, file, "application/dicom")
            #expect(second.status == 200, "\(second.text)")
            #expect(second["sha256"] == first["sha256"])
            #expect(second["uploaded_by"] == first["uploaded_by"], "the first upload's record stands")
            let list = try await hub.get("/v1/exams/\(exam)/attachments", token: people.clinicToken)
            #expect(list.items.count == 1)
            #expect(storedFiles(hub).count == 1, "one blob on disk, no temporary file left: \(storedFiles(hub))")
            let adds = try await Desk.auditActions(hub, target: exam).filter { $0 == "attachment.add" }
            #expect(adds.count == 1)
        }
    }
}

// MARK: - Critical values

@Suite struct CriticalValueRulesTests {
    /// A revised draft raises a notice only for a critical value it did not already carry.
    @Test func aRevisedDraftFlagsOnlyNewCriticalValues() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let exam = try await Desk.submitted(hub, people.clinicToken, priority: "stat")
            try await Desk.reported(hub, exam, by: people.residentToken, report: Desk.criticalReport)
            func notices() async throws -> [String] {
                try await hub.get("/v1/critical-values?exam_id=\(exam)", token: people.clinicToken).items.flatMap {
                    ($0["findings"] as? [[String: Any]] ?? []).compactMap { $0["description"] as? String }
                }
            }
            #expect(try await notices() == ["大量气胸（肺压缩>50%）"])
            var same = Desk.criticalReport
            same["conclusion"] = "右侧大量气胸，请立即胸腔闭式引流。"
            #expect(try await Desk.post(hub, exam, "report", people.residentToken, json: same).status == 200)
            #expect(try await notices() == ["大量气胸（肺压缩>50%）"], "the same finding is not flagged twice")
            var more = Desk.criticalReport
            more["critical_values"] = [["description": "大量气胸（肺压缩>50%）"], ["description": "纵隔明显左移"]]
            #expect(try await Desk.post(hub, exam, "report", people.residentToken, json: more).status == 200)
            #expect(try await notices().sorted() == ["大量气胸（肺压缩>50%）", "纵隔明显左移"])
            let readerView = try await hub.get("/v1/critical-values?exam_id=\(exam)", token: people.residentToken)
            #expect(readerView.items.count == 2, "the center sees the notices it raised")
        }
    }

    @Test func anUnacknowledgedCriticalValueIsEscalated() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let clock = SteppedClock()
        var hub = try fastOutboxHub()
        hub.config.monitorIntervalMilliseconds = 50
        hub.config.ackMinutes.minutes[.stat] = 1
        defer { hub.remove() }
        try await hub.run(clock: clock.read) { hub in
            let people = try await Alliance.make(hub)
            let saved = try await hub.call(
                .put, "/v1/institutions/hs-clinic/webhook", token: hub.admin,
                json: [
                    "url": receiver.url, "escalation_url": "http://127.0.0.1:\(receiver.port)/escalate",
                    "secret": "s3cret-shared-with-the-clinic",
                ])
            try #require(saved.status == 200, "\(saved.text)")
            try await hub.institution("other-clinic", level: "primary", region: "420115", alliances: ["wh-east"])
            let (_, otherClinic) = try await hub.practitioner(at: "other-clinic", roles: ["clinic"])

            let ignored = try await Desk.submitted(hub, people.clinicToken, priority: "stat")
            try await Desk.reported(hub, ignored, by: people.residentToken, report: Desk.criticalReport)
            let answered = try await Desk.submitted(hub, people.clinicToken, priority: "stat")
            try await Desk.reported(hub, answered, by: people.residentToken, report: Desk.criticalReport)
            let flaggedAt = clock.now
            #expect(
                await TestReceiver.eventually {
                    receiver.all.filter { Desk.event($0) == "critical_value.notice" && $0.path == "/hook" }.count == 2
                })
            func notice(_ exam: String) async throws -> [String: Any] {
                let list = try await hub.get("/v1/critical-values?exam_id=\(exam)", token: people.clinicToken)
                return try #require(list.items.first)
            }
            let ignoredNotice = try await notice(ignored)
            let ignoredId = try #require(ignoredNotice["id"] as? String)
            #expect(
                (ignoredNotice["ack_due_at"] as? String).flatMap { Timestamp(rfc3339: $0) }
                    == flaggedAt.adding(milliseconds: 60_000), "a stat notice is due in the configured minute")
            let answeredId = try #require(try await notice(answered)["id"] as? String)
            let ack = try await hub.call(
                .post, "/v1/critical-values/\(answeredId)/ack", token: people.clinicToken,
                json: ["name": "李护士", "read_back": "右侧大量气胸"])
            #expect(ack.status == 200)

            clock.advance(minutes: 2)
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains { Desk.event($0) == "critical_value.escalation" && $0.path == "/escalate" }
                })
            let escalation = try #require(receiver.all.first { Desk.event($0) == "critical_value.escalation" })
            let body = Desk.json(escalation)
            #expect((body["notice"] as? [String: Any])?["id"] as? String == ignoredId)
            #expect(body["minutes_overdue"] as? Int == 1)
            let shown = try await hub.get("/v1/critical-values/\(ignoredId)", token: people.clinicToken)
            #expect((shown["escalated_at"]).flatMap { Timestamp(rfc3339: $0) } != nil)
            #expect(shown["escalation_delivery_id"] != nil)
            #expect(try await notice(answered)["escalated_at"] == nil, "an acknowledged notice is not escalated")
            #expect(
                receiver.all.filter { Desk.event($0) == "critical_value.escalation" }.count == 1,
                "each notice is escalated once")
            #expect(try await Desk.auditActions(hub, target: ignoredId).contains("critical_value.escalate"))

            // Late, the clinic still acknowledges, by name, once; another clinic cannot.
            let foreign = try await hub.call(
                .post, "/v1/critical-values/\(ignoredId)/ack", token: otherClinic,
                json: ["name": "赵医生", "read_back": "气胸"])
            #expect(foreign.status == 403)
            let noReadBack = try await hub.call(
                .post, "/v1/critical-values/\(ignoredId)/ack", token: people.clinicToken, json: ["name": "王护士"])
            #expect(noReadBack.status == 422)
            #expect(noReadBack["field"] == "read_back")
            let late = try await hub.call(
                .post, "/v1/critical-values/\(ignoredId)/ack", token: people.clinicToken,
                json: ["name": "王护士", "read_back": "右侧大量气胸，立即处理"])
            #expect(late.status == 200, "\(late.text)")
            let twice = try await hub.call(
                .post, "/v1/critical-values/\(ignoredId)/ack", token: people.clinicToken,
                json: ["name": "王护士", "read_back": "右侧大量气胸，立即处理"])
            #expect(twice.status == 409)
            #expect(
                (try await hub.get("/v1/critical-values/\(ignoredId)", token: people.clinicToken)
                    .json["acknowledgement"] as? [String: Any])?["name"] as? String == "王护士")
            // The acknowledgement is in the log by ids: the read-back text stays on the notice.
            let logged = try await hub.database.read {
                try AuditLog.records($0, targetId: ignoredId, after: nil, limit: 500).items
            }
            #expect(logged.map(\.action).contains("critical_value.ack"))
            #expect(!logged.contains { ($0.detail ?? "").contains("气胸") || ($0.detail ?? "").contains("王护士") })
        }
    }
}

// MARK: - Turnaround

@Suite struct TurnaroundRulesTests {
    @Test func turnaroundFiguresAndOverdueOpenWork() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let clock = SteppedClock()
        var hub = try fastOutboxHub()
        hub.config.monitorIntervalMilliseconds = 50
        defer { hub.remove() }
        try await hub.run(clock: clock.read) { hub in
            let people = try await Alliance.make(hub)
            try await hub.registerWebhook("wh-xiehe", url: receiver.url)
            // Targets from Alliance.make's center: urgent 120 minutes, stat 30.
            let done = try await Desk.submitted(hub, people.clinicToken, priority: "urgent")
            clock.advance(minutes: 5)
            #expect(try await Desk.post(hub, done, "claim", people.residentToken).status == 200)
            clock.advance(minutes: 15)
            #expect(try await Desk.post(hub, done, "report", people.residentToken, json: Desk.report).status == 200)
            clock.advance(minutes: 10)
            #expect(try await Desk.post(hub, done, "verify", people.attendingToken).status == 200)
            let open = try await Desk.submitted(hub, people.clinicToken, priority: "stat")
            clock.advance(minutes: 1)

            func figures(_ priority: String) async throws -> [String: Any] {
                let reply = try await hub.get("/v1/centers/wh-imaging/turnaround", token: people.residentToken)
                try #require(reply.status == 200, "\(reply.text)")
                let all = try #require(reply.json["priorities"] as? [[String: Any]])
                #expect(all.compactMap { $0["priority"] as? String } == ["stat", "asap", "urgent", "routine"])
                return try #require(all.first { $0["priority"] as? String == priority })
            }
            let urgent = try await figures("urgent")
            #expect(urgent["submitted"] as? Int == 1)
            #expect(urgent["target_minutes"] as? Int == 120)
            let verified = try #require(urgent["submitted_to_verified_minutes"] as? [String: Any])
            #expect(verified["count"] as? Int == 1)
            for percentile in ["p50", "p90", "p95"] { #expect(verified[percentile] as? Double == 30) }
            #expect((urgent["submitted_to_claimed_minutes"] as? [String: Any])?["p50"] as? Double == 5)
            #expect((urgent["submitted_to_reported_minutes"] as? [String: Any])?["p50"] as? Double == 20)
            #expect(urgent["verified_within_target"] as? Int == 1)
            #expect(urgent["open_past_target"] as? Int == 0)
            let clinicAsks = try await hub.get("/v1/centers/wh-imaging/turnaround", token: people.clinicToken)
            #expect(clinicAsks.status == 403)
            let statBefore = try await figures("stat")
            #expect(statBefore["submitted"] as? Int == 1)
            #expect(statBefore["open_past_target"] as? Int == 0)
            #expect((statBefore["submitted_to_verified_minutes"] as? [String: Any])?["count"] as? Int == 0)
            #expect(!receiver.all.contains { Desk.event($0) == "turnaround.overdue" })

            // The stat exam passes its 30-minute target.
            clock.advance(minutes: 30)
            #expect(
                await TestReceiver.eventually {
                    receiver.all.contains { Desk.event($0) == "turnaround.overdue" }
                })
            let overdue = receiver.all.filter { Desk.event($0) == "turnaround.overdue" }
            #expect(overdue.count == 1)
            let body = try #require(overdue.first.map(Desk.json))
            #expect(body["exam_id"] as? String == open)
            #expect(body["center_id"] as? String == "wh-imaging")
            #expect(body["target_minutes"] as? Int == 30)
            let exam = try await hub.get("/v1/exams/\(open)", token: people.residentToken)
            #expect((exam.json["milestones"] as? [String: Any])?["overdue_at"] != nil)
            #expect(try await figures("stat")["open_past_target"] as? Int == 1)
            #expect(try await Desk.auditActions(hub, target: open).contains("exam.overdue"))
            // Raised once, however many times the monitor looks again.
            clock.advance(minutes: 5)
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.all.filter { Desk.event($0) == "turnaround.overdue" }.count == 1)
        }
    }
}
