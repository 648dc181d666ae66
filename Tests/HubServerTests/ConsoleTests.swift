import Crypto
import Foundation
import HubCore
import HubServer
import Synchronization
import TestSupport
import Testing

/// The web console as a person uses it: real hubs on loopback with real data, driven in a real headless Chromium
/// through the DevTools protocol (`Console/console_driver.py`). Screenshots go to `$CONSOLE_SCREENSHOTS_DIR`, or
/// `.build/console-screenshots/`.
/// Without Chromium the suite is skipped, and the one test below fails saying so: a missing browser never passes
/// unseen.
@Test func chromiumIsInstalledForTheConsoleTests() {
    #expect(Chromium.binary != nil, "\(OutsideTools.missing("Chromium (Debian: chromium fonts-noto-cjk)"))")
}

@Suite(
    .enabled(
        if: Chromium.binary != nil, "\(OutsideTools.missing("Chromium")): the console's browser tests are skipped"),
    // One browser at a time: two at once weigh on a two-core machine and on the timing tests running beside them.
    .serialized)
struct ConsoleBrowserTests {
    @Test func everyPageShowsRealDataWithoutConsoleErrors() async throws {
        let clock = ShiftedClock(daysAgo: 12)
        var city = try TestHub()
        city.config.hubId = "hub-city"
        city.config.region = "420100"
        var county = try TestHub()
        county.config.hubId = "hub-county"
        county.config.region = "420115"
        // One attempt: a notice to an unreachable clinic is a dead letter at once, for the overview to show.
        county.config.outboxMaxAttempts = 1
        let (cityHub, countyHub) = (city, county)
        defer {
            cityHub.remove()
            countyHub.remove()
        }
        try await cityHub.run { city in
            try await countyHub.run(clock: clock.read) { hub in
                let seeded = try await ConsoleData.seed(hub, city: city, clock: clock)
                let result = try await Chromium.drive(
                    scenario: "tour", port: try #require(hub.client.port),
                    plan: [
                        "tokens": ["operator": seeded.operatorToken, "clinician": seeded.clinicianToken],
                        "exam_with_dicom": seeded.examWithDICOM, "patient": "cn-resident-id|\(seeded.patient)",
                        "item_code": "CT-THORAX", "center": "wh-imaging",
                    ])
                #expect(result.errors.isEmpty, "console errors: \(result.errors)")
                for page in ["overview", "worklist", "recognition", "stats"] {
                    #expect(result.page(page)["state"] as? String == "ready", "\(page) did not finish")
                }
                let overview = result.text("overview")
                for expected in ["区域影像中心", "心电中心", "hub-city", "hub-province", "webhook:hs-clinic", "大量气胸"] {
                    #expect(overview.contains(expected), "the overview lacks \(expected):\n\(overview)")
                }
                let worklist = result.text("worklist")
                for expected in ["patient_name", "张^三", "modality", "CT", "To claim", "Awaiting verification"] {
                    #expect(worklist.contains(expected), "the worklist lacks \(expected):\n\(worklist)")
                }
                let recognition = result.text("recognition")
                for expected in ["hub-county", "hub-city", "expired", "可互认", "Recorded dec_"] {
                    #expect(recognition.contains(expected), "the recognition page lacks \(expected):\n\(recognition)")
                }
                #expect((result.json["rate_points"] as? Int ?? 0) >= 5)
                #expect((result.json["savings_bars"] as? Int ?? 0) >= 1)
                let csv = try #require(result.json["csv"] as? String).split(separator: "\r\n")
                #expect(csv.first?.hasPrefix("period_start,period_end,checks,reminders,adoptions") == true)
                #expect(csv.last?.hasPrefix("total,,") == true)
                #expect(result.screenshots.count == 4)
            }
        }
    }

