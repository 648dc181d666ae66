import Crypto
import CurlHTTP
import Foundation
import GRDB
import HubCore
import HubStore
import Synchronization
import Testing

/// What a client saw acknowledged: institutions created, and attachments stored with their bytes.
final class AcknowledgedWrites: Sendable {
    struct Attachment: Sendable {
        var exam: String
        var sha256: String
        var bytes: Data
    }

    private let state = Mutex<(institutions: [String], attachments: [Attachment])>(([], []))
    private let stopped = Atomic<Bool>(false)
    private let failure = Mutex<String?>(nil)

    var institutions: [String] { state.withLock { $0.institutions } }
    var attachments: [Attachment] { state.withLock { $0.attachments } }
    var count: Int { state.withLock { $0.institutions.count + $0.attachments.count } }
    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    func add(institution: String) { state.withLock { $0.institutions.append(institution) } }
    func add(_ attachment: Attachment) { state.withLock { $0.attachments.append(attachment) } }
    /// Why the load stopped on its own, if it did.
    var error: String? { failure.withLock { $0 } }
    func stop() { stopped.store(true, ordering: .relaxed) }
    func fail(_ error: any Error) {
        failure.withLock { $0 = "\(error)" }
        stop()
    }
}

/// A clinic that keeps registering institutions and submitting exams with PDF attachments until it is stopped.
struct WriteLoad {
    let daemon: Daemon
    let client: CurlHTTPClient
    let admin: String
    let clinicToken: String
    let writes: AcknowledgedWrites
    /// Tells concurrent loads' records apart.
    let name: String

    /// Writes until stopped; a failed write stops the load and is kept in `writes.error`.
    func run() async {
        do { try await write() } catch { writes.fail(error) }
    }

    func write() async throws {
        var round = 0
        while !writes.isStopped {
            round += 1
            let institution = "load-\(name)-\(round)"
            let (created, body) = try await daemon.call(
                client, "POST", "/v1/institutions", token: admin,
                json: ["id": institution, "name": "负载 \(round)", "level": "primary", "region": "420115"])
            try #require(created == 201, "\(body)")
            writes.add(institution: institution)

            let (submitted, exam) = try await daemon.call(
                client, "POST", "/v1/exams", token: clinicToken,
                json: Alliance.examBody(patientID: residentID(sequence: String(format: "%03d", round % 1000))))
            try #require(submitted == 201, "\(exam)")
            let examId = try #require(exam["id"] as? String)
            let pdf =
                Data("%PDF-1.7\n% round \(round) \(UUID().uuidString)\n".utf8)
                + Data((0..<4096).map { _ in UInt8.random(in: 0...255) })
            let uploaded = try await client.execute(
                CurlRequest(
                    method: "POST", url: daemon.baseURL + "/v1/exams/\(examId)/attachments",
                    headers: [("Authorization", "Bearer \(clinicToken)"), ("Content-Type", "application/pdf")],
                    body: .bytes(Array(pdf))))
            try #require(uploaded.status == 201, "\(String(decoding: uploaded.body, as: UTF8.self))")
            let stored = try JSONSerialization.jsonObject(with: Data(uploaded.body)) as? [String: Any]
            writes.add(.init(exam: examId, sha256: try #require(stored?["sha256"] as? String), bytes: pdf))
        }
    }

    /// A tertiary hospital with an imaging center, and a township clinic whose token submits exams.
    static func alliance(_ daemon: Daemon, _ client: CurlHTTPClient, admin: String) async throws -> String {
        for (id, level) in [("wh-xiehe", "tertiary"), ("hs-clinic", "primary")] {
            let (status, body) = try await daemon.call(
                client, "POST", "/v1/institutions", token: admin,
                json: ["id": id, "name": "机构 \(id)", "level": level, "region": "420102", "alliances": ["wh-east"]])
            try #require(status == 201, "\(body)")
        }
        let (center, centerBody) = try await daemon.call(
            client, "POST", "/v1/centers", token: admin,
            json: [
                "id": "wh-imaging", "name": "区域影像中心", "kind": "imaging", "institution_id": "wh-xiehe",
                "items": ["CT-CHEST"], "modalities": ["CT"], "daily_capacity": 120,
                "hours": [["days": ["mon", "tue", "wed", "thu", "fri"], "open": "08:00", "close": "17:30"]],
                "turnaround_minutes": ["routine": 240, "urgent": 120, "asap": 60, "stat": 30],
                "qualifications": [
                    [
                        "type": "imaging_qc", "items": ["CT-CHEST"], "valid_from": "2026-01-01",
                        "valid_to": "2099-12-31", "issuer": "湖北省医学影像质控中心",
                    ]
                ],
            ])
        try #require(center == 201, "\(centerBody)")
        let (_, practitioner) = try await daemon.call(
            client, "POST", "/v1/institutions/hs-clinic/practitioners", token: admin,
            json: ["name": "医生", "title": "resident", "roles": ["clinic"]])
        let id = try #require(practitioner["id"] as? String, "\(practitioner)")
        let (_, token) = try await daemon.call(client, "POST", "/v1/practitioners/\(id)/tokens", token: admin)
        return try #require(token["token"] as? String, "\(token)")
    }
}

@Suite struct BackupTests {
    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID().uuidString)")
    }

