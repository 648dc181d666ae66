import Foundation
import HubStore
import TestSupport
import Testing

/// Runs the built `hubctl` as an operator would.
struct Hubctl {
    static var binary: URL {
        get throws {
            let candidates = [
                URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
                    "hubctl"),
                repositoryRoot.appendingPathComponent(".build/debug/hubctl"),
            ]
            guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw CocoaError(
                    .fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "hubctl is not built; run swift build first"]
                )
            }
            return found
        }
    }

    /// Waits on a Dispatch thread: `hubctl` talks to hubs running in this process, which need the cooperative pool
    /// (two threads on a 2-core machine) that a blocking wait here would hold.
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await offPool { try runBlocking(arguments) }
    }

    static func runBlocking(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let (status, output) = try ChildProcess.run(try binary.path, arguments)
        return (status, String(decoding: output, as: UTF8.self))
    }
}

@Suite struct HubctlTests {
    @Test func offlineMigrateTokenAndAuditVerify() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hubctl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = try await Hubctl.run(["audit", "verify", "--data-dir", directory.path])
        #expect(missing.status != 0)
        #expect(missing.output.contains("no hub database"))

        #expect(try await Hubctl.run(["migrate", "--data-dir", directory.path]).status == 0)
        let issued = try await Hubctl.run([
            "token", "create", "--data-dir", directory.path, "--role", "admin", "--role", "auditor",
        ])
        #expect(issued.status == 0)
        let secret = issued.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("hub_"))
        let badRole = try await Hubctl.run(["token", "create", "--data-dir", directory.path, "--role", "superuser"])
        #expect(badRole.status != 0)
        #expect(badRole.output.contains("unknown role"))

        let database = try AppDatabase(path: directory.appendingPathComponent("hub.sqlite").path)
        let principal = try await database.read { try TokenStore.resolve($0, secret: secret) }
        #expect(principal?.roles == [.admin, .auditor])

        let intact = try await Hubctl.run(["audit", "verify", "--data-dir", directory.path])
        #expect(intact.status == 0)
        #expect(intact.output.contains("intact: 1 records"))

        try await database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_update")
            try db.execute(sql: "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1")
        }
        try database.close()
        let broken = try await Hubctl.run(["audit", "verify", "--data-dir", directory.path])
        #expect(broken.status == 1)
        #expect(broken.output.contains("BROKEN at record 1"))
    }

    @Test func helpDescribesTheCommands() async throws {
        let help = try await Hubctl.run(["--help"])
        #expect(help.status == 0)
        for command in ["migrate", "token", "audit"] { #expect(help.output.contains(command)) }
    }
}

@Suite struct HubctlOnlineTests {
    @Test func operatorsManageTheRegistryAndOutboxFromTheCommandLine() async throws {
        try await withHub { hub in
            let url = "http://127.0.0.1:\(try #require(hub.client.port))"
            func ctl(_ arguments: [String]) async throws -> (Int32, String) {
                let result = try await Hubctl.run(arguments + ["--url", url, "--token", hub.admin])
                return (result.status, result.output)
            }
            let created = try await ctl([
                "institutions", "create", "--id", "hs-clinic", "--name", "花山卫生院", "--level", "primary", "--region",
                "420115", "--alliance", "wh-east",
            ])
            #expect(created.0 == 0, "\(created.1)")
            #expect(created.1.contains("花山卫生院"))
            let table = try await ctl(["institutions", "list"])
            #expect(table.1.contains("ID") && table.1.contains("hs-clinic") && table.1.contains("wh-east"))
            let json = try await ctl(["institutions", "get", "hs-clinic", "--json"])
            let object = try JSONSerialization.jsonObject(with: Data(json.1.utf8)) as? [String: Any]
            #expect(object?["region"] as? String == "420115")

            let bad = try await ctl(["institutions", "create", "--name", "X", "--level", "huge", "--region", "420115"])
            #expect(bad.0 == 1)
            #expect(bad.1.contains("validation_failed") && bad.1.contains("field: level"))

            let suspended = try await ctl(["institutions", "suspend", "hs-clinic"])
            #expect(suspended.1.contains("suspended"))

            let versions = try await ctl(["catalog", "versions"])
            #expect(versions.1.contains("2026.1"))
            let labs = try await ctl(["catalog", "show", "--category", "CT", "--json"])
            let ct =
                (try JSONSerialization.jsonObject(with: Data(labs.1.utf8)) as? [String: Any])?["items"]
                as? [[String: Any]]
            #expect(ct?.isEmpty == false)
            #expect(ct?.allSatisfy { $0["category"] as? String == "CT" } == true)

            let outbox = try await ctl(["outbox", "list", "--state", "dead"])
            #expect(outbox.0 == 0)
            #expect(outbox.1.hasPrefix("ID"))
            let replay = try await ctl(["outbox", "replay", "dlv_nope"])
            #expect(replay.0 == 1)
            #expect(replay.1.contains("404 not_found"))

            let unauthorized = try await Hubctl.run([
                "institutions", "list", "--url", url, "--token", "hub_wrongwrongwrongwrongwrong",
            ])
            #expect(unauthorized.status == 1)
            #expect(unauthorized.output.contains("401"))
        }
    }
}

