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

        /// The body of `POST /v1/institutions/{id}/practitioners`: the title and roles as given, for the hub to check.
        struct Body: Encodable {
            var name: String
            var title: String
            var department: String?
            var roles: [String]
        }

        func run() async throws {
            let answer = try await connection.request(
                "POST", "/v1/institutions/\(institution)/practitioners",
                json: Body(name: name, title: title, department: department, roles: role))
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

        /// The body of `POST /v1/practitioners/{id}/tokens`.
        struct Body: Encodable {
            var roles: [String]?
            var label: String?
            var lifetimeDays: Int?

            enum CodingKeys: String, CodingKey {
                case roles, label
                case lifetimeDays = "lifetime_days"
            }
        }

        func run() async throws {
            let answer = try await connection.request(
                "POST", "/v1/practitioners/\(practitioner)/tokens",
                json: Body(roles: role.isEmpty ? nil : role, label: label, lifetimeDays: lifetimeDays))
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