    /// A hub running in `root/hub` with the alliance of `WriteLoad.alliance`, and its admin and clinic tokens.
    func startAlliance(in root: URL, client: CurlHTTPClient) async throws -> (Daemon, admin: String, clinic: String) {
        let daemon = try Daemon(dataDir: root.appendingPathComponent("hub"))
        try await daemon.start(client: client)
        let admin = try daemon.adminToken
        return (daemon, admin, try await WriteLoad.alliance(daemon, client, admin: admin))
    }

    /// The backup is taken while a clinic keeps writing; the restored hub holds every record acknowledged before the
    /// backup started, every attachment byte for byte, and an intact audit chain.
    @Test func aBackupTakenUnderWriteLoadRestoresEveryRecordAndBlob() async throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        let (daemon, admin, clinic) = try await startAlliance(in: root, client: client)
        let writes = AcknowledgedWrites()
        // Three clinics' worth of writes at once, so that the hub is busy writing while the backup runs.
        let load = Task {
            await withTaskGroup { group in
                for name in ["a", "b", "c"] {
                    group.addTask {
                        await WriteLoad(
                            daemon: daemon, client: client, admin: admin, clinicToken: clinic, writes: writes,
                            name: name
                        ).run()
                    }
                }
            }
        }
        while writes.count < 12 && !writes.isStopped { try await Task.sleep(for: .milliseconds(20)) }
        let institutionsBefore = writes.institutions
        let attachmentsBefore = writes.attachments

