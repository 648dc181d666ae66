import Foundation
import Testing

@Suite struct HubctlPeopleTests {
    /// An operator registers a practitioner, issues them a token for a workstation, sees it listed, and revokes it,
    /// all from the command line; tables for people, JSON for scripts.
    @Test func operatorsManagePractitionersAndTheirTokens() async throws {
        try await withHub { hub in
            try await hub.institution("wh-xiehe", level: "tertiary")
            let url = "http://127.0.0.1:\(try #require(hub.client.port))"
            func ctl(_ arguments: [String], token: String? = nil) async throws -> (Int32, String) {
                let result = try await Hubctl.run(arguments + ["--url", url, "--token", token ?? hub.admin])
                return (result.status, result.output)
            }
            func object(_ text: String) throws -> [String: Any] {
                try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
            }

            let created = try await ctl([
                "practitioners", "create", "--institution", "wh-xiehe", "--name", "李医生", "--title", "attending",
                "--department", "放射科", "--role", "reader", "--role", "verifier", "--json",
            ])
            #expect(created.0 == 0, "\(created.1)")
            let practitioner = try #require(try object(created.1)["id"] as? String)

            let table = try await ctl(["practitioners", "list", "--institution", "wh-xiehe"])
            #expect(table.0 == 0)
            #expect(table.1.hasPrefix("ID") && table.1.contains("李医生") && table.1.contains("reader,verifier"))
            let shown = try object(try await ctl(["practitioners", "get", practitioner, "--json"]).1)
            #expect(shown["department"] as? String == "放射科")
            let badTitle = try await ctl([
                "practitioners", "create", "--institution", "wh-xiehe", "--name", "X", "--title", "professor",
            ])
            #expect(badTitle.0 == 1)
            #expect(badTitle.1.contains("field: title"), "\(badTitle.1)")

            let issued = try await ctl([
                "token", "issue", "--practitioner", practitioner, "--role", "reader", "--label", "reading-room-3",
            ])
            #expect(issued.0 == 0, "\(issued.1)")
            let secret = issued.1.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(secret.hasPrefix("hub_"))
            let me = try object(try await ctl(["token", "whoami", "--json"], token: secret).1)
            #expect(me["practitioner_id"] as? String == practitioner)
            #expect(me["roles"] as? [String] == ["reader"])
            let tokenId = try #require(me["token_id"] as? String)

            let tokens = try await ctl(["token", "list", "--practitioner", practitioner])
            #expect(tokens.1.contains(tokenId) && tokens.1.contains("reading-room-3"), "\(tokens.1)")
            #expect(!tokens.1.contains(secret), "a token list never shows a secret")
            let listed = try object(try await ctl(["token", "list", "--practitioner", practitioner, "--json"]).1)
            #expect((listed["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [tokenId])

            let revoked = try await ctl(["token", "revoke", tokenId])
            #expect(revoked.0 == 0, "\(revoked.1)")
            #expect(revoked.1.contains(tokenId))
            let refused = try await ctl(["token", "whoami"], token: secret)
            #expect(refused.0 == 1)
            #expect(refused.1.contains("401"))

            let suspended = try await ctl(["practitioners", "suspend", practitioner])
            #expect(suspended.1.contains("suspended"))
            let noToken = try await ctl(["token", "issue", "--practitioner", practitioner])
            #expect(noToken.0 == 1)
            #expect(noToken.1.contains("409"), "a suspended practitioner gets no new token: \(noToken.1)")
            let active = try await ctl(["practitioners", "activate", practitioner, "--json"])
            #expect(try object(active.1)["status"] as? String == "active")
        }
    }

    @Test func auditorsReadTheAuditLogAndOperatorsLookUpCatalogItemsAndDeliveries() async throws {
        try await withHub { hub in
            try await hub.institution("h")
            let (_, auditor) = try await hub.practitioner(at: "h", roles: ["auditor"])
            let url = "http://127.0.0.1:\(try #require(hub.client.port))"
            let audit = try await Hubctl.run(["audit", "list", "--target", "h", "--url", url, "--token", auditor])
            #expect(audit.status == 0, "\(audit.output)")
            #expect(audit.output.hasPrefix("SEQ") && audit.output.contains("institution.create"))
            let json = try await Hubctl.run([
                "audit", "list", "--target", "h", "--json", "--url", url, "--token", auditor,
            ])
            let items =
                (try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])?["items"]
                as? [[String: Any]]
            #expect(items?.first?["action"] as? String == "institution.create")

            let item = try await Hubctl.run(["catalog", "item", "CT-CHEST", "--url", url, "--token", hub.admin])
            #expect(item.status == 0, "\(item.output)")
            #expect(item.output.hasPrefix("VERSION") && item.output.contains("2026.1") && item.output.contains("CT"))
            let versions = try await Hubctl.run(["catalog", "versions", "--url", url, "--token", hub.admin])
            let current = versions.output.split(separator: "\n").first { $0.hasPrefix("2026.1") }
            #expect(current?.contains(" true ") == true, "booleans read as true/false: \(versions.output)")
            let missing = try await Hubctl.run(["catalog", "item", "NOPE", "--url", url, "--token", hub.admin])
            #expect(missing.status == 1)
            #expect(missing.output.contains("404"))

            let delivery = try await Hubctl.run(["outbox", "get", "dlv_nope", "--url", url, "--token", hub.admin])
            #expect(delivery.status == 1)
            #expect(delivery.output.contains("404 not_found"))
        }
    }
}

@Suite struct HubctlCompletionTests {
    @Test func completionScriptsNameTheCommands() async throws {
        let bash = try await Hubctl.run(["--generate-completion-script", "bash"])
        #expect(bash.status == 0)
        #expect(bash.output.contains("complete") && bash.output.contains("hubctl"))
        for command in ["institutions", "practitioners", "token", "backup", "restore", "audit"] {
            #expect(bash.output.contains(command), "the bash script completes \(command)")
        }
        for shell in ["zsh", "fish"] {
            let script = try await Hubctl.run(["--generate-completion-script", shell])
            #expect(script.status == 0)
            #expect(script.output.contains("practitioners"), "the \(shell) script completes practitioners")
        }
    }
}
