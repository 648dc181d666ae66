import ArgumentParser
import Foundation

struct Institutions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Member institutions.", subcommands: [List.self, Get.self, Create.self, Suspend.self, Activate.self])

    static let columns = ["id", "name", "level", "region", "alliances", "status"]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List institutions.")
        @OptionGroup var connection: Connection
        @Option(help: "primary, secondary or tertiary.") var level: String?
        @Option(help: "Division code or prefix (42 = Hubei).") var region: String?
        @Option(help: "Alliance id.") var alliance: String?
        @Option(help: "Page size (1-500).") var limit: Int?
        @Option(help: "Cursor from the previous page.") var next: String?

        func run() async throws {
            let path =
                "/v1/institutions"
                + query([
                    ("level", level), ("region", region), ("alliance", alliance), ("limit", limit.map(String.init)),
                    ("next", next),
                ])
            try connection.show(try await connection.request("GET", path), columns: Institutions.columns)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one institution.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try connection.show(
                try await connection.request("GET", "/v1/institutions/\(id)"), columns: Institutions.columns)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an institution.")
        @OptionGroup var connection: Connection
        @Option var id: String?
        @Option var name: String
        @Option(help: "primary, secondary or tertiary.") var level: String
        @Option(help: "6-digit GB/T 2260 division code.") var region: String
        @Option(help: "Alliance id (repeatable).") var alliance: [String] = []
        /// The body of `POST /v1/institutions`: the level as given, for the hub to check.
        struct Body: Encodable {
            var id: String?
            var name: String
            var level: String
            var region: String
            var alliances: [String]
        }

        func run() async throws {
            let body = Body(id: id, name: name, level: level, region: region, alliances: alliance)
            let answer = try await connection.request("POST", "/v1/institutions", json: body)
            try connection.show(answer, columns: Institutions.columns)
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Suspend an institution: its staff's tokens stop working.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try await connection.setStatus("suspended", at: "/v1/institutions/\(id)", columns: Institutions.columns)
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reactivate a suspended institution.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try await connection.setStatus("active", at: "/v1/institutions/\(id)", columns: Institutions.columns)
        }
    }
}

struct Centers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shared diagnostic centers.",
        subcommands: [List.self, Get.self, Create.self, Suspend.self, Activate.self, Turnaround.self])

    static let columns = ["id", "name", "kind", "institution_id", "items", "daily_capacity", "status"]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List centers.")
        @OptionGroup var connection: Connection
        @Option(help: "imaging, ecg, pathology or lab.") var kind: String?
        @Option(help: "Catalog item code or an equivalent code.") var item: String?
        @Flag(help: "After the local centers, those the peer hubs' directories list, with their hub.")
        var includePeers = false
        @Option var limit: Int?
        @Option var next: String?
        func run() async throws {
            let path =
                "/v1/centers"
                + query([
                    ("kind", kind), ("item", item), ("include", includePeers ? "peers" : nil),
                    ("limit", limit.map(String.init)), ("next", next),
                ])
            try connection.show(
                try await connection.request("GET", path),
                columns: includePeers ? ["hub_id"] + Centers.columns : Centers.columns)
        }
    }

    struct Turnaround: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A center's turnaround per priority (p50, p90, p99 minutes) against its targets.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        @Option(help: "From (YYYY-MM-DD or RFC 3339).") var from: String?
        @Option(help: "To, exclusive.") var to: String?
        func run() async throws {
            try connection.show(
                try await connection.request(
                    "GET", "/v1/centers/\(id)/turnaround" + query([("from", from), ("to", to)])),
                columns: ["center_id", "from", "to", "priorities"])
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one center with its qualifications.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try connection.show(
                try await connection.request("GET", "/v1/centers/\(id)"), columns: Centers.columns + ["qualifications"])
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a center described by a JSON file (see README).")
        @OptionGroup var connection: Connection
        @Argument(help: "JSON file, or - for standard input.") var file: String
        func run() async throws {
            try connection.show(
                try await connection.request("POST", "/v1/centers", body: try readBody(file)), columns: Centers.columns)
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend a center: no work is routed to it.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try await connection.setStatus("suspended", at: "/v1/centers/\(id)", columns: Centers.columns)
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reactivate a suspended center.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try await connection.setStatus("active", at: "/v1/centers/\(id)", columns: Centers.columns)
        }
    }
}

struct Catalog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The recognition catalog.", subcommands: [Show.self, Item.self, Versions.self, Publish.self])

    static let columns = ["code", "name", "category", "validity_days", "scope", "price", "mark", "equivalent_codes"]

    struct Item: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One item of the version in force (or --version), by its code or an equivalent code.")
        @OptionGroup var connection: Connection
        @Option var version: String?
        @Argument var code: String
        func run() async throws {
            let path = "/v1/catalog/items/\(code)" + query([("version", version)])
            let answer = try await connection.request("GET", path)
            guard !connection.json, let object = answer as? [String: Any] else {
                return try connection.show(answer, columns: [])
            }
            // The answer is {version, item}: people read one row with the version first.
            var row = object["item"] as? [String: Any] ?? [:]
            row["version"] = object["version"]
            try connection.show(row, columns: ["version"] + Catalog.columns)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Items of the version in force (or --version).")
        @OptionGroup var connection: Connection
        @Option var version: String?
        @Option(help: "lab, imaging, ecg or pathology.") var kind: String?
        @Option(help: "lab, DR, CT, MR, US, ECG or pathology.") var category: String?
        @Option var limit: Int?
        @Option var next: String?
        func run() async throws {
            let path =
                "/v1/catalog"
                + query([
                    ("version", version), ("kind", kind), ("category", category), ("limit", limit.map(String.init)),
                    ("next", next),
                ])
            try connection.show(
                try await connection.request("GET", path),
                columns: Catalog.columns)
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every published version, and which is in force.")
        @OptionGroup var connection: Connection
        func run() async throws {
            try connection.show(
                try await connection.request("GET", "/v1/catalog/versions"),
                columns: ["version", "effective_from", "item_count", "in_force", "published_at", "title"])
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a new version from a JSON file.")
        @OptionGroup var connection: Connection
        @Argument(help: "JSON file, or - for standard input.") var file: String
        func run() async throws {
            try connection.show(
                try await connection.request("POST", "/v1/catalog/versions", body: try readBody(file)),
                columns: ["version", "effective_from", "item_count", "published_at"])
        }
    }
}

struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliveries leaving the hub: in flight, failed for good, replayed.",
        subcommands: [List.self, Get.self, Replay.self])

    static let columns = [
        "id", "destination", "kind", "state", "attempts", "last_status", "next_attempt_at", "last_error",
    ]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries.")
        @OptionGroup var connection: Connection
        @Option(help: "pending, in_flight, delivered or dead.") var state: String?
        @Option(help: "e.g. webhook:<institution>.") var destination: String?
        @Option var limit: Int?
        @Option var next: String?
        func run() async throws {
            let path =
                "/v1/outbox"
                + query([
                    ("state", state), ("destination", destination), ("limit", limit.map(String.init)), ("next", next),
                ])
            try connection.show(try await connection.request("GET", path), columns: Outbox.columns)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one delivery with its last error.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try connection.show(try await connection.request("GET", "/v1/outbox/\(id)"), columns: Outbox.columns)
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a dead delivery again.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws {
            try connection.show(
                try await connection.request("POST", "/v1/outbox/\(id)/replay"), columns: Outbox.columns)
        }
    }
}
