import CurlHTTP
import Foundation
import HubCore
import HubStore
import TestSupport
import Testing

@Suite struct RecognitionVolumeTests {
    /// NDJSON to `POST /v1/results/bulk` through the libcurl client, with room for a debug build to work through
    /// 100,000 lines.
    static func postBulk(_ body: String, to hub: HubClient, token: String) async throws -> CurlResponse {
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        return try await client.execute(
            CurlRequest(
                method: "POST", url: "http://127.0.0.1:\(try #require(hub.client.port))/v1/results/bulk",
                headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/x-ndjson")],
                body: .bytes(Array(body.utf8)), timeout: .seconds(600)))
    }

    /// One line of a bulk load: a result of `item` for the patient with this resident ID.
    static func line(patient: String, item: String, performedAt: String, value: String = "4.1") -> String {
        #"{"patient":{"identifiers":[{"system":"cn-resident-id","value":"\#(patient)"}]},"item_code":"\#(item)","performed_at":"\#(performedAt)","values":[{"value":"\#(value)","unit":"mmol/L"}]}"#
    }

    /// The resident ID of the n-th patient of a generated load (1,000 sequences over 50 birth years).
    static func patient(_ n: Int) -> String {
        residentID(birth: "19\(50 + n % 50)0101", sequence: String(format: "%03d", n % 1000))
    }

    /// A LIS loads a day's work in one call: 100,000 lines, answered line by line; bad lines are refused alone.
    @Test func bulkLoadOfAHundredThousandResultsAnswersEveryLine() async throws {
        let clock = TestClock(RecognitionTests.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let total = 100_000
            let bad: [Int: (String, String)] = [
                17: ("{\"patient\": ", "malformed_request"),
                2_500: ("ITEM", "item_code"),
                40_000: ("ID", "patient.identifiers[0]"),
                99_999: ("FUTURE", "performed_at"),
            ]
            // Writing 100,000 lines and reading as many answers is long work for a debug build: it runs off the
            // cooperative pool, which the hub needs meanwhile.
            let body = await offPool {
                var lines: [String] = []
                lines.reserveCapacity(total)
                let performed = RecognitionTests.start.adding(days: -2).description
                for n in 1...total {
                    let patient = Self.patient(n)
                    var item = ["K", "GLU", "HBA1C", "NA"][n % 4]
                    var when = performed
                    var id = patient
                    switch bad[n]?.0 {
                    case "{\"patient\": ": lines.append("{\"patient\": "); continue
                    case "ITEM": item = "NO-SUCH-ITEM"
                    case "ID": id = String(patient.dropLast()) + (patient.last == "1" ? "2" : "1")
                    case "FUTURE": when = RecognitionTests.start.adding(days: 3).description
                    default: break
                    }
                    lines.append(Self.line(patient: id, item: item, performedAt: when, value: "5.1"))
                }
                return lines.joined(separator: "\n")
            }
            let reply = try await Self.postBulk(body, to: hub, token: setup.lab)
            #expect(reply.status == 200)
            let replyBody = reply.body
            let answers = await offPool {
                String(decoding: replyBody, as: UTF8.self).split(separator: "\n").map { text in
                    let object = try! JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
                    return BulkAnswer(
                        line: object["line"] as? Int, status: object["status"] as? Int, code: object["code"] as? String,
                        field: object["field"] as? String)
                }
            }
            #expect(answers.count == total)
            #expect(answers.map(\.line) == (1...total).map { $0 })
            for (line, (_, expected)) in bad {
                let answer = answers[line - 1]
                #expect((400..<500).contains(answer.status ?? 0), "line \(line)")
                #expect(answer.code == expected || answer.field == expected, "line \(line): \(answer)")
            }
            let created = answers.filter { $0.status == 201 }.count
            #expect(created == total - bad.count)
            #expect(reply.headers["X-Results-Created"] == String(total - bad.count))
            let stored = try await hub.database.read {
                try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM results") ?? 0
            }
            #expect(stored == total - bad.count, "bad lines are never half-stored")
        }
    }