        let backup = root.appendingPathComponent("backup")
        let backedUp = try await Hubctl.run(["backup", backup.path, "--config", daemon.configFile.path])
        writes.stop()
        await load.value
        await daemon.stop()
        #expect(writes.error == nil, "the write load failed: \(writes.error ?? "")")
        #expect(backedUp.status == 0, "\(backedUp.output)")
        #expect(backedUp.output.contains("backed up hub-test"))

        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: backup.appendingPathComponent("manifest.json")))
                as? [String: Any])
        #expect(manifest["hub_id"] as? String == "hub-test")
        #expect((manifest["schema_version"] as? String)?.isEmpty == false)
        #expect(manifest["created_at"] as? String != nil)
        let files = try #require(manifest["files"] as? [[String: Any]])
        let listed = Set(files.compactMap { $0["path"] as? String })
        #expect(listed.isSuperset(of: ["hub.sqlite", "identifier.key", "hub.key", "admin.token"]))
        for attachment in attachmentsBefore {
            let sha = attachment.sha256
            #expect(listed.contains("blobs/\(sha.prefix(2))/\(sha.dropFirst(2).prefix(2))/\(sha)"))
        }
        #expect(files.allSatisfy { ($0["sha256"] as? String)?.count == 64 && $0["size"] as? Int != nil })

        let restored = root.appendingPathComponent("restored")
        let restore = try await Hubctl.run(["restore", backup.path, "--data-dir", restored.path])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(restore.output.contains("audit chain intact"))
        let verified = try await Hubctl.run(["audit", "verify", "--data-dir", restored.path])
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("intact"))

        let second = try Daemon(dataDir: restored)
        try await second.start(client: client)
        #expect(try second.adminToken == admin, "the first admin token comes back with the backup")
        for institution in institutionsBefore + ["wh-xiehe", "hs-clinic"] {
            let (status, body) = try await second.call(client, "GET", "/v1/institutions/\(institution)", token: admin)
            #expect(status == 200, "\(institution): \(body)")
        }
        for attachment in attachmentsBefore {
            let reply = try await client.execute(
                CurlRequest(
                    url: second.baseURL + "/v1/exams/\(attachment.exam)/attachments/\(attachment.sha256)",
                    headers: [("Authorization", "Bearer \(clinic)")]))
            #expect(reply.status == 200)
            #expect(Data(reply.body) == attachment.bytes, "attachment \(attachment.sha256) is byte-identical")
        }
        await second.stop()
    }

    /// Small DICOM instances live in the database rather than as files: a backup carries them inside its database,
    /// checks their bytes against their digests, and the restored hub returns them byte for byte.
    @Test func instancesKeptInTheDatabaseComeBackWithItAndAreChecked() async throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        let (daemon, _, clinic) = try await startAlliance(in: root, client: client)
        let small = try SampleFiles.data("MR_small_implicit.dcm")
        let large = try SampleFiles.data("waveform_ecg.dcm")
        #expect(small.count <= InlineBlobs.limit && large.count > InlineBlobs.limit)
        let stored = try await client.execute(
            CurlRequest(
                method: "POST", url: daemon.baseURL + "/dicomweb/studies",
                headers: [("Authorization", "Bearer \(clinic)"), ("Content-Type", Multipart.contentType)],
                body: .bytes(Array(Multipart.body([small, large])))))
        #expect(stored.status == 200, "\(String(decoding: stored.body, as: UTF8.self))")
        _ = await daemon.stop()

        let backup = root.appendingPathComponent("backup")
        let made = try await Hubctl.run(["backup", backup.path, "--config", daemon.configFile.path])
        #expect(made.status == 0, "\(made.output)")
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: backup.appendingPathComponent("manifest.json")))
                as? [String: Any])
        let listed = Set((manifest["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String })
        let (smallSHA, largeSHA) = (Hex.encode(SHA256.hash(data: small)), Hex.encode(SHA256.hash(data: large)))
        #expect(listed.contains("blobs/\(largeSHA.prefix(2))/\(largeSHA.dropFirst(2).prefix(2))/\(largeSHA)"))
        #expect(!listed.contains { $0.hasSuffix(smallSHA) }, "the small instance is inside the database")

        let restored = root.appendingPathComponent("restored")
        let restore = try await Hubctl.run(["restore", backup.path, "--data-dir", restored.path])
        #expect(restore.status == 0, "\(restore.output)")
        let second = try Daemon(dataDir: restored)
        try await second.start(client: client)
        var retrieved: [Data] = []
        for study in ["1.3.6.1.4.1.5962.1.2.4.20040826185059.5457", "1.3.76.13.65829.2.20130125082826.1072139.2"] {
            let reply = try await client.execute(
                CurlRequest(
                    url: second.baseURL + "/dicomweb/studies/\(study)", headers: [("Authorization", "Bearer \(clinic)")]
                ))
            #expect(reply.status == 200, "\(study)")
            retrieved += try Multipart.parts(Data(reply.body), contentType: reply.headers["Content-Type"] ?? "")
        }
        #expect(retrieved == [small, large])
        _ = await second.stop()

        // Bytes in the database that no longer hash to their digest stop the next backup.
        let queue = try DatabaseQueue(path: root.appendingPathComponent("hub/hub.sqlite").path)
        try await queue.write { db in
            try db.execute(
                sql: "UPDATE blob_data SET bytes = ? WHERE sha256 = ?", arguments: [Data(small.reversed()), smallSHA])
            #expect(db.changesCount == 1)
        }
        try queue.close()
        let refused = try await Hubctl.run(
            ["backup", root.appendingPathComponent("second").path, "--config", daemon.configFile.path])
        #expect(refused.status != 0)
        #expect(refused.output.contains("damaged blobs (\(smallSHA)"), "\(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("second").path))

        // Storing the instance again repairs its bytes, and the backup is made.
        try await daemon.start(client: client)
        let again = try await client.execute(
            CurlRequest(
                method: "POST", url: daemon.baseURL + "/dicomweb/studies",
                headers: [("Authorization", "Bearer \(clinic)"), ("Content-Type", Multipart.contentType)],
                body: .bytes(Array(Multipart.body([small])))))
        #expect(again.status == 200)
        _ = await daemon.stop()
        let repaired = try await Hubctl.run(
            ["backup", root.appendingPathComponent("second").path, "--config", daemon.configFile.path])
        #expect(repaired.status == 0, "\(repaired.output)")

        // The file of a stored instance in no exam (a pending study) is missing: the backup stops, naming it.
        try FileManager.default.removeItem(
            at: root.appendingPathComponent(
                "hub/blobs/\(largeSHA.prefix(2))/\(largeSHA.dropFirst(2).prefix(2))/\(largeSHA)"))
        let incomplete = try await Hubctl.run(
            ["backup", root.appendingPathComponent("third").path, "--config", daemon.configFile.path])
        #expect(incomplete.status != 0)
        #expect(incomplete.output.contains("refers to blob \(largeSHA)"), "\(incomplete.output)")
    }

    /// A small offline hub: a migrated database with a token, one blob and an identifier key.
    func offlineHub(at directory: URL) async throws -> (blob: String, bytes: Data) {
        #expect(try await Hubctl.run(["migrate", "--data-dir", directory.path]).status == 0)
        #expect(try await Hubctl.run(["token", "create", "--data-dir", directory.path]).status == 0)
        let bytes = Data("%PDF-1.7\n\(UUID().uuidString)\n".utf8)
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        let folder = directory.appendingPathComponent("blobs/\(sha.prefix(2))/\(sha.dropFirst(2).prefix(2))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try bytes.write(to: folder.appendingPathComponent(sha))
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(
            to: directory.appendingPathComponent("identifier.key"))
        return ("blobs/\(sha.prefix(2))/\(sha.dropFirst(2).prefix(2))/\(sha)", bytes)
    }

    func flipOneByte(of file: URL, at offset: Int? = nil) throws {
        var data = try Data(contentsOf: file)
        let index = offset ?? data.count / 2
        data[index] ^= 0x01
        try data.write(to: file)
    }

    /// Changes one byte of the manifest where it still parses: the first digit of `created_at`.
    func changeCreatedAt(in backup: URL) throws {
        let url = backup.appendingPathComponent("manifest.json")
        var data = try Data(contentsOf: url)
        let key = try #require(data.range(of: Data("\"created_at\"".utf8)))
        let digit = try #require(data[key.upperBound...].firstIndex { (48...57).contains($0) })
        data[digit] = data[digit] == 57 ? 48 : data[digit] + 1
        try data.write(to: url)
    }

    /// An encrypted backup holds nothing in clear, restores with its passphrase (or key file) only, and refuses a
    /// manifest with one byte changed, a changed blob and a hub key other than the one pinned.
    @Test func anEncryptedBackupRestoresOnlyWithItsPassphraseAndSignedManifest() async throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let hub = root.appendingPathComponent("hub")
        let (blob, bytes) = try await offlineHub(at: hub)
        let identifierKey = try Data(contentsOf: hub.appendingPathComponent("identifier.key"))
        let passphrase = root.appendingPathComponent("passphrase").path
        try Data("correct horse battery staple\n".utf8).write(to: URL(fileURLWithPath: passphrase))
        let wrong = root.appendingPathComponent("wrong").path
        try Data("incorrect horse battery staple\n".utf8).write(to: URL(fileURLWithPath: wrong))

        let backup = root.appendingPathComponent("backup")
        let made = try await Hubctl.run([
            "backup", backup.path, "--data-dir", hub.path, "--passphrase-file", passphrase,
        ])
        #expect(made.status == 0, "\(made.output)")
        #expect(made.output.contains("encrypted (scrypt)"), "\(made.output)")
        let sealedBlob = try Data(contentsOf: backup.appendingPathComponent(blob))
        #expect(sealedBlob.range(of: bytes.prefix(16)) == nil, "the blob is not in clear")
        let sealedKey = try Data(contentsOf: backup.appendingPathComponent("identifier.key"))
        #expect(sealedKey.range(of: identifierKey) == nil, "the key is not in clear")
        let sealedDatabase = try Data(contentsOf: backup.appendingPathComponent("hub.sqlite"))
        #expect(sealedDatabase.range(of: Data("SQLite format 3".utf8)) == nil, "the database is not in clear")
        #expect(try fileMode(backup.appendingPathComponent("identifier.key").path) == 0o600)
        let files = (FileManager.default.enumerator(atPath: backup.path)?.allObjects as? [String]) ?? []
        #expect(!files.contains { $0.hasPrefix(".clear-") }, "no clear copy is left: \(files)")

        func restore(_ from: URL, _ name: String, _ extra: [String]) async throws -> (Int32, String, URL) {
            let target = root.appendingPathComponent("restored-\(name)")
            let (status, output) = try await Hubctl.run(["restore", from.path, "--data-dir", target.path] + extra)
            return (status, output, target)
        }
        let refusals: [(String, URL, [String], String)] = [
            ("none", backup, [], "this backup is encrypted: pass --passphrase-file or --key-file"),
            ("wrong", backup, ["--passphrase-file", wrong], "the passphrase or key file is wrong"),
            (
                "pinned", backup,
                [
                    "--passphrase-file", passphrase, "--public-key",
                    Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString(),
                ], "is not --public-key"
            ),
        ]
        for (name, from, extra, expected) in refusals {
            let (status, output, target) = try await restore(from, name, extra)
            #expect(status != 0, "\(name): \(output)")
            #expect(output.contains(expected), "\(name): \(output)")
            #expect(!FileManager.default.fileExists(atPath: target.path), "\(name): nothing is written")
        }

        let tamperings: [(String, String, @Sendable (URL) throws -> Void)] = [
            ("manifest", "manifest.json does not match its signature", { try changeCreatedAt(in: $0) }),
            ("blob", "\(blob): SHA-256", { try flipOneByte(of: $0.appendingPathComponent(blob)) }),
        ]
        for (name, expected, tamper) in tamperings {
            let copy = root.appendingPathComponent("backup-\(name)")
            try FileManager.default.copyItem(at: backup, to: copy)
            try tamper(copy)
            let (status, output, target) = try await restore(
                copy, "tampered-\(name)", ["--passphrase-file", passphrase])
            #expect(status != 0, "\(name): \(output)")
            #expect(output.contains(expected), "\(name): \(output)")
            #expect(!FileManager.default.fileExists(atPath: target.path), "\(name): nothing is written")
        }

        let (status, output, target) = try await restore(backup, "right", ["--passphrase-file", passphrase])
        #expect(status == 0, "\(output)")
        #expect(try Data(contentsOf: target.appendingPathComponent(blob)) == bytes)
        #expect(try Data(contentsOf: target.appendingPathComponent("identifier.key")) == identifierKey)
        #expect(try fileMode(target.appendingPathComponent("identifier.key").path) == 0o600)
        #expect(try fileMode(target.appendingPathComponent("hub.key").path) == 0o600)
        let audit = try await Hubctl.run(["audit", "verify", "--data-dir", target.path])
        #expect(audit.output.contains("intact: 1 records"), "\(audit.output)")

        // A key file instead of a passphrase: the other one does not open it.
        let keyFile = root.appendingPathComponent("backup.key").path
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: keyFile))
        let keyed = root.appendingPathComponent("backup-keyed")
        let keyedMade = try await Hubctl.run(["backup", keyed.path, "--data-dir", hub.path, "--key-file", keyFile])
        #expect(keyedMade.status == 0, "\(keyedMade.output)")
        let (misused, misusedOutput, _) = try await restore(
            keyed, "keyed-passphrase", ["--passphrase-file", passphrase])
        #expect(misused != 0)
        #expect(misusedOutput.contains("pass --key-file"), "\(misusedOutput)")
        let (keyedStatus, keyedOutput, keyedTarget) = try await restore(keyed, "keyed", ["--key-file", keyFile])
        #expect(keyedStatus == 0, "\(keyedOutput)")
        #expect(try Data(contentsOf: keyedTarget.appendingPathComponent(blob)) == bytes)
    }

    @Test func aTamperedOrIncompleteBackupIsRefusedNamingTheFile() async throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let hub = root.appendingPathComponent("hub")
        let (blob, _) = try await offlineHub(at: hub)
        let backup = root.appendingPathComponent("backup")
        let made = try await Hubctl.run(["backup", backup.path, "--data-dir", hub.path])
        #expect(made.status == 0, "\(made.output)")

        let cases: [(name: String, expected: String, tamper: @Sendable (URL) throws -> Void)] = [
            ("blob", "\(blob): SHA-256", { try flipOneByte(of: $0.appendingPathComponent(blob)) }),
            ("database", "hub.sqlite: SHA-256", { try flipOneByte(of: $0.appendingPathComponent("hub.sqlite")) }),
            (
                "removed", "identifier.key: missing",
                { try FileManager.default.removeItem(at: $0.appendingPathComponent("identifier.key")) }
            ),
            (
                "truncated", "hub.sqlite: 0 bytes",
                { try Data().write(to: $0.appendingPathComponent("hub.sqlite")) }
            ),
            (
                "extra", "planted.bin: not listed in the manifest",
                { try Data("x".utf8).write(to: $0.appendingPathComponent("planted.bin")) }
            ),
            (
                "manifest", "not a hub backup",
                { try FileManager.default.removeItem(at: $0.appendingPathComponent("manifest.json")) }
            ),
            ("signed", "manifest.json does not match its signature", { try changeCreatedAt(in: $0) }),
            (
                "unsigned", "manifest.sig is missing",
                { try FileManager.default.removeItem(at: $0.appendingPathComponent("manifest.sig")) }
            ),
        ]
        for (name, expected, tamper) in cases {
            let copy = root.appendingPathComponent("backup-\(name)")
            try FileManager.default.copyItem(at: backup, to: copy)
            try tamper(copy)
            let target = root.appendingPathComponent("restored-\(name)")
            let refused = try await Hubctl.run(["restore", copy.path, "--data-dir", target.path])
            #expect(refused.status != 0, "\(name): \(refused.output)")
            #expect(refused.output.contains(expected), "\(name): \(refused.output)")
            #expect(!FileManager.default.fileExists(atPath: target.path), "\(name): nothing is written")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "no staging folder is left behind: \(leftovers)")
    }

    @Test func restoreReplacesANonEmptyDataDirectoryOnlyWhenForced() async throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let hub = root.appendingPathComponent("hub")
        let (blob, bytes) = try await offlineHub(at: hub)
        let backup = root.appendingPathComponent("backup")
        #expect(try await Hubctl.run(["backup", backup.path, "--data-dir", hub.path]).status == 0)
        let again = try await Hubctl.run(["backup", backup.path, "--data-dir", hub.path])
        #expect(again.status != 0)
        #expect(again.output.contains("not empty"))

        let target = root.appendingPathComponent("target")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try Data("old".utf8).write(to: target.appendingPathComponent("old-file"))
        let refused = try await Hubctl.run(["restore", backup.path, "--data-dir", target.path])
        #expect(refused.status != 0)
        #expect(refused.output.contains("not empty") && refused.output.contains("--force"))
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("old-file").path))

        let forced = try await Hubctl.run(["restore", backup.path, "--data-dir", target.path, "--force"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(!FileManager.default.fileExists(atPath: target.appendingPathComponent("old-file").path))
        #expect(try Data(contentsOf: target.appendingPathComponent(blob)) == bytes)
        let key = try FileManager.default.attributesOfItem(atPath: target.appendingPathComponent("identifier.key").path)
        #expect(key[.posixPermissions] as? Int == 0o600)
        let audit = try await Hubctl.run(["audit", "verify", "--data-dir", target.path])
        #expect(audit.output.contains("intact: 1 records"), "\(audit.output)")
    }

    @Test func aDamagedBlobInTheStoreStopsTheBackup() async throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let hub = root.appendingPathComponent("hub")
        let (blob, _) = try await offlineHub(at: hub)
        try flipOneByte(of: hub.appendingPathComponent(blob), at: 0)
        let backup = root.appendingPathComponent("backup")
        let failed = try await Hubctl.run(["backup", backup.path, "--data-dir", hub.path])
        #expect(failed.status != 0)
        #expect(failed.output.contains("\(hub.appendingPathComponent(blob).path) is damaged"), "\(failed.output)")
        #expect(!FileManager.default.fileExists(atPath: backup.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "no partial backup is left behind: \(leftovers)")
    }
}