@Suite struct HubctlStatsTests {
    @Test func statsPrintAsATableAndAsCSV() async throws {
        try await withHub { hub in
            try await hub.institution("h")
            let (_, auditor) = try await hub.practitioner(at: "h", roles: ["auditor"])
            let url = "http://127.0.0.1:\(try #require(hub.client.port))"
            let table = try await Hubctl.run(["stats", "--url", url, "--token", auditor])
            #expect(table.status == 0, "\(table.output)")
            #expect(table.output.contains("recognition_rate") && table.output.contains("undefined"))
            let csv = try await Hubctl.run(["stats", "--csv", "--category", "lab", "--url", url, "--token", auditor])
            let lines = csv.output.split(separator: "\n")
            #expect(lines.first == "metric,value")
            #expect(lines.contains("reminders,0"))
            #expect(lines.contains("savings_lab_yuan,0.00"))
            let denied = try await Hubctl.run(["stats", "--url", url, "--token", hub.admin])
            #expect(denied.status == 1)
            #expect(denied.output.contains("403"))
        }
    }
}

@Suite struct HubctlPeerTests {
    @Test func operatorsExchangeIdentitiesAndAddPeers() async throws {
        try await withHub { hub in
            let url = "http://127.0.0.1:\(try #require(hub.client.port))"
            let whoami = try await Hubctl.run(["peers", "whoami", "--url", url, "--json"])
            #expect(whoami.status == 0, "\(whoami.output)")
            let identity = try JSONSerialization.jsonObject(with: Data(whoami.output.utf8)) as? [String: Any]
            #expect(identity?["hub_id"] as? String == "hub-local")
            let key = try #require(identity?["public_key"] as? String)
            let added = try await Hubctl.run([
                "peers", "add", "--id", "hub-city", "--peer-url", "http://127.0.0.1:9", "--public-key", key, "--region",
                "420100", "--url", url, "--token", hub.admin,
            ])
            #expect(added.status == 0, "\(added.output)")
            let listed = try await Hubctl.run(["peers", "list", "--url", url, "--token", hub.admin])
            #expect(listed.output.contains("hub-city") && listed.output.contains("420100"))
            let status = try await Hubctl.run([
                "peers", "status", "hub-city", "--url", url, "--token", hub.admin, "--json",
            ])
            #expect(status.output.contains("\"circuit\" : \"closed\""))
            // Nothing listens at the peer's address: the refresh says so, in a table for people.
            let refreshed = try await Hubctl.run(["peers", "refresh", "hub-city", "--url", url, "--token", hub.admin])
            #expect(refreshed.status == 0, "\(refreshed.output)")
            #expect(refreshed.output.contains("REACHABLE") && refreshed.output.contains("false"), "\(refreshed.output)")
            #expect(refreshed.output.contains("connectionRefused"), "\(refreshed.output)")
        }
    }
}

@Suite struct HubctlWebhookAndTurnaroundTests {
    @Test func operatorsSetAndTestWebhooksAndReadTurnaround() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        try await withHub { hub in
            let url = "http://127.0.0.1:\(try #require(hub.client.port))"
            _ = try await Alliance.make(hub)
            let set = try await Hubctl.run(
                [
                    "webhooks", "set", "hs-clinic", "--webhook-url", receiver.url, "--secret",
                    "a-secret-of-enough-length", "--url", url, "--token", hub.admin,
                ])
            #expect(set.status == 0, "\(set.output)")
            #expect(set.output.contains(receiver.url))
            let got = try await Hubctl.run([
                "webhooks", "get", "hs-clinic", "--url", url, "--token", hub.admin, "--json",
            ])
            #expect(got.output.contains("\"secret_set\" : true"), "\(got.output)")
            let test = try await Hubctl.run(["webhooks", "test", "hs-clinic", "--url", url, "--token", hub.admin])
            #expect(test.status == 0, "\(test.output)")
            #expect(await TestReceiver.eventually { receiver.all.count == 1 })
            let missing = try await Hubctl.run(["webhooks", "get", "nowhere", "--url", url, "--token", hub.admin])
            #expect(missing.status != 0)
            #expect(missing.output.contains("404"))

            let turnaround = try await Hubctl.run([
                "centers", "turnaround", "wh-imaging", "--url", url, "--token", hub.admin, "--json",
            ])
            #expect(turnaround.status == 0, "\(turnaround.output)")
            #expect(turnaround.output.contains("\"center_id\" : \"wh-imaging\""))
            let listed = try await Hubctl.run([
                "centers", "list", "--include-peers", "--url", url, "--token", hub.admin,
            ])
            #expect(listed.output.contains("HUB_ID") && listed.output.contains("hub-local"), "\(listed.output)")
        }
        await receiver.stop()
    }
}
