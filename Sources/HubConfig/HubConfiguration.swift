import Foundation
import HubCore
import HubStorage
import Logging
import Yams

/// Everything `hubd` reads at start. Sources, strongest first: command-line flags, environment variables,
/// the YAML file, built-in defaults. Every key is listed in `Config/README.md`.
public struct HubConfiguration: Sendable, Equatable {
    /// `hub.id`: this hub's id among its peers: letters, digits, `-`, `_`, `.`. Env `HUB_ID`, flag `--hub-id`.
    public var hubId = "hub-local"
    /// `hub.name`: a human name shown to operators.
    public var hubName = "AllianceHub"
    /// `hub.region`: GB/T 2260 division code the hub serves (6 digits). Env `HUB_REGION`, flag `--region`.
    public var region = "110000"
    /// `hub.utc_offset_minutes`: civil time that dates refer to (catalog effective dates, qualification validity);
    /// China Standard Time is +480.
    public var utcOffsetMinutes = 480
    /// `http.host`: listen address; put the hub behind a TLS-terminating proxy when it listens beyond loopback.
    /// Env `HUB_HOST`, flag `--host`.
    public var host = "127.0.0.1"
    /// `http.port`: listen port; `0` picks a free one. Env `HUB_PORT`, flag `--port`.
    public var port = 8080
    /// `http.max_body_bytes`: largest JSON request body; larger ones get `413 payload_too_large` before they are read
    /// whole (catalog publications may be up to 16 MiB). Env `HUB_MAX_BODY_BYTES`.
    public var maxBodyBytes = 1_048_576
    /// `storage.data_dir`: the database, the blob store and `admin.token`. Env `HUB_DATA_DIR`, flag `--data-dir`.
    /// Default: `data` (the shipped file says `../data`, i.e. `./data` of the repository).
    public var dataDir = "data"
    /// `storage.database`: SQLite file, relative to the data directory. Env `HUB_DATABASE`.
    public var database = "hub.sqlite"
    /// `storage.blob_dir`: content-addressed attachment store, relative to the data directory. Env `HUB_BLOB_DIR`.
    public var blobDir = "blobs"
    /// `storage.busy_timeout_ms`: how long a write waits for another process (e.g. `hubctl`) holding the write lock.
    public var busyTimeoutMilliseconds = 5000
    /// `storage.durability`: `full`: a write is answered only once its commit is flushed to disk, so nothing answered
    /// is lost to a power cut (writes arriving together share one flush); `normal`: the log is flushed only at
    /// checkpoints, so an application crash loses nothing but a power cut may lose the last answered writes. Env
    /// `HUB_DURABILITY`.
    public var durability = Durability.full
    /// `catalog.dir`: recognition catalog versions (`*.yaml`, `*.json`) published, in file-name order, on the first
    /// start of an empty database. Env `HUB_CATALOG_DIR`.
    /// Default: `Config/catalog` (the shipped file says `catalog`).
    public var catalogDir = "Config/catalog"
    /// `log.level`: `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`. Env `HUB_LOG_LEVEL`, flag
    /// `--log-level`.
    public var logLevel = Logger.Level.info
    /// `outbox.max_attempts`: attempts before a delivery is `dead` (replayable by an operator).
    public var outboxMaxAttempts = 12
    /// `outbox.base_delay_ms`: wait before the second attempt; doubles each time, with jitter in the upper half.
    public var outboxBaseDelayMilliseconds = 1000
    /// `outbox.max_delay_ms`: longest wait between two attempts.
    public var outboxMaxDelayMilliseconds = 600_000
    /// `outbox.per_destination_concurrency`: attempts in flight to one destination at once.
    public var outboxPerDestinationConcurrency = 4
    /// `outbox.breaker_threshold`: consecutive failures that open a destination's circuit.
    public var outboxBreakerThreshold = 5
    /// `outbox.breaker_cooldown_ms`: how long an open circuit waits before one probe.
    public var outboxBreakerCooldownMilliseconds = 30_000
    /// `outbox.attempt_timeout_ms`: limit for one attempt, connection included.
    public var outboxAttemptTimeoutMilliseconds = 15_000
    /// `outbox.poll_interval_ms`: longest sleep of the outbox worker between looks at the table.
    public var outboxPollIntervalMilliseconds = 1000
    /// `outbound.allow_internal_addresses`: `true` lets webhooks, escalations and peers be loopback, link-local,
    /// private, CGNAT, multicast or cloud metadata addresses (or names resolving to them); for tests and demos on one
    /// machine only. By default such URLs are refused when saved and at every delivery attempt. Env
    /// `HUB_OUTBOUND_ALLOW_INTERNAL_ADDRESSES`.
    public var outboundAllowInternalAddresses = false
    /// `reading.claim_lease_minutes`: how long a reader's claim holds before the exam returns to the worklist.
    public var claimLeaseMinutes = 30
    /// `reading.max_attachment_bytes`: largest attachment; streamed to disk, never held in memory.
    public var maxAttachmentBytes = 8 * 1_073_741_824
    /// `dicomweb.max_parts`: most parts (instances) in one STOW-RS request; past it the request is refused with
    /// `413 payload_too_large`.
    public var dicomwebMaxParts = 10_000
    /// `dicomweb.max_inflated_bytes`: largest size a Deflated Explicit VR Little Endian instance may inflate to; it
    /// is inflated as a stream to check, never held whole, and a larger one (a deflate bomb) is refused with `413`.
    public var dicomwebMaxInflatedBytes = 256 * 1_048_576
    /// `dicom.port`: the DIMSE door's listen port (modalities, PACS, workstations), on `http.host`; `0` turns the door
    /// off. Env `HUB_DICOM_PORT`, flag `--dicom-port`.
    public var dicomPort = 0
    /// `dicom.ae_title`: the hub's AE title; an association calling another is rejected. Env `HUB_DICOM_AE_TITLE`.
    public var dicomAETitle = "ALLIANCEHUB"
    /// `dicom.max_pdu_bytes`: the largest P-DATA-TF PDU the door receives, as it tells each caller.
    public var dicomMaxPDUBytes = 262_144
    /// `dicom.max_associations`: associations served at once; one more is rejected as "local limit exceeded"
    /// (transient: the caller tries again later).
    public var dicomMaxAssociations = 32
    /// `dicom.idle_timeout_ms`: an association that sends nothing for this long (the A-ASSOCIATE-RQ included, PS3.8's
    /// ARTIM) is aborted.
    public var dicomIdleTimeoutMilliseconds = 60_000
    /// `hl7.port`: the MLLP door's listen port (laboratory and hospital information systems), on `http.host`; `0`
    /// turns the door off. Env `HUB_HL7_PORT`, flag `--hl7-port`.
    public var hl7Port = 0
    /// `hl7.application`: the hub's name in the acknowledgements it sends (MSH-3). Env `HUB_HL7_APPLICATION`.
    public var hl7Application = "ALLIANCEHUB"
    /// `hl7.facility`: the hub's facility in the acknowledgements it sends (MSH-4).
    public var hl7Facility = "ALLIANCEHUB"
    /// `hl7.max_message_bytes`: the largest message the door reads; a longer one is answered with AR and dropped.
    public var hl7MaxMessageBytes = 4 * 1_048_576
    /// `hl7.max_connections`: connections served at once; one more is closed at once.
    public var hl7MaxConnections = 64
    /// `hl7.idle_timeout_ms`: a connection that sends nothing for this long is closed.
    public var hl7IdleTimeoutMilliseconds = 300_000
    /// `uploads.memory_budget_bytes`: bytes that all uploads in progress together may hold in memory (parts checked
    /// before they go to disk, small instances kept for the database); when it is full a new upload is answered
    /// `503 unavailable` with `Retry-After` instead of growing the hub's memory.
    public var uploadMemoryBudgetBytes = 256 * 1_048_576
    /// `reading.monitor_interval_ms`: how often critical-value deadlines, turnaround targets and unrouted exams are
    /// checked.
    public var monitorIntervalMilliseconds = 5000
    /// `critical_values.ack_minutes_routine`: minutes a clinic has to acknowledge a critical value of routine work
    /// before escalation. Default: `30`.
    /// `critical_values.ack_minutes_urgent`: the same for urgent work. Default: `15`.
    /// `critical_values.ack_minutes_asap`: the same for asap work. Default: `10`.
    /// `critical_values.ack_minutes_stat`: the same for stat work. Default: `10`.
    public var ackMinutes = AcknowledgementDeadlines()
    /// `auth.token_lifetime_days`: how long a token issued without a lifetime of its own works (`POST
    /// /v1/practitioners/{id}/tokens`, `hubctl token create`); `0` issues tokens without expiry. The first-start admin
    /// token never expires (rotate it with `hubctl token rotate-admin`); tokens issued before expiry existed keep
    /// working without one.
    public var tokenLifetimeDays = 90
    /// `privacy.identifier_key_file`: key of the keyed hash that indexes patient identifiers (created on first start,
    /// 0600), relative to the data directory; secret: losing it makes existing results unfindable by patient.
    public var identifierKeyFile = "identifier.key"
    /// `recognition.extra_reasons`: provincial re-test reasons beyond the six national ones, as
    /// `7:the patient asks;8:the performing lab failed EQA`.
    public var extraRetestReasons: [Int: String] = [:]
    /// `audit.head_file`: where the audit chain's last record, signed with the hub key, is kept outside the database,
    /// relative to the data directory (put it on another volume to keep it from whoever can write the database).
    public var auditHeadFile = "audit-head.json"
    /// `audit.head_interval_seconds`: how often the signed head is written again when the chain has grown (and at
    /// every shutdown); records after the last head are the only ones whose removal goes unseen.
    public var auditHeadIntervalSeconds = 60
    /// `federation.key_file`: this hub's Ed25519 private key (created on first start, 0600), relative to the data
    /// directory; secret.
    public var federationKeyFile = "hub.key"
    /// `federation.max_skew_seconds`: how far a peer's signature time may be from this hub's clock.
    public var federationMaxSkewSeconds = 300
    /// `federation.max_hops`: how many hubs a request may pass through before it is refused (no loops in a ring).
    public var federationMaxHops = 3
    /// `federation.peer_timeout_ms`: how long a federated recognition check waits for one peer.
    public var federationPeerTimeoutMilliseconds = 2000
    /// `federation.deadline_ms`: the longest a federated recognition check waits for all peers together; a slow or
    /// dead peer is reported as `timeout` and never delays the answer beyond this.
    public var federationDeadlineMilliseconds = 3000
    /// `federation.directory_refresh_seconds`: how often each peer's directory of centers is fetched again.
    public var federationDirectoryRefreshSeconds = 300
    /// `federation.peers`: peers configured in the file (id, url, public_key, region, serves), added or updated at
    /// every start; peers added through `POST /v1/peers` are kept as well. Default: none.
    public var federationPeers: [PeerInput] = []
    /// `federation.allow_plain_http`: whether peers and webhooks may be reached over plain `http://`; off, only
    /// `https://` addresses are accepted and called (a peer's answers and a webhook's payloads cross the network).
    /// For loopback tests and demos only. Env `HUB_ALLOW_PLAIN_HTTP`.
    public var federationAllowPlainHTTP = false
    /// `tls.ca_file`: CA bundle (PEM) that outgoing HTTPS connections trust instead of the system's. Env
    /// `HUB_TLS_CA_FILE`. Default: system CAs.
    public var tlsCAFile: String?
    /// `tls.client_certificate`: client certificate (PEM) presented to peers that require mutual TLS.
    public var tlsClientCertificate: String?
    /// `tls.client_key`: the client certificate's private key (PEM); secret, keep the file 0600.
    public var tlsClientKey: String?

