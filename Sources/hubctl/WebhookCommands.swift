import ArgumentParser
import Foundation
import HubCore

struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Where an institution's notices go (exam reports, critical values, escalations).",
        subcommands: [Get.self, Set.self, Test.self])

    static let columns = ["institution_id", "url", "escalation_url", "updated_at"]

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an institution's webhook (not its secret).")
        @OptionGroup var connection: Connection
        @Argument(help: "The institution's id.") var institution: String
        func run() async throws {
            try connection.show(
                try await connection.request("GET", "/v1/institutions/\(institution)/webhook"),
                columns: Webhooks.columns)
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register or change an institution's webhook; deliveries already waiting use the new address.")
        @OptionGroup var connection: Connection
        @Argument(help: "The institution's id.") var institution: String
        @Option(name: .customLong("webhook-url"), help: "Where notices are POSTed.") var webhookURL: String
        @Option(name: .customLong("escalation-url"), help: "Where late critical values are escalated.")
        var escalationURL: String?
        @Option(help: "The shared secret deliveries are signed with (env HUB_WEBHOOK_SECRET).") var secret: String?

        func run() async throws {
            let body = WebhookInput(
                url: webhookURL, secret: secret ?? ProcessInfo.processInfo.environment["HUB_WEBHOOK_SECRET"],
                escalationURL: escalationURL)
            let answer = try await connection.request("PUT", "/v1/institutions/\(institution)/webhook", json: body)
            try connection.show(answer, columns: Webhooks.columns)
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a signed ping through the outbox; `hubctl outbox get <id>` shows how it went.")
        @OptionGroup var connection: Connection
        @Argument(help: "The institution's id.") var institution: String
        func run() async throws {
            try connection.show(
                try await connection.request("POST", "/v1/institutions/\(institution)/webhook/test"),
                columns: ["id", "destination", "kind", "state"])
        }
    }
}
