import ArgumentParser
import Foundation
import HubConfig
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

            Offline commands (migrate, token create, audit verify, backup, restore) open the hub's files, found as \
            hubd finds them: --config or HUB_CONFIG, --data-dir or HUB_DATA_DIR. backup is safe while the hub serves.

            Shell completion: hubctl --generate-completion-script bash|zsh|fish (see the README).
            """,
        subcommands: [
            Institutions.self, Practitioners.self, Token.self, Centers.self, Catalog.self, Webhooks.self, Outbox.self,
            Peers.self,
            Stats.self, Audit.self, Migrate.self, Backup.self, Restore.self,
        ])
}

/// Where the hub keeps its files, for offline commands: found as `hubd` finds them, from the same configuration file,
/// environment variables and `--data-dir`, so an operator names the hub once and every command agrees.
struct DataDirectory: ParsableArguments {
    @Option(help: "The hub's configuration file (env HUB_CONFIG; default Config/hub.yaml when it exists).")
    var config: String?

    @Option(name: .customLong("data-dir"), help: "The hub's data directory (env HUB_DATA_DIR).")
    var dataDir: String?

    @Option(help: "SQLite file name inside the data directory (env HUB_DATABASE).")
    var database: String?

    /// The hub's configuration as `hubd` would load it, with this command's overrides.
    func configuration() throws -> HubConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let file = config ?? environment["HUB_CONFIG"] ?? "Config/hub.yaml"
        do {
            var configuration = try HubConfiguration.load(
                file: file, explicitFile: config != nil || environment["HUB_CONFIG"] != nil,
                environment: environment, overrides: .init(dataDir: dataDir))
            if let database { configuration.database = database }
            return configuration
        } catch let problem as HubConfiguration.Problem {
            throw ValidationError(problem.description)
        }
    }

    /// Opens an existing database; a missing file is an operator error, not a reason to create an empty hub.
    func open(create: Bool = false) throws -> AppDatabase {
        try Self.open(try configuration(), create: create)
    }

    static func open(_ configuration: HubConfiguration, create: Bool = false) throws -> AppDatabase {
        let path = configuration.databasePath
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("no hub database at \(path); pass --data-dir or --config, or set HUB_DATA_DIR")
        }
        return try AppDatabase(
            path: path, busyTimeout: .milliseconds(configuration.busyTimeoutMilliseconds), readers: 2,
            durability: configuration.durability)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the database or bring its schema up to date.")

    @OptionGroup var location: DataDirectory

    func run() async throws {
        let configuration = try location.configuration()
        let database = try DataDirectory.open(configuration, create: true)
        try database.migrate()
        print("migrated \(configuration.databasePath)")
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bearer tokens: list, issue and revoke through the hub; create one offline to bootstrap.",
        subcommands: [
            List.self, Issue.self, Revoke.self, Whoami.self, Create.self, RotateAdmin.self, CleanAdminFile.self,
        ])

    struct RotateAdmin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-admin",
            abstract:
                "Offline: replace the first-start admin token: a new one in <data-dir>/admin.token (0600), the old one revoked.",
            discussion: """
                Safe while hubd runs: a running hub stops accepting the old token within a second. The new token \
                does not expire, like the first-start one.
                """)

        @OptionGroup var location: DataDirectory

        func run() async throws {
            let configuration = try location.configuration()
            let database = try DataDirectory.open(configuration)
            try database.migrate()
            let (record, revoked) = try await AdminTokenFile.rotate(
                path: configuration.adminTokenPath, database: SQLiteStorage(database), actor: "hubctl", now: .now())
            print("wrote \(record.id) to \(configuration.adminTokenPath)")
            print(revoked.map { "revoked \($0)" } ?? "the file held no live token: nothing revoked")
        }
    }

    struct CleanAdminFile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clean-admin-file",
            abstract: "Offline: remove <data-dir>/admin.token when its token is revoked, expired or unknown.")

        @OptionGroup var location: DataDirectory

        func run() async throws {
            let configuration = try location.configuration()
            let database = try location.open()
            let path = configuration.adminTokenPath
            if try await AdminTokenFile.removeIfStale(path: path, database: SQLiteStorage(database), now: .now()) {
                print("removed \(path): its token no longer works")
            } else {
                print("kept \(path): absent, or its token still works")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Offline: issue a token in the database; the secret is printed once. Without --practitioner it is a hub service token."
        )

        @OptionGroup var location: DataDirectory

        @Option(help: "Role to grant (repeatable): \(Role.allowedValues).")
        var role: [String] = ["admin"]

        @Option(help: "Practitioner the token belongs to.")
        var practitioner: String?

        @Option(help: "A label to recognise the token by.")
        var label: String?

        @Option(help: "Days the token works (1-3650; default auth.token_lifetime_days; 0 = no expiry).")
        var lifetimeDays: Int?

        func run() async throws {
            let roles = try role.map { name -> Role in
                guard let role = Role(rawValue: name) else {
                    throw ValidationError("unknown role '\(name)'; roles are \(Role.allowedValues)")
                }
                return role
            }
            if let lifetimeDays, !(0...3650).contains(lifetimeDays) {
                throw ValidationError("--lifetime-days must be in 0...3650")
            }
            let configuration = try location.configuration()
            let lifetime = lifetimeDays.map { $0 == 0 ? nil : $0 } ?? configuration.defaultTokenLifetimeDays
            let database = try DataDirectory.open(configuration)
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
                    createdBy: "hubctl", lifetimeDays: lifetime, now: now)
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
    static let configuration = CommandConfiguration(abstract: "The audit log.", subcommands: [List.self, Verify.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audit records from the running hub, oldest first (auditor role).")
        @OptionGroup var connection: Connection
        @Option(help: "Only this actor (e.g. token:tok_…, hubctl, system).") var actor: String?
        @Option(help: "Only this target id (an institution, exam, token…).") var target: String?
        @Option(help: "Only this patient key.") var patient: String?
        @Option(help: "From (YYYY-MM-DD or RFC 3339).") var from: String?
        @Option(help: "To, exclusive.") var to: String?
        @Option(help: "Page size (1-500).") var limit: Int?
        @Option(help: "Cursor from the previous page.") var next: String?

        func run() async throws {
            let path =
                "/v1/audit"
                + query([
                    ("actor", actor), ("target", target), ("patient", patient), ("from", from), ("to", to),
                    ("limit", limit.map(String.init)), ("next", next),
                ])
            try connection.show(
                try await connection.request("GET", path),
                columns: ["seq", "at", "actor", "action", "target_type", "target_id", "institution_id", "detail"])
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Offline: walk the hash chain in the database and report the first broken link, then check its end against the last head the hub signed (audit.head_file). Exits 1 when either does not hold."
        )

        @OptionGroup var location: DataDirectory

        func run() async throws {
            let configuration = try location.configuration()
            let database = try DataDirectory.open(configuration)
            let head = try AuditHead.read(path: configuration.auditHeadPath)
            // The key is read only to check a head: a hub that never wrote one may have no key file either.
            let key = try head.map { _ in try HubKeys.publicKey(keyFile: configuration.federationKeyPath) }
            let (result, check) = try await database.read { db in
                (try AuditLog.verify(db), try AuditHead.check(db, against: head, key: key))
            }
            if let broken = result.firstBroken {
                print(
                    "BROKEN at record \(broken): \(result.reason ?? "") (\(result.checked) records before it are intact)"
                )
                throw ExitCode(1)
            }
            let where_ = check.head.map { " (head \($0.seq), signed \($0.at))" } ?? ""
            guard check.holds else {
                print("BROKEN: \(check.explanation)\(where_); \(result.checked) records in the chain")
                throw ExitCode(1)
            }
            print("intact: \(result.checked) records; \(check.explanation)\(where_)")
        }
    }
}