    public init() {}

    /// The SQLite file path.
    public var databasePath: String { Self.join(dataDir, database) }
    /// The blob store directory.
    public var blobPath: String { Self.join(dataDir, blobDir) }
    /// The hub's private key file.
    public var federationKeyPath: String { Self.join(dataDir, federationKeyFile) }
    /// The identifier key file.
    public var identifierKeyPath: String { Self.join(dataDir, identifierKeyFile) }
    /// The signed audit head file.
    public var auditHeadPath: String { Self.join(dataDir, auditHeadFile) }
    /// Where the first admin token is written.
    public var adminTokenPath: String { Self.join(dataDir, "admin.token") }

    /// The lifetime of a token issued without one of its own, nil for no expiry.
    public var defaultTokenLifetimeDays: Int? { tokenLifetimeDays == 0 ? nil : tokenLifetimeDays }

    /// The six national re-test reasons and the configured provincial ones.
    public var retestReasons: [Int: String] {
        RetestReasons.national.merging(extraRetestReasons) { national, _ in national }
    }

    /// The outbox's retry policy.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(
            maxAttempts: outboxMaxAttempts, baseDelayMilliseconds: Int64(outboxBaseDelayMilliseconds),
            maxDelayMilliseconds: Int64(outboxMaxDelayMilliseconds))
    }

    static func join(_ base: String, _ path: String) -> String {
        path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
    }

    /// Values given on the command line; nil means "not given".
    public struct Overrides: Sendable {
        public var host: String?
        public var port: Int?
        public var dataDir: String?
        public var hubId: String?
        public var region: String?
        public var logLevel: String?
        public var dicomPort: Int?
        public var hl7Port: Int?
        public init(
            host: String? = nil, port: Int? = nil, dataDir: String? = nil, hubId: String? = nil, region: String? = nil,
            logLevel: String? = nil, dicomPort: Int? = nil, hl7Port: Int? = nil
        ) {
            self.dicomPort = dicomPort
            self.hl7Port = hl7Port
            self.host = host
            self.port = port
            self.dataDir = dataDir
            self.hubId = hubId
            self.region = region
            self.logLevel = logLevel
        }
    }

    /// The configuration error an operator sees at start, naming the key.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var key: String
        public var detail: String
        public var description: String { "configuration: \(key): \(detail)" }

        public init(key: String, detail: String) {
            self.key = key
            self.detail = detail
        }
    }

    /// Loads the file (when it exists), then the environment, then `overrides`. An explicitly named file
    /// (`explicitFile`) must exist; the default file may be absent, in which case built-in defaults apply.
    /// Relative paths in the file are resolved against the file's directory, others against the working directory.
    public static func load(
        file: String, explicitFile: Bool, environment: [String: String], overrides: Overrides = .init()
    ) throws -> HubConfiguration {
        var config = HubConfiguration()
        if FileManager.default.fileExists(atPath: file) {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw Problem(key: file, detail: "cannot be read: \(error)")
            }
            try config.apply(yaml: text, baseDirectory: (file as NSString).deletingLastPathComponent)
        } else if explicitFile {
            throw Problem(key: file, detail: "no such configuration file")
        }
        try config.apply(environment: environment)
        try config.apply(overrides)
        return config
    }

    /// Keys the YAML file may hold; anything else is a typo and refused, so a misspelt key never silently
    /// leaves a default in place.
    static let fileKeys: [String: Set<String>] = [
        "hub": ["id", "name", "region", "utc_offset_minutes"],
        "http": ["host", "port", "max_body_bytes"],
        "storage": ["data_dir", "database", "blob_dir", "busy_timeout_ms", "durability"],
        "catalog": ["dir"],
        "log": ["level"],
        "outbox": [
            "max_attempts", "base_delay_ms", "max_delay_ms", "per_destination_concurrency", "breaker_threshold",
            "breaker_cooldown_ms", "attempt_timeout_ms", "poll_interval_ms",
        ],
        "tls": ["ca_file", "client_certificate", "client_key"],
        "outbound": ["allow_internal_addresses"],
        "dicomweb": ["max_parts", "max_inflated_bytes"],
        "dicom": ["port", "ae_title", "max_pdu_bytes", "max_associations", "idle_timeout_ms"],
        "hl7": ["port", "application", "facility", "max_message_bytes", "max_connections", "idle_timeout_ms"],
        "uploads": ["memory_budget_bytes"],
        "reading": ["claim_lease_minutes", "max_attachment_bytes", "monitor_interval_ms"],
        "critical_values": ["ack_minutes_routine", "ack_minutes_urgent", "ack_minutes_asap", "ack_minutes_stat"],
        "auth": ["token_lifetime_days"],
        "privacy": ["identifier_key_file"],
        "audit": ["head_file", "head_interval_seconds"],
        "recognition": ["extra_reasons"],
        "federation": [
            "key_file", "max_skew_seconds", "max_hops", "peer_timeout_ms", "deadline_ms", "directory_refresh_seconds",
            "peers", "allow_plain_http",
        ],
    ]

    mutating func apply(yaml: String, baseDirectory: String) throws {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw Problem(key: "file", detail: "is not valid YAML: \(error)")
        }
        guard let root else { return }
        guard let sections = root.mapping else { throw Problem(key: "file", detail: "must be a mapping of sections") }
        for (sectionKey, sectionValue) in sections {
            guard let section = sectionKey.string, let allowed = Self.fileKeys[section] else {
                throw Problem(key: sectionKey.string ?? "?", detail: "unknown section")
            }
            guard let mapping = sectionValue.mapping else { throw Problem(key: section, detail: "must be a mapping") }
            for (key, value) in mapping {
                guard let name = key.string, allowed.contains(name) else {
                    throw Problem(key: "\(section).\(key.string ?? "?")", detail: "unknown key")
                }
                if section == "federation" && name == "peers" {
                    federationPeers = try Self.peers(value)
                    continue
                }
                guard let scalar = value.scalar?.string else {
                    throw Problem(key: "\(section).\(name)", detail: "must be a single value")
                }
                try set("\(section).\(name)", scalar, base: baseDirectory)
            }
        }
    }

    /// `federation.peers`: a list of mappings with the keys of `POST /v1/peers`.
    static func peers(_ node: Node) throws -> [PeerInput] {
        guard let sequence = node.sequence else {
            throw Problem(key: "federation.peers", detail: "must be a list of peers")
        }
        var peers: [PeerInput] = []
        for (i, entry) in sequence.enumerated() {
            let key = "federation.peers[\(i)]"
            guard let mapping = entry.mapping else { throw Problem(key: key, detail: "must be a mapping") }
            var peer = PeerInput()
            for (field, value) in mapping {
                let name = field.string ?? "?"
                if name == "serves" {
                    guard let list = value.sequence?.compactMap(\.string) else {
                        throw Problem(key: "\(key).serves", detail: "must be a list of labels")
                    }
                    peer.serves = list
                    continue
                }
                guard let text = value.scalar?.string else {
                    throw Problem(key: "\(key).\(name)", detail: "must be a single value")
                }
                switch name {
                case "id": peer.id = text
                case "url": peer.url = text
                case "public_key": peer.publicKey = text
                case "region": peer.region = text
                default: throw Problem(key: "\(key).\(name)", detail: "unknown key")
                }
            }
            do {
                // The address's scheme is checked at start, against `federation.allow_plain_http` wherever it is set.
                _ = try peer.validated(now: Timestamp(millisecondsSinceEpoch: 0), ownHubId: "", allowPlainHTTP: true)
            } catch {
                let field = error.fields.first
                throw Problem(key: "\(key).\(field?.field ?? "?")", detail: field?.detail ?? error.detail)
            }
            peers.append(peer)
        }
        return peers
    }

    /// Environment variable → key.
    static let environmentKeys: [(String, String)] = [
        ("HUB_ID", "hub.id"), ("HUB_REGION", "hub.region"), ("HUB_HOST", "http.host"), ("HUB_PORT", "http.port"),
        ("HUB_MAX_BODY_BYTES", "http.max_body_bytes"), ("HUB_DICOM_PORT", "dicom.port"),
        ("HUB_DICOM_AE_TITLE", "dicom.ae_title"), ("HUB_HL7_PORT", "hl7.port"),
        ("HUB_HL7_APPLICATION", "hl7.application"), ("HUB_DATA_DIR", "storage.data_dir"),
        ("HUB_DATABASE", "storage.database"), ("HUB_BLOB_DIR", "storage.blob_dir"),
        ("HUB_DURABILITY", "storage.durability"),
        ("HUB_CATALOG_DIR", "catalog.dir"), ("HUB_LOG_LEVEL", "log.level"), ("HUB_TLS_CA_FILE", "tls.ca_file"),
        ("HUB_ALLOW_PLAIN_HTTP", "federation.allow_plain_http"),
        ("HUB_OUTBOUND_ALLOW_INTERNAL_ADDRESSES", "outbound.allow_internal_addresses"),
    ]

    mutating func apply(environment: [String: String]) throws {
        for (variable, key) in Self.environmentKeys {
            if let value = environment[variable], !value.isEmpty { try set(key, value, base: nil) }
        }
    }

    mutating func apply(_ o: Overrides) throws {
        if let v = o.host { try set("http.host", v, base: nil) }
        if let v = o.port { try set("http.port", String(v), base: nil) }
        if let v = o.dicomPort { try set("dicom.port", String(v), base: nil) }
        if let v = o.hl7Port { try set("hl7.port", String(v), base: nil) }
        if let v = o.dataDir { try set("storage.data_dir", v, base: nil) }
        if let v = o.hubId { try set("hub.id", v, base: nil) }
        if let v = o.region { try set("hub.region", v, base: nil) }
        if let v = o.logLevel { try set("log.level", v, base: nil) }
    }

    mutating func set(_ key: String, _ value: String, base: String?) throws {
        func int(_ range: ClosedRange<Int>) throws -> Int {
            guard let n = Int(value), range.contains(n) else {
                throw Problem(key: key, detail: "must be a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return n
        }
        func path() -> String {
            guard let base, !value.hasPrefix("/") else { return value }
            return base.isEmpty ? value : (base as NSString).appendingPathComponent(value)
        }
        switch key {
        case "hub.id":
            guard ResourceID.isValid(value) else { throw Problem(key: key, detail: ResourceID.rule) }
            hubId = value
        case "hub.name": hubName = value
        case "hub.region":
            guard RegionCode(value) != nil else { throw Problem(key: key, detail: RegionCode.rule) }
            region = value
        case "hub.utc_offset_minutes": utcOffsetMinutes = try int(-720...840)
        case "http.host": host = value
        case "http.port": port = try int(0...65535)
        case "http.max_body_bytes": maxBodyBytes = try int(1024...1_073_741_824)
        case "storage.data_dir": dataDir = path()
        case "storage.database": database = value
        case "storage.blob_dir": blobDir = value
        case "storage.busy_timeout_ms": busyTimeoutMilliseconds = try int(0...600_000)
        case "storage.durability":
            guard let mode = Durability(rawValue: value.lowercased()) else {
                throw Problem(
                    key: key, detail: "must be one of \(Durability.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            durability = mode
        case "catalog.dir": catalogDir = path()
        case "log.level":
            guard let level = Logger.Level(rawValue: value.lowercased()) else {
                throw Problem(
                    key: key, detail: "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            logLevel = level
        case "outbox.max_attempts": outboxMaxAttempts = try int(1...1000)
        case "outbox.base_delay_ms": outboxBaseDelayMilliseconds = try int(1...3_600_000)
        case "outbox.max_delay_ms": outboxMaxDelayMilliseconds = try int(1...86_400_000)
        case "outbox.per_destination_concurrency": outboxPerDestinationConcurrency = try int(1...256)
        case "outbox.breaker_threshold": outboxBreakerThreshold = try int(1...1000)
        case "outbox.breaker_cooldown_ms": outboxBreakerCooldownMilliseconds = try int(1...86_400_000)
        case "outbox.attempt_timeout_ms": outboxAttemptTimeoutMilliseconds = try int(100...600_000)
        case "outbox.poll_interval_ms": outboxPollIntervalMilliseconds = try int(10...600_000)
        case "outbound.allow_internal_addresses":
            switch value.lowercased() {
            case "true", "yes", "on", "1": outboundAllowInternalAddresses = true
            case "false", "no", "off", "0": outboundAllowInternalAddresses = false
            default: throw Problem(key: key, detail: "must be true or false")
            }
        case "dicomweb.max_parts": dicomwebMaxParts = try int(1...1_000_000)
        case "dicom.port": dicomPort = try int(0...65535)
        case "dicom.ae_title":
            if let problem = AETitleRules.problem(value) { throw Problem(key: key, detail: problem) }
            dicomAETitle = AETitleRules.normalized(value)
        case "dicom.max_pdu_bytes": dicomMaxPDUBytes = try int(4096...16_777_216)
        case "dicom.max_associations": dicomMaxAssociations = try int(1...4096)
        case "dicom.idle_timeout_ms": dicomIdleTimeoutMilliseconds = try int(100...3_600_000)
        case "hl7.port": hl7Port = try int(0...65535)
        case "hl7.application", "hl7.facility":
            if let problem = HL7NameRules.problem(value) { throw Problem(key: key, detail: problem) }
            if key == "hl7.application" { hl7Application = value } else { hl7Facility = value }
        case "hl7.max_message_bytes": hl7MaxMessageBytes = try int(1024...268_435_456)
        case "hl7.max_connections": hl7MaxConnections = try int(1...4096)
        case "hl7.idle_timeout_ms": hl7IdleTimeoutMilliseconds = try int(100...86_400_000)
        case "dicomweb.max_inflated_bytes": dicomwebMaxInflatedBytes = try int(1024...Int.max)
        case "uploads.memory_budget_bytes": uploadMemoryBudgetBytes = try int(65536...Int.max)
        case "reading.claim_lease_minutes": claimLeaseMinutes = try int(1...1440)
        case "reading.max_attachment_bytes": maxAttachmentBytes = try int(1024...Int.max)
        case "reading.monitor_interval_ms": monitorIntervalMilliseconds = try int(50...600_000)
        case "critical_values.ack_minutes_routine": ackMinutes.minutes[.routine] = try int(1...1440)
        case "critical_values.ack_minutes_urgent": ackMinutes.minutes[.urgent] = try int(1...1440)
        case "critical_values.ack_minutes_asap": ackMinutes.minutes[.asap] = try int(1...1440)
        case "critical_values.ack_minutes_stat": ackMinutes.minutes[.stat] = try int(1...1440)
        case "auth.token_lifetime_days": tokenLifetimeDays = try int(0...3650)
        case "privacy.identifier_key_file": identifierKeyFile = path()
        case "audit.head_file": auditHeadFile = path()
        case "audit.head_interval_seconds": auditHeadIntervalSeconds = try int(1...3600)
        case "federation.key_file": federationKeyFile = path()
        case "federation.max_skew_seconds": federationMaxSkewSeconds = try int(1...86_400)
        case "federation.max_hops": federationMaxHops = try int(0...16)
        case "federation.peer_timeout_ms": federationPeerTimeoutMilliseconds = try int(10...60_000)
        case "federation.deadline_ms": federationDeadlineMilliseconds = try int(10...60_000)
        case "federation.directory_refresh_seconds": federationDirectoryRefreshSeconds = try int(1...86_400)
        case "federation.allow_plain_http":
            switch value.lowercased() {
            case "true", "yes", "on", "1": federationAllowPlainHTTP = true
            case "false", "no", "off", "0": federationAllowPlainHTTP = false
            default: throw Problem(key: key, detail: "must be true or false")
            }
        case "recognition.extra_reasons":
            var reasons: [Int: String] = [:]
            for entry in value.split(separator: ";") where !entry.trimmingCharacters(in: .whitespaces).isEmpty {
                let parts = entry.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let code = Int(parts[0].trimmingCharacters(in: .whitespaces)), code > 6,
                    !parts[1].trimmingCharacters(in: .whitespaces).isEmpty
                else {
                    throw Problem(key: key, detail: "write codes above 6 as '7:reason;8:reason'")
                }
                reasons[code] = parts[1].trimmingCharacters(in: .whitespaces)
            }
            extraRetestReasons = reasons
        case "tls.ca_file": tlsCAFile = path()
        case "tls.client_certificate": tlsClientCertificate = path()
        case "tls.client_key": tlsClientKey = path()
        default: throw Problem(key: key, detail: "unknown key")
        }
    }
}