    @Test func aReaderAndASeniorVerifierSignAReportThroughTheConsole() async throws {
        try await withHub { hub in
            let alliance = try await Alliance.make(hub)
            let patient = residentID(birth: "19660302", sequence: "517")
            let exam = try await ConsoleData.submit(hub, alliance, patient: patient, priority: "stat", dicom: true)
            let result = try await Chromium.drive(
                scenario: "round-trip", port: try #require(hub.client.port),
                plan: [
                    "tokens": [
                        "author": alliance.attendingToken, "verifier": alliance.secondAttendingToken,
                    ],
                    "exam": exam, "findings": "右肺压缩约 80%，纵隔左移。", "conclusion": "右侧大量气胸。",
                    "critical_value": "大量气胸",
                ])
            #expect(
                result.errors.filter { $0["expected"] as? Bool != true }.isEmpty, "console errors: \(result.errors)")
            let refusal = try #require(result.json["refusal"] as? [String: Any])
            #expect(refusal["code"] as? String == "two_level_signature")
            #expect((refusal["text"] as? String)?.contains("two_level_signature") == true)
            #expect((result.json["final_text"] as? String)?.contains("verified by") == true)

            let final = try await hub.get("/v1/exams/\(exam)", token: alliance.secondAttendingToken)
            #expect(final["step"] == "final")
            #expect(final["status"] == "completed")
            let report = try #require((final.json["reports"] as? [[String: Any]])?.last)
            #expect(report["conclusion"] as? String == "右侧大量气胸。")
            #expect((report["author"] as? [String: Any])?["practitioner_id"] as? String == alliance.attendingId)
            #expect((report["verifier"] as? [String: Any])?["title"] as? String == "chief")
            #expect((report["critical_values"] as? [[String: Any]])?.first?["description"] as? String == "大量气胸")
            #expect(final["result_id"] != nil)
        }
    }
}

/// The console's files as the hub serves them; needs no browser.
@Suite struct ConsoleFileTests {
    @Test func pagesScriptsAndStylesAreServedWithTheirTypesAndAStrictPolicy() async throws {
        try await withHub { hub in
            for (path, type) in [
                ("/console/", "text/html; charset=utf-8"), ("/console", "text/html; charset=utf-8"),
                ("/console/worklist.html", "text/html; charset=utf-8"),
                ("/console/console.js", "text/javascript; charset=utf-8"),
                ("/console/console.css", "text/css; charset=utf-8"), ("/console/favicon.svg", "image/svg+xml"),
            ] {
                let reply = try await hub.get(path)
                #expect(reply.status == 200, "\(path)")
                #expect(reply.contentType == type, "\(path)")
                let policy = try #require(reply.headers[.contentSecurityPolicy], "\(path)")
                #expect(policy.contains("script-src 'self';"))
                #expect(policy.contains("default-src 'none'"))
                #expect(!policy.contains("unsafe-inline"))
                #expect(reply.headers[.xContentTypeOptions] == "nosniff")
            }
            let missing = try await hub.get("/console/secrets.txt")
            #expect(missing.status == 404)
            #expect(missing.contentType == "application/problem+json")
            let traversal = try await hub.get("/console/..%2FPackage.swift")
            #expect(traversal.status == 404)
        }
    }

    /// The policy forbids inline script and style, so none may be written: every page loads its code from files.
    @Test func noPageCarriesInlineScriptOrStyle() throws {
        let folder = repositoryRoot.appendingPathComponent("Sources/HubServer/Resources/Console")
        let pages = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".html") }
        #expect(Set(pages) == ["index.html", "worklist.html", "recognition.html", "stats.html"])
        for page in pages {
            let html = try String(contentsOf: folder.appendingPathComponent(page), encoding: .utf8)
            let scripts = html.components(separatedBy: "<script").dropFirst()
            #expect(scripts.allSatisfy { $0.hasPrefix(#" type="module" src="/console/"#) }, "\(page)")
            #expect(!html.contains("<style"), "\(page)")
            #expect(!html.contains("style="), "\(page)")
            #expect(html.range(of: #" on[a-z]+="#, options: .regularExpression) == nil, "\(page)")
        }
    }
}

/// Finds and drives Chromium.
enum Chromium {
    static let binary: String? = {
        let candidates = [
            ProcessInfo.processInfo.environment["CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser",
            "/usr/bin/google-chrome",
        ]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var screenshots: URL {
        if let folder = ProcessInfo.processInfo.environment["CONSOLE_SCREENSHOTS_DIR"], !folder.isEmpty {
            return URL(fileURLWithPath: folder)
        }
        return repositoryRoot.appendingPathComponent(".build/console-screenshots")
    }

    struct Outcome {
        var json: [String: Any]
        var errors: [[String: Any]] { json["errors"] as? [[String: Any]] ?? [] }
        var screenshots: [String] { json["screenshots"] as? [String] ?? [] }
        func page(_ name: String) -> [String: Any] { (json["pages"] as? [String: Any])?[name] as? [String: Any] ?? [:] }
        func text(_ name: String) -> String { page(name)["text"] as? String ?? "" }
    }

    /// Runs one scenario of the driver against the hub on `port`; fails the test with the driver's account when the
    /// scenario breaks.
    static func drive(scenario: String, port: Int, plan extra: [String: Any]) async throws -> Outcome {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var plan = extra
        plan["chromium"] = binary
        plan["scenario"] = scenario
        plan["base_url"] = "http://127.0.0.1:\(port)"
        plan["screenshots"] = screenshots.appendingPathComponent(scenario).path
        let planFile = work.appendingPathComponent("plan.json")
        let resultFile = work.appendingPathComponent("result.json")
        let logFile = work.appendingPathComponent("driver.log")
        try JSONSerialization.data(withJSONObject: plan).write(to: planFile)
        let process = try ChildProcess(
            "python3",
            [
                repositoryRoot.appendingPathComponent("Tests/HubServerTests/Console/console_driver.py").path,
                planFile.path, resultFile.path,
            ], stdout: .file(logFile.path))
        let deadline = ContinuousClock.now + .seconds(120)
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.signal(SIGKILL)
                process.wait()
                Issue.record("the console driver ran past two minutes")
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        let data = try #require(try? Data(contentsOf: resultFile), "the driver wrote no result:\n\(output)")
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        try #require(
            json["ok"] as? Bool == true, "the \(scenario) scenario failed: \(json["failure"] ?? "")\n\(output)")
        return Outcome(json: json)
    }
}

/// A clock running with real time, set back by whole days while data is seeded, so that statistics spread over a
/// fortnight and the pages, which read the browser's clock, see them in the recent past.
final class ShiftedClock: Sendable {
    private let offset: Mutex<Int64>

