import ArgumentParser
import Foundation
import HubCore
import HubStore

/// `hubctl`: the operator's tool. Offline commands open the hub's database file directly (the daemon may be
/// running: SQLite's WAL mode and the busy timeout let both work on the file).
@main
struct Hubctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hubctl",
        abstract: "Operate an AllianceHub.",
        discussion: """
            Online commands talk to a running hub (--url or HUB_URL, --token or HUB_TOKEN); add --json for scripts.
            Offline commands open the hub's database file (--data-dir or HUB_DATA_DIR).
            """,
        subcommands: [
            Institutions.self, Centers.self, Catalog.self, Outbox.self, Peers.self, Stats.self, Migrate.self,
            Token.self,
            Audit.self,
        ])
}

/// Where the hub keeps its files, for offline commands.
struct DataDirectory: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The hub's data directory (env HUB_DATA_DIR).")
    var dataDir: String?

    @Option(help: "SQLite file name inside the data directory (env HUB_DATABASE).")
    var database: String?

    var databasePath: String {
        let environment = ProcessInfo.processInfo.environment
        let directory = dataDir ?? environment["HUB_DATA_DIR"] ?? "data"
        let file = database ?? environment["HUB_DATABASE"] ?? "hub.sqlite"
        return file.hasPrefix("/") ? file : (directory as NSString).appendingPathComponent(file)
    }

    /// Opens an existing database; a missing file is an operator error, not a reason to create an empty hub.
    func open(create: Bool = false) throws -> AppDatabase {
        let path = databasePath
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("no hub database at \(path); pass --data-dir or set HUB_DATA_DIR")
        }
        return try AppDatabase(path: path)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the database or bring its schema up to date.")

    @OptionGroup var location: DataDirectory

    func run() async throws {
        let database = try location.open(create: true)
        try database.migrate()
        print("migrated \(location.databasePath)")
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bootstrap tokens directly in the database.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token; the secret is printed once. Without --practitioner it is a hub service token.")

        @OptionGroup var location: DataDirectory

        @Option(help: "Role to grant (repeatable): \(Role.allowedValues).")
        var role: [String] = ["admin"]

        @Option(help: "Practitioner the token belongs to.")
        var practitioner: String?

        @Option(help: "A label to recognise the token by.")
        var label: String?

        func run() async throws {
            let roles = try role.map { name -> Role in
                guard let role = Role(rawValue: name) else {
                    throw ValidationError("unknown role '\(name)'; roles are \(Role.allowedValues)")
                }
                return role
            }
            let database = try location.open()
            try database.migrate()
            let practitionerId = practitioner
            let label = self.label ?? "hubctl"
            let now = Timestamp.now()
            let secret = try await database.write { db -> String in
                var institutionId: String?
                if let practitionerId {
                    guard let p = try RegistryStore.practitioner(db, id: practitionerId) else {
                        throw ValidationError("no practitioner '\(practitionerId)'")
                    }
                    for role in roles where !p.roles.contains(role) {
                        throw ValidationError(
                            "practitioner '\(practitionerId)' does not hold the role '\(role.rawValue)'")
                    }
                    institutionId = p.institutionId
                }
                let (record, secret) = try TokenStore.issue(
                    db, practitionerId: practitionerId, institutionId: institutionId, roles: roles, label: label,
                    createdBy: "hubctl", now: now)
                try AuditLog.append(
                    db,
                    AuditEvent(
                        actor: "hubctl", institutionId: institutionId, action: "token.issue", targetType: "token",
                        targetId: record.id, detail: "issued offline"), at: now)
                return secret
            }
            print(secret)
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The audit log.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the hash chain and report the first broken link. Exits 1 when the chain is broken.")

        @OptionGroup var location: DataDirectory

        func run() async throws {
            let database = try location.open()
            let result = try await database.read { try AuditLog.verify($0) }
            if let broken = result.firstBroken {
                print(
                    "BROKEN at record \(broken): \(result.reason ?? "") (\(result.checked) records before it are intact)"
                )
                throw ExitCode(1)
            }
            print("intact: \(result.checked) records")
        }
    }
}
