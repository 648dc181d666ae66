import ArgumentParser
import Foundation
import HubCore

struct Practitioners: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "People of member institutions, with their roles.",
        subcommands: [List.self, Get.self, Create.self, Suspend.self, Activate.self])

    static let columns = ["id", "name", "title", "department", "roles", "institution_id", "status"]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an institution's practitioners.")
        @OptionGroup var connection: Connection
        @Option(help: "The institution.") var institution: String
        @Option(help: "Page size (1-500).") var limit: Int?
        @Option(help: "Cursor from the previous page.") var next: String?

        func run() async throws {
            let path =
                "/v1/institutions/\(institution)/practitioners"
                + query([("limit", limit.map(String.init)), ("next", next)])
            try connection.show(try await connection.request("GET", path), columns: Practitioners.columns)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one practitioner.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try connection.show(
                try await connection.request("GET", "/v1/practitioners/\(id)"), columns: Practitioners.columns)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a practitioner at an institution.")
        @OptionGroup var connection: Connection
        @Option(help: "The institution.") var institution: String
        @Option var name: String
        @Option(help: "resident, attending, associate_chief or chief.") var title: String
        @Option var department: String?
        @Option(help: "Role (repeatable): \(Role.allowedValues).") var role: [String] = []

        func run() async throws {
            var body: [String: Any] = ["name": name, "title": title, "roles": role]
            if let department { body["department"] = department }
            let answer = try await connection.request(
                "POST", "/v1/institutions/\(institution)/practitioners",
                body: try JSONSerialization.data(withJSONObject: body))
            try connection.show(answer, columns: Practitioners.columns)
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Suspend a practitioner: their tokens stop working until reactivated.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try await connection.setStatus("suspended", at: "/v1/practitioners/\(id)", columns: Practitioners.columns)
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reactivate a suspended practitioner.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try await connection.setStatus("active", at: "/v1/practitioners/\(id)", columns: Practitioners.columns)
        }
    }
}

/// Bearer tokens through the running hub; `token create` (in Hubctl.swift) bootstraps one offline.
extension Token {
    static let columns = [
        "id", "label", "roles", "practitioner_id", "institution_id", "created_at", "expires_at", "revoked_at",
    ]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a practitioner's tokens (never their secrets).")
        @OptionGroup var connection: Connection
        @Option(help: "The practitioner.") var practitioner: String
        func run() async throws {
            try connection.show(
                try await connection.request("GET", "/v1/practitioners/\(practitioner)/tokens"), columns: Token.columns)
        }
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token to a practitioner; the secret is printed once (with --json, in the answer).")
        @OptionGroup var connection: Connection
        @Option(help: "The practitioner.") var practitioner: String
        @Option(help: "Roles to grant (repeatable; default all of the practitioner's roles).") var role: [String] = []
        @Option(help: "A label to recognise the token by, e.g. the workstation.") var label: String?
        @Option(help: "Days the token works (1-3650; default the hub's auth.token_lifetime_days).")
        var lifetimeDays: Int?

        func run() async throws {
            var body: [String: Any] = [:]
            if !role.isEmpty { body["roles"] = role }
            if let label { body["label"] = label }
            if let lifetimeDays { body["lifetime_days"] = lifetimeDays }
            let answer = try await connection.request(
                "POST", "/v1/practitioners/\(practitioner)/tokens",
                body: try JSONSerialization.data(withJSONObject: body))
            if connection.json {
                try connection.show(answer, columns: [])
            } else {
                print(Table.text((answer as? [String: Any])?["token"]))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token at once, by its id.")
        @OptionGroup var connection: Connection
        @Argument(help: "The token's id (tok_…), as `token list` shows it.") var id: String
        func run() async throws {
            try connection.show(try await connection.request("DELETE", "/v1/tokens/\(id)"), columns: Token.columns)
        }
    }

    struct Whoami: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the token in use: its id, practitioner, institution and roles.")
        @OptionGroup var connection: Connection
        func run() async throws {
            try connection.show(
                try await connection.request("GET", "/v1/me"),
                columns: ["token_id", "practitioner_id", "institution_id", "name", "title", "roles", "expires_at"])
        }
    }
}
