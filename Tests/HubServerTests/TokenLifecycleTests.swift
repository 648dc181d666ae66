import Foundation
import HubCore
import HubServer
import HubStore
import Testing

/// The permission bits of a real file, from stat(2).
func fileMode(_ path: String) throws -> mode_t {
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path])
    }
    return info.st_mode & 0o777
}

@Suite struct TokenLifecycleTests {
    /// A token follows its practitioner: roles taken away are gone from every token they hold at once, on /v1/me and
    /// at the step that needs them; given back, they return (never beyond what the token was issued with).
    @Test func aDemotedPractitionersTokenLosesTheRoleAtOnce() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let submitted = try await hub.call(
                .post, "/v1/exams", token: people.clinicToken, json: Alliance.examBody(patientID: residentID()))
            try #require(submitted.status == 201, "\(submitted.text)")
            let examId = try #require(submitted["id"])
            let claimed = try await hub.call(.post, "/v1/exams/\(examId)/claim", token: people.residentToken)
            try #require(claimed.status == 200, "\(claimed.text)")
            let reported = try await hub.call(
                .post, "/v1/exams/\(examId)/report", token: people.residentToken,
                json: ["findings": "双肺纹理清晰。", "conclusion": "胸部CT未见异常。"])
            try #require(reported.status == 200, "\(reported.text)")

            let before = try await hub.get("/v1/me", token: people.attendingToken)
            #expect(before.json["roles"] as? [String] == ["reader", "verifier"])
            let demoted = try await hub.call(
                .patch, "/v1/practitioners/\(people.attendingId)", token: hub.admin, json: ["roles": ["reader"]])
            try #require(demoted.status == 200, "\(demoted.text)")

            let after = try await hub.get("/v1/me", token: people.attendingToken)
            #expect(after.status == 200)
            #expect(after.json["roles"] as? [String] == ["reader"])
            let refused = try await hub.call(.post, "/v1/exams/\(examId)/verify", token: people.attendingToken)
            #expect(refused.status == 403, "\(refused.text)")
            #expect(refused["detail"]?.contains("verifier") == true)