    /// The store fails in the middle of a load: the batches before stay stored and answered, every line from the
    /// failing batch on is answered as not stored, and sending those lines again, and only those, completes the load
    /// with nothing stored twice. A full disk is SQLite's `max_page_count`, reached in the second batch; a failure
    /// that will not pass is a trigger refusing one line's insert. When the store fails in the first batch, the
    /// request fails whole and stores nothing.
    @Test func aStoreFailureMidLoadAnswersTheLinesNotStoredSoThatOnlyThoseAreSentAgain() async throws {
        let clock = TestClock(RecognitionTests.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let performed = RecognitionTests.start.adding(days: -2)
            let refusedByTrigger = RecognitionTests.start.adding(days: -3)
            func line(_ n: Int, item: String = "K", at time: Timestamp = performed) -> String {
                Self.line(patient: Self.patient(n), item: item, performedAt: time.description)
            }
            // Batches of 1,000: lines 17 and 1,200 are refused on their own.
            let lines = (1...2_500).map { n in n == 17 || n == 1_200 ? line(n, item: "NO-SUCH-ITEM") : line(n) }
            func answers(_ reply: CurlResponse) throws -> [[String: Any]] {
                try String(decoding: reply.body, as: UTF8.self).split(separator: "\n").map {
                    try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                }
            }
            func stored() async throws -> (results: Int, audits: Int) {
                try await hub.database.read { db in
                    (
                        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results") ?? -1,
                        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log WHERE action = 'result.bulk'") ?? -1
                    )
                }
            }
            // On the writer's connection, where every batch is stored.
            func onTheWriter(_ sql: String) async throws -> Int {
                try await hub.database.write { db in
                    try db.execute(sql: sql)
                    return try Int.fetchOne(db, sql: "PRAGMA page_count") ?? -1
                }
            }
            let refusingTrigger = """
                CREATE TEMP TRIGGER refusing BEFORE INSERT ON main.results
                WHEN NEW.performed_at = \(refusedByTrigger.millisecondsSinceEpoch)
                BEGIN SELECT RAISE(ABORT, 'refused'); END
                """

            // Failing in the first batch: nothing stored, one problem for the whole request.
            _ = try await onTheWriter(refusingTrigger)
            let whole = try await Self.postBulk(
                ([line(1, at: refusedByTrigger)] + lines[1..<600]).joined(separator: "\n"), to: hub, token: setup.lab)
            #expect(whole.status == 500)
            #expect(whole.headers["Content-Type"]?.hasPrefix("application/problem+json") == true)
            #expect(try await stored() == (0, 0))

            // How many pages a batch takes, then a disk with room for a batch and a half.
            let warmUp = (5_001...6_000).map { line($0) }.joined(separator: "\n")
            let before = try await onTheWriter("SELECT 1")
            #expect(try await Self.postBulk(warmUp, to: hub, token: setup.lab).status == 200)
            let after = try await onTheWriter("SELECT 1")
            let batch = after - before
            #expect(batch > 10)
            _ = try await onTheWriter("PRAGMA max_page_count = \(after + batch * 3 / 2)")

            // The disk fills in the second batch: the first stays stored.
            let reply = try await Self.postBulk(lines.joined(separator: "\n"), to: hub, token: setup.lab)
            #expect(reply.status == 200)
            let first = try answers(reply)
            #expect(first.map { $0["line"] as? Int } == (1...2_500).map { $0 })
            #expect(first[..<1_000].filter { $0["status"] as? Int == 201 }.count == 999)
            #expect(first[16]["status"] as? Int == 422)
            #expect(first[1_199]["status"] as? Int == 422, "a line refused on its own keeps its problem")
            let notStored = first[1_000...].filter { $0["line"] as? Int != 1_200 }
            #expect(notStored.count == 1_499)
            #expect(notStored.allSatisfy { $0["status"] as? Int == 503 && $0["code"] as? String == "unavailable" })
            #expect(notStored.allSatisfy { $0["id"] == nil && !($0["detail"] as? String ?? "").isEmpty })
            #expect(reply.headers["X-Results-Created"] == "999")
            #expect(reply.headers["X-Results-Rejected"] == "1501")
            #expect(reply.headers["X-Results-Not-Stored"] == "1499")
            #expect(try await stored() == (1_999, 2))

            // Room again: the lines answered 503 are sent again, alone.
            _ = try await onTheWriter("PRAGMA max_page_count = 1073741823")
            let again = notStored.map { lines[($0["line"] as! Int) - 1] }
            let retry = try await Self.postBulk(again.joined(separator: "\n"), to: hub, token: setup.lab)
            #expect(retry.status == 200)
            let second = try answers(retry)
            #expect(second.count == 1_499)
            #expect(second.allSatisfy { $0["status"] as? Int == 201 })
            #expect(retry.headers["X-Results-Not-Stored"] == "0")
            #expect(try await stored() == (3_498, 4), "every good line stored once")

            // A failure that sending again will not mend (here the trigger) is a 500 for each line not stored.
            let refusing = (1...1_500).map { n in line(7_000 + n, at: n == 1_300 ? refusedByTrigger : performed) }
            let refused = try answers(
                try await Self.postBulk(refusing.joined(separator: "\n"), to: hub, token: setup.lab))
            #expect(refused[..<1_000].allSatisfy { $0["status"] as? Int == 201 })
            #expect(
                refused[1_000...].allSatisfy {
                    $0["status"] as? Int == 500 && $0["code"] as? String == "internal_error"
                }
            )
            #expect(try await stored() == (4_498, 5))
        }
    }

    /// Windows line ends and blank lines, as LIS exports have them: every answer names the client's own line number.
    @Test func bulkAnswersNameTheClientsLineNumbers() async throws {
        let clock = TestClock(RecognitionTests.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let performed = RecognitionTests.start.adding(days: -2).description
            func line(_ item: String) -> String {
                Self.line(
                    patient: residentID(birth: "19800101", sequence: "123"), item: item, performedAt: performed,
                    value: "4.2")
            }
            let body = line("K") + "\r\n\r\n   \r\n" + line("NO-SUCH-ITEM") + "\r\n" + line("GLU") + "\r\n"
            let reply = try await Self.postBulk(body, to: hub, token: setup.lab)
            #expect(reply.status == 200)
            let answers = try String(decoding: reply.body, as: UTF8.self).split(separator: "\n").map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            #expect(answers.map { $0["line"] as? Int } == [1, 4, 5])
            #expect(answers.map { $0["status"] as? Int } == [201, 422, 201], "\(answers)")
            #expect((answers[0]["id"] as? String)?.hasPrefix("res_") == true)
            #expect(answers[1]["field"] as? String == "item_code")
            #expect(answers[1]["code"] as? String == "validation_failed")
            #expect(!(answers[1]["detail"] as? String ?? "").isEmpty)
            #expect(answers[1]["id"] == nil)
            #expect(reply.headers["X-Results-Rejected"] == "1")
        }
    }

    /// The statistics equal a recount of a month of generated checks and decisions.
    @Test func statisticsReconcileWithTheDecisionLog() async throws {
        let clock = TestClock(RecognitionTests.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            var prices: [String: Double] = [:]
            var categories: [String: String] = [:]
            for item in ["K", "GLU", "HBA1C", "NA"] {
                let answer =
                    try await hub.get("/v1/catalog/items/\(item)", token: hub.admin).json["item"] as! [String: Any]
                prices[item] = answer["price"] as? Double
                categories[item] = answer["category"] as? String
            }
            var rng = SplitMix64(state: 2026)
            var reminders = 0
            var adoptions = 0
            var retestsByReason: [String: Int] = [:]
            var saved = 0.0
            var checks = 0
            let monthStart = clock.read()
            for day in 0..<30 {
                for n in 0..<4 {
                    let patient = residentID(
                        birth: "198\(day % 10)0\(1 + n)01", sequence: String(format: "%03d", day * 4 + n))
                    let item = ["K", "GLU", "HBA1C", "NA"][Int(rng.next() % 4)]
                    // Some patients have a fresh result, some an old one, some none.
                    switch rng.next() % 3 {
                    case 0:
                        _ = try await hub.call(
                            .post, "/v1/results", token: setup.lab,
                            json: RecognitionSetup.result(
                                patient: patient, item: item, performedAt: clock.read().adding(days: -1)))
                    case 1:
                        _ = try await hub.call(
                            .post, "/v1/results", token: setup.lab,
                            json: RecognitionSetup.result(
                                patient: patient, item: item, performedAt: clock.read().adding(days: -200)))
                    default: break
                    }
                    let check = try await hub.call(
                        .post, "/v1/recognition/checks", token: setup.clinician,
                        json: ["patient": patient, "item_code": item])
                    checks += 1
                    let candidates = check.json["candidates"] as? [[String: Any]] ?? []
                    let recognizable = candidates.first { $0["recognizable"] as? Bool == true }
                    if recognizable != nil { reminders += 1 }
                    if let recognizable, rng.next() % 4 != 0 {
                        let decision = try await hub.call(
                            .post, "/v1/recognition/decisions", token: setup.clinician,
                            json: [
                                "check_id": check["id"]!, "decision": "adopt", "result_id": recognizable["result_id"]!,
                            ])
                        #expect(decision.status == 201)
                        adoptions += 1
                        saved += prices[item]!
                    } else {
                        let reason = Int(rng.next() % 6) + 1
                        var body: [String: Any] = [
                            "check_id": check["id"]!, "decision": "retest", "reason_code": reason,
                        ]
                        if reason == 6 { body["note"] = "病情需要" }
                        let decision = try await hub.call(
                            .post, "/v1/recognition/decisions", token: setup.clinician, json: body)
                        #expect(decision.status == 201)
                        retestsByReason[String(reason), default: 0] += 1
                    }
                }
                clock.advance(days: 1)
            }
            let stats = try await hub.get(
                "/v1/recognition/stats?from=\(monthStart.description)&to=\(clock.read().description)",
                token: setup.auditor)
            #expect(stats.status == 200, "\(stats.text)")
            #expect(stats.json["checks"] as? Int == checks)
            #expect(stats.json["reminders"] as? Int == reminders)
            #expect(stats.json["adoptions"] as? Int == adoptions)
            #expect(stats.json["retests_by_reason"] as? [String: Int] == retestsByReason)
            #expect(stats.json["cross_institution_retrievals"] as? Int == adoptions)
            let rate = stats.json["recognition_rate"] as? Double
            #expect(abs((rate ?? -1) - Double(adoptions) / Double(reminders)) < 1e-9)
            #expect(abs((stats.json["savings"] as? Double ?? -1) - saved) < 0.005)
            #expect(abs(((stats.json["savings_by_category"] as? [String: Double])?["lab"] ?? -1) - saved) < 0.005)
            let empty = try await hub.get("/v1/recognition/stats?from=2020-01-01&to=2020-02-01", token: setup.auditor)
            #expect(empty.json["recognition_rate"] is NSNull, "no reminders: the rate is undefined")
            #expect(try await hub.get("/v1/recognition/stats", token: setup.clinician).status == 403)
        }
    }
}

/// What the tests read from one line of a bulk answer.
struct BulkAnswer: Sendable {
    var line: Int?
    var status: Int?
    var code: String?
    var field: String?
}