    init(daysAgo: Int) { offset = Mutex(-Int64(daysAgo) * 86_400_000) }

    var read: @Sendable () -> Timestamp { { Timestamp.now().adding(milliseconds: self.offset.withLock { $0 }) } }

    func set(daysAgo: Int, minutes: Int = 0) {
        offset.withLock { $0 = -Int64(daysAgo) * 86_400_000 + Int64(minutes) * 60_000 }
    }
}

/// What the tour needs: a county alliance with open and finished work, a critical value, a dead letter, two peers
/// (one live, one not), a result at the peer, and two weeks of recognition checks and decisions.
struct ConsoleData {
    var operatorToken: String
    var clinicianToken: String
    var examWithDICOM: String
    var patient: String

    static func seed(_ hub: HubClient, city: HubClient, clock: ShiftedClock) async throws -> ConsoleData {
        let alliance = try await Alliance.make(hub)
        try await hub.registerWebhook("hs-clinic", url: "http://127.0.0.1:9/notices")
        try await hub.institution("wh-renmin", level: "secondary", region: "420106", alliances: ["wh-east"])
        var ecg = hub.centerBody(id: "wh-ecg", institution: "wh-xiehe", kind: "ecg", items: ["ECG-12"])
        ecg["name"] = "东区心电中心"
        let ecgCenter = try await hub.call(.post, "/v1/centers", token: hub.admin, json: ecg)
        try #require(ecgCenter.status == 201, "\(ecgCenter.text)")
        let (_, operatorToken) = try await hub.practitioner(
            at: "wh-xiehe", title: "attending", roles: ["admin", "reader", "verifier", "auditor"])
        let (_, clinician) = try await hub.practitioner(at: "wh-renmin", title: "attending", roles: ["clinician"])

        // The city hub holds an older chest CT of the same patient, and is a peer; the province hub is down.
        let patient = residentID(birth: "19800101", sequence: "123")
        try await city.institution("wh-tongji", level: "tertiary", region: "420103", alliances: ["wh-city"])
        let cityCenter = try await city.call(
            .post, "/v1/centers", token: city.admin,
            json: city.centerBody(id: "tj-imaging", institution: "wh-tongji", items: ["CT-CHEST"]))
        try #require(cityCenter.status == 201, "\(cityCenter.text)")
        let (_, cityReader) = try await city.practitioner(at: "wh-tongji", roles: ["reader", "verifier"])
        for daysAgo in [40, 130] {
            let registered = try await city.call(
                .post, "/v1/results", token: cityReader,
                json: [
                    "patient": ["identifiers": [["system": "cn-resident-id", "value": patient]], "name": "张三"],
                    "item_code": "CT-CHEST", "performed_at": Timestamp.now().adding(days: -daysAgo).description,
                    "findings": "双肺纹理清晰。", "conclusion": "胸部CT未见异常。",
                ])
            try #require(registered.status == 201, "\(registered.text)")
        }
        try await Federation.link(hub, to: city)
        // The city hub must know the county hub to verify its signed questions; it asks nothing back.
        try await Federation.link(city, to: hub, serves: [])
        let province = try await hub.call(
            .post, "/v1/peers", token: hub.admin,
            json: [
                "id": "hub-province", "url": "http://127.0.0.1:9",
                "public_key": Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString(),
                "region": "420000", "serves": ["recognition"],
            ])
        try #require(province.status == 201, "\(province.text)")

        // Twelve days ago: a chest CT read and signed, with a critical value the clinic has not acknowledged.
        let first = try await submit(hub, alliance, patient: patient, priority: "urgent", dicom: true)
        for (token, path, body) in [
            (alliance.attendingToken, "claim", nil),
            (
                alliance.attendingToken, "report",
                [
                    "findings": "右肺野透亮度增高，肺纹理消失，右肺压缩约 80%。", "conclusion": "右侧大量气胸。",
                    "critical_values": [["description": "大量气胸"]],
                ] as [String: Any]?
            ),
            (alliance.secondAttendingToken, "verify", nil),
        ] {
            let reply = try await hub.call(.post, "/v1/exams/\(first)/\(path)", token: token, json: body)
            try #require(reply.status == 200, "\(path): \(reply.text)")
        }

        // Then every day, clinicians at the second hospital ask before ordering a chest CT again.
        for day in 0..<12 {
            clock.set(daysAgo: 11 - day, minutes: -60)
            for n in 0..<(1 + day % 3) {
                let check = try await hub.call(
                    .post, "/v1/recognition/checks", token: clinician,
                    json: ["patient": patient, "item_code": "CT-CHEST", "federated": false])
                try #require(check.status == 201, "\(check.text)")
                let candidate = (check.json["candidates"] as? [[String: Any]])?.first {
                    $0["recognizable"] as? Bool == true
                }
                let adopt = (day + n) % 4 != 3
                let decision = try await hub.call(
                    .post, "/v1/recognition/decisions", token: clinician,
                    json: adopt
                        ? ["check_id": check["id"]!, "decision": "adopt", "result_id": candidate?["result_id"] ?? ""]
                        : ["check_id": check["id"]!, "decision": "retest", "reason_code": 1 + day % 3])
                try #require(decision.status == 201, "\(decision.text)")
            }
        }
        clock.set(daysAgo: 0)

        // Today's open work: a stat chest CT waiting with its images, a routine X-ray, one being read, one to sign,
        // and an ECG.
        let second = residentID(birth: "19521108", sequence: "046")
        let stat = try await submit(hub, alliance, patient: second, name: "张^三", priority: "stat", dicom: true)
        _ = try await submit(
            hub, alliance, patient: residentID(birth: "19900215", sequence: "318"), name: "王^芳", item: "DR-CHEST")
        let reading = try await submit(
            hub, alliance, patient: residentID(birth: "19731030", sequence: "772"), name: "李^四")
        let claimed = try await hub.call(.post, "/v1/exams/\(reading)/claim", token: alliance.residentToken)
        try #require(claimed.status == 200, "\(claimed.text)")
        let toSign = try await submit(
            hub, alliance, patient: residentID(birth: "19881201", sequence: "205"), name: "赵^敏")
        for (path, body) in [
            ("claim", nil), ("report", ["findings": "双肺纹理增粗。", "conclusion": "支气管炎改变。"] as [String: Any]?),
        ] {
            let reply = try await hub.call(
                .post, "/v1/exams/\(toSign)/\(path)", token: alliance.attendingToken, json: body)
            try #require(reply.status == 200, "\(path): \(reply.text)")
        }
        _ = try await submit(
            hub, alliance, patient: residentID(birth: "19580707", sequence: "131"), name: "陈^刚", item: "ECG-12")
        return ConsoleData(
            operatorToken: operatorToken, clinicianToken: clinician, examWithDICOM: stat, patient: patient)
    }

    /// Submits an exam from the township clinic, with a CT image when asked; answers its id.
    static func submit(
        _ hub: HubClient, _ alliance: Alliance, patient: String, name: String = "张^三", item: String = "CT-CHEST",
        priority: String = "routine", dicom: Bool = false
    ) async throws -> String {
        var body = Alliance.examBody(patientID: patient, item: item, priority: priority)
        if var person = body["patient"] as? [String: Any] {
            person["name"] = name.replacingOccurrences(of: "^", with: "")
            body["patient"] = person
        }
        let exam = try await hub.call(.post, "/v1/exams", token: alliance.clinicToken, json: body)
        try #require(exam.status == 201, "\(exam.text)")
        let id = try #require(exam["id"])
        if dicom {
            let file = try ctFile(
                patientID: patient, name: name, sopInstance: "1.2.826.0.1.3680043.10.9.\(patient.prefix(12))")
            let upload = try await hub.call(
                .post, "/v1/exams/\(id)/attachments", token: alliance.clinicToken, raw: file,
                contentType: "application/dicom")
            try #require(upload.status == 201, "\(upload.text)")
        }
        return id
    }
}