            // Given back, the role returns to the token, which was issued with it.
            try await #require(
                hub.call(
                    .patch, "/v1/practitioners/\(people.attendingId)", token: hub.admin,
                    json: ["roles": ["reader", "verifier"]]
                ).status == 200)
            let verified = try await hub.call(.post, "/v1/exams/\(examId)/verify", token: people.attendingToken)
            #expect(verified.status == 200, "\(verified.text)")
            #expect(verified["business_status"] == "final")
        }
    }

    /// Another process on the same file (here a second `AppDatabase`, as `hubctl` or a second hubd would be) demotes,
    /// suspends and reactivates without telling this hub: every change reaches the tokens it has cached within
    /// about a second. Polled with a deadline far above that bound, so a slow machine does not fail it; the principal
    /// cache's own lifetime (30 s) is far beyond the deadline, so a hub that did not notice would fail.
    @Test func changesMadeByAnotherProcessReachCachedTokens() async throws {
        try await withHub { hub in
            try await hub.institution("a")
            let (id, token) = try await hub.practitioner(at: "a", roles: ["reader", "verifier"])
            for _ in 0..<3 {
                #expect(try await hub.get("/v1/me", token: token).json["roles"] as? [String] == ["reader", "verifier"])
            }
            let other = try AppDatabase(path: hub.env.config.databasePath)
            defer { try? other.close() }
            func practitioner(_ change: @escaping @Sendable (inout Practitioner) -> Void) async throws {
                try await other.write { db in
                    var p = try #require(try RegistryStore.practitioner(db, id: id))
                    change(&p)
                    try RegistryStore.update(db, p)
                }
            }
            func institution(_ status: RecordStatus) async throws {
                try await other.write { db in
                    var i = try #require(try RegistryStore.institution(db, id: "a"))
                    i.status = status
                    try RegistryStore.update(db, i)
                }
            }
            let deadline = Duration.seconds(10)

            try await practitioner { $0.roles = [.reader] }
            #expect(
                try await TestReceiver.eventually(timeout: deadline) {
                    try await hub.get("/v1/me", token: token).json["roles"] as? [String] == ["reader"]
                }, "a demotion made elsewhere narrows the cached token")

            try await practitioner { $0.status = .suspended }
            #expect(
                try await TestReceiver.eventually(timeout: deadline) {
                    try await hub.get("/v1/me", token: token).status == 401
                }, "a suspension made elsewhere locks the cached token out")

            try await practitioner {
                $0.status = .active
                $0.roles = [.reader, .verifier]
            }
            #expect(
                try await TestReceiver.eventually(timeout: deadline) {
                    try await hub.get("/v1/me", token: token).json["roles"] as? [String] == ["reader", "verifier"]
                })

            try await institution(.suspended)
            #expect(
                try await TestReceiver.eventually(timeout: deadline) {
                    try await hub.get("/v1/me", token: token).status == 401
                }, "an institution suspended elsewhere locks its staff out")
            try await institution(.active)
            #expect(
                try await TestReceiver.eventually(timeout: deadline) {
                    try await hub.get("/v1/me", token: token).status == 200
                })
        }
    }

    @Test func tokensExpireAfterTheirLifetime() async throws {
        let clock = SteppedClock()
        var testHub = try TestHub()
        defer { testHub.remove() }
        testHub.config.tokenLifetimeDays = 30
        try await testHub.run(clock: clock.read) { hub in
            try await hub.institution("a")
            let created = try await hub.call(
                .post, "/v1/institutions/a/practitioners", token: hub.admin,
                json: ["name": "医生", "title": "attending", "roles": ["reader"]])
            let id = try #require(created["id"])

            let standard = try await hub.call(.post, "/v1/practitioners/\(id)/tokens", token: hub.admin)
            #expect(standard.status == 201)
            let issuedAt = try #require(standard["created_at"].flatMap { Timestamp(rfc3339: $0) })
            #expect(standard["expires_at"].flatMap { Timestamp(rfc3339: $0) } == issuedAt.adding(days: 30))
            let short = try await hub.call(
                .post, "/v1/practitioners/\(id)/tokens", token: hub.admin, json: ["lifetime_days": 1])
            #expect(short.status == 201)
            #expect(short["expires_at"].flatMap { Timestamp(rfc3339: $0) } == issuedAt.adding(days: 1))
            for bad in [0, 3651] {
                let refused = try await hub.call(
                    .post, "/v1/practitioners/\(id)/tokens", token: hub.admin, json: ["lifetime_days": bad])
                #expect(refused.status == 422)
                #expect(refused["field"] == "lifetime_days")
            }

            let shortToken = try #require(short["token"])
            let standardToken = try #require(standard["token"])
            #expect(try await hub.get("/v1/me", token: shortToken)["expires_at"] == short["expires_at"])
            let admin = try await hub.get("/v1/me", token: hub.admin)
            #expect(admin.json.keys.contains("expires_at") && admin.json["expires_at"] is NSNull)

            clock.advance(minutes: 25 * 60)
            let expired = try await hub.get("/v1/me", token: shortToken)
            #expect(expired.status == 401)
            #expect(expired["detail"]?.contains("expired") == true, "\(expired.text)")
            #expect(try await hub.get("/v1/me", token: standardToken).status == 200)

            clock.advance(minutes: 400 * 24 * 60)
            #expect(try await hub.get("/v1/me", token: standardToken).status == 401)
            #expect(
                try await hub.get("/v1/me", token: hub.admin).status == 200,
                "the first-start admin token never expires")
        }
    }

    /// `hubctl token rotate-admin` writes a new admin token (0600) and revokes the old one, which a running hub stops
    /// accepting within a second; `clean-admin-file` and the next start remove a file whose token no longer works,
    /// and a start without any live admin token writes a new one.
    @Test func hubctlRotatesTheAdminTokenAndStaleFilesGo() async throws {
        let testHub = try TestHub()
        defer { testHub.remove() }
        let path = testHub.config.adminTokenPath
        let dataDir = testHub.directory.path
        let first = try await testHub.run { hub in
            let old = hub.admin
            #expect(try await hub.get("/v1/me", token: old).status == 200)
            let rotated = try await Hubctl.run(["token", "rotate-admin", "--data-dir", dataDir])
            #expect(rotated.status == 0, "\(rotated.output)")
            #expect(rotated.output.contains("revoked tok_"))
            let new = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(new.hasPrefix("hub_") && new != old)
            #expect(try fileMode(path) == 0o600)
            #expect(
                try await TestReceiver.eventually(timeout: .seconds(10)) {
                    try await hub.get("/v1/me", token: old).status == 401
                }, "the old admin token stops working")
            let me = try await hub.get("/v1/me", token: new)
            #expect(me.status == 200)
            #expect(me.json["roles"] as? [String] == ["admin"])

            // Revoked through the API, the file's token no longer works: hubctl removes the file.
            let tokenId = try #require(me["token_id"])
            #expect(try await hub.call(.delete, "/v1/tokens/\(tokenId)", token: new).status == 200)
            let kept = try await Hubctl.run(["token", "clean-admin-file", "--data-dir", dataDir])
            #expect(kept.status == 0)
            #expect(kept.output.contains("removed"), "\(kept.output)")
            #expect(!FileManager.default.fileExists(atPath: path))
            return new
        }
        // The next start finds no live admin token and writes a new one.
        try await testHub.run { hub in
            #expect(hub.admin != first)
            #expect(try await hub.get("/v1/me", token: hub.admin).status == 200)
            #expect(try fileMode(path) == 0o600)
            let again = try await Hubctl.run(["token", "clean-admin-file", "--data-dir", dataDir])
            #expect(again.output.contains("kept"), "\(again.output)")
            #expect(FileManager.default.fileExists(atPath: path))
        }
    }
}
