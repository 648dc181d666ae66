import ArgumentParser
import Foundation
import HubCore

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Peer hubs: this hub's identity, and the hubs it federates with.",
        subcommands: [Whoami.self, List.self, Add.self, Status.self, Refresh.self])

    static let columns = ["id", "url", "region", "serves", "status", "public_key"]

    struct Whoami: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what a peer needs to add this hub (hub id, region, public key), from a running hub.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let answer = try await connection.request("GET", "/federation/v1/identity", authenticated: false)
            try connection.show(answer, columns: ["hub_id", "region", "public_key"])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the configured peers.")
        @OptionGroup var connection: Connection
        func run() async throws {
            try connection.show(try await connection.request("GET", "/v1/peers"), columns: Peers.columns)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add (or update) a peer hub.")
        @OptionGroup var connection: Connection
        @Option var id: String
        @Option(help: "The peer's base URL.") var peerURL: String
        @Option(help: "Its Ed25519 public key, as its `hubctl peers whoami` prints it.") var publicKey: String
        @Option(help: "Its GB/T 2260 division code.") var region: String
        @Option(help: "What it serves (repeatable), e.g. recognition, imaging.") var serves: [String] = []

        func run() async throws {
            let body = PeerInput(
                id: id, url: peerURL, publicKey: publicKey, region: region, serves: serves.isEmpty ? nil : serves)
            try connection.show(try await connection.request("POST", "/v1/peers", json: body), columns: Peers.columns)
        }
    }

    static let statusColumns = [
        "reachable", "last_directory_refresh", "centers", "recent_latency_ms", "outbox_backlog", "outbox_dead",
        "circuit", "last_error",
    ]

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A peer's reachability, last directory refresh, outbox backlog, recent latency and circuit state."
        )
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try connection.show(
                try await connection.request("GET", "/v1/peers/\(id)/status"), columns: Peers.statusColumns)
        }
    }

    struct Refresh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch a peer's directory of centers now, and print its status.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try connection.show(
                try await connection.request("POST", "/v1/peers/\(id)/refresh"), columns: Peers.statusColumns)
        }
    }
}
