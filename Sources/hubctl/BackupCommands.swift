import ArgumentParser
import Crypto
import Foundation
import GRDB
import HubConfig
import HubCore
import HubFederation
import HubStore

/// `hubctl backup <dir>`: a consistent copy of a hub, safe while `hubd` serves.
///
/// The database is copied first, with SQLite's online backup in one step inside one read transaction, so the copy is
/// the state of one instant and writers are never blocked (WAL mode). The blob store is copied after it: a blob is
/// renamed into place before the transaction that records it commits, so every blob the copy refers to is already on
/// disk. Blobs uploaded meanwhile are copied too and are harmless. Small blobs are kept in the database itself
/// (`InlineBlobs`) and come with it; their bytes are checked against their digests too. Everything is written into a
/// folder beside the target and renamed into place last, so a backup folder is either whole or absent.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a hub (database, blobs, keys) into a new folder with a manifest of checksums.",
        discussion: """
            Safe while hubd runs. The folder must not exist or be empty. Keys and tokens are copied too (mode 0600):
            keep backups as safe as the hub itself, or encrypt them with --passphrase-file (scrypt) or --key-file \
            (32 or more random bytes): every file is then AES-256-GCM and useless without it. The manifest is signed \
            with the hub's key (hub.key, created here if the hub never started) and restore checks the signature.
            """)

    @OptionGroup var location: DataDirectory

    @Argument(help: "The backup folder to create.") var directory: String

    @Option(help: "Encrypt the backup with the passphrase in this file (at least 12 bytes; scrypt derives the key).")
    var passphraseFile: String?

    @Option(help: "Encrypt the backup with the key in this file (at least 32 random bytes; HKDF derives the key).")
    var keyFile: String?

    func run() async throws {
        let configuration = try location.configuration()
        let target = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard BackupFiles.isAbsentOrEmpty(target) else {
            throw CLIError("\(target) is not empty: a backup goes into a new folder")
        }
        let key = try BackupSecret.load(passphraseFile: passphraseFile, keyFile: keyFile).map(BackupKey.new)
        let source = try DataDirectory.open(configuration)
        let identity = try HubIdentity.loadOrCreate(
            hubId: configuration.hubId, region: configuration.region, keyPath: configuration.federationKeyPath)
        let staging = try BackupFiles.staging(beside: target, purpose: "partial")
        do {
            let manifest = try await Self.copy(
                configuration, source: source, into: staging, key: key, identity: identity)
            try BackupFiles.flush(staging)
            try BackupFiles.rename(staging, to: target)
            let blobs = manifest.files.filter { $0.kind == .blob }
            print(
                "backed up \(manifest.hubId) (schema \(manifest.schemaVersion ?? "empty")) to \(target): "
                    + "database \(manifest.files.first { $0.kind == .database }?.size ?? 0) bytes, "
                    + "\(blobs.count) blobs \(blobs.reduce(0) { $0 + $1.size }) bytes, "
                    + "\(manifest.files.filter { $0.kind.isSecret }.count) key files"
                    + (key == nil ? "" : ", encrypted (\(key!.encryption.kdf))"))
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    static func copy(
        _ configuration: HubConfiguration, source: AppDatabase, into staging: String, key: BackupKey?,
        identity: HubIdentity
    ) async throws
        -> BackupManifest
    {
        let createdAt = Timestamp.now().description
        var files: [BackupManifest.Entry] = []

        /// Places `from` at `path` in the backup: copied, or sealed with the file's own key.
        func store(_ from: String, _ path: String, kind: BackupManifest.Kind) throws -> BackupManifest.Entry {
            let to = (staging as NSString).appendingPathComponent(path)
            let mode = kind.isSecret ? 0o600 : 0o644
            guard let key else {
                let file = try BackupFiles.copy(from, to: to, secret: kind.isSecret)
                return .init(path: path, kind: kind, size: file.size, sha256: file.sha256)
            }
            let sealed = try SealedFile.seal(
                from, to: to, key: key.fileKey(path), chunkBytes: key.encryption.chunkBytes, mode: mode)
            return .init(
                path: path, kind: kind, size: sealed.stored.size, sha256: sealed.stored.sha256,
                plainSize: sealed.plain.size, plainSha256: sealed.plain.sha256)
        }

        // The database: one step, one read transaction, one instant. Encrypted, the clear copy stays in the staging
        // folder (mode 0700) only until it is sealed.
        let databasePath = BackupManifest.Kind.database.fixedPath!
        let databaseCopy = (staging as NSString).appendingPathComponent(
            key == nil ? databasePath : ".clear-" + databasePath)
        let copy = try DatabaseQueue(path: databaseCopy)
        try source.pool.backup(to: copy)
        let (schema, referenced, damaged) = try await copy.read { db in
            (try SchemaVersion.read(db), try InlineBlobs.filesReferenced(db), try InlineBlobs.damaged(db))
        }
        try copy.close()
        try source.close()
        if let first = damaged.first {
            throw CLIError(
                "the database holds \(damaged.count) damaged blobs (\(first)…): their bytes no longer hash to their "
                    + "SHA-256; no backup was written. Storing each of those instances again through STOW-RS repairs "
                    + "it.")
        }
        if key == nil {
            let database = try BackupFiles.digest(databaseCopy)
            try BackupFiles.flush(databaseCopy)
            files.append(.init(path: databasePath, kind: .database, size: database.size, sha256: database.sha256))
        } else {
            files.append(try store(databaseCopy, databasePath, kind: .database))
            try FileManager.default.removeItem(atPath: databaseCopy)
        }

        // The blobs, each checked against its name on the way.
        var copied = Set<String>()
        for relative in try BackupFiles.files(under: configuration.blobPath) where BackupFiles.isBlobPath(relative) {
            let name = (relative as NSString).lastPathComponent
            let from = (configuration.blobPath as NSString).appendingPathComponent(relative)
            let path = "blobs/" + relative
            let blob = try store(from, path, kind: .blob)
            guard blob.contentSha256 == name else {
                throw CLIError(
                    "blob \(from) is damaged: its SHA-256 is \(blob.contentSha256); no backup was written. "
                        + "Restore that file from an earlier backup, or remove it if no exam refers to it.")
            }
            copied.insert(name)
            files.append(blob)
        }
        if let missing = referenced.subtracting(copied).sorted().first {
            throw CLIError(
                "the database refers to blob \(missing), which is not in \(configuration.blobPath); no backup was "
                    + "written (\(referenced.subtracting(copied).count) blobs missing)")
        }

        // The keys and the first admin token, when they exist.
        let secrets: [(BackupManifest.Kind, String)] = [
            (.identifierKey, configuration.identifierKeyPath), (.hubKey, configuration.federationKeyPath),
            (.adminToken, configuration.adminTokenPath),
        ]
        for (kind, from) in secrets where FileManager.default.fileExists(atPath: from) {
            files.append(try store(from, kind.fixedPath!, kind: kind))
        }
        for folder in Set(files.map { ($0.path as NSString).deletingLastPathComponent }) where !folder.isEmpty {
            try BackupFiles.flush((staging as NSString).appendingPathComponent(folder))
        }

        let manifest = BackupManifest(
            format: BackupManifest.currentFormat, hubId: configuration.hubId, createdAt: createdAt,
            schemaVersion: schema.current, migrations: schema.applied, files: files, encryption: key?.encryption)
        try manifest.write(to: URL(fileURLWithPath: staging), signedBy: identity)
        return manifest
    }
}

/// `hubctl restore <dir>`: checks a backup completely, then writes it into a data directory in one rename.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup into a data directory, after checking every file against the manifest.",
        discussion: """
            Refuses a backup with a missing, extra or changed file, naming it, and one whose manifest does not match \
            its signature by the backed-up hub's key (pin that key with --public-key, as /federation/v1/identity \
            shows it). An encrypted backup needs its --passphrase-file or --key-file. Refuses a non-empty data \
            directory unless --force; stop hubd before replacing the directory it uses.
            """)

    @OptionGroup var location: DataDirectory

    @Argument(help: "The backup folder.") var directory: String

    @Flag(help: "Replace a data directory that is not empty (its old contents are removed).") var force = false

    @Option(help: "The passphrase file the backup was encrypted with.") var passphraseFile: String?

    @Option(help: "The key file the backup was encrypted with.") var keyFile: String?

    @Option(help: "The hub's public key (base64) the manifest must be signed with.") var publicKey: String?

    @Flag(help: "Accept a backup of format 1, written before manifests were signed.") var allowUnsigned = false

    func run() async throws {
        let configuration = try location.configuration()
        let backup = URL(fileURLWithPath: directory).standardizedFileURL
        let (manifest, manifestBytes, signature) = try BackupManifest.read(from: backup)
        let secret = try BackupSecret.load(passphraseFile: passphraseFile, keyFile: keyFile)
        var key: BackupKey?
        switch (manifest.encryption, secret) {
        case (let encryption?, let secret?): key = try BackupKey.open(secret, encryption)
        case (.some, nil): throw CLIError("this backup is encrypted: pass --passphrase-file or --key-file")
        case (nil, .some): throw CLIError("this backup is not encrypted: drop --passphrase-file and --key-file")
        case (nil, nil): break
        }
        try Self.verify(manifest, in: backup.path)
        try Self.checkSignature(
            manifest, bytes: manifestBytes, signature: signature, in: backup.path, key: key, pinned: publicKey,
            allowUnsigned: allowUnsigned)

        let dataDir = URL(fileURLWithPath: configuration.dataDir).standardizedFileURL.path
        let targets = try Self.targets(for: manifest, configuration: configuration, dataDir: dataDir)
        if !force && !BackupFiles.isAbsentOrEmpty(dataDir) {
            throw CLIError("\(dataDir) is not empty; pass --force to replace its contents (stop hubd first)")
        }

        let staging = try BackupFiles.staging(beside: dataDir, purpose: "restore")
        let audit: AuditVerification
        do {
            for entry in manifest.files {
                let to = (staging as NSString).appendingPathComponent(targets[entry.path]!)
                let from = (backup.path as NSString).appendingPathComponent(entry.path)
                let copied =
                    if let key {
                        try BackupFiles.open(
                            from, name: entry.path, to: to, key: key.fileKey(entry.path),
                            chunkBytes: key.encryption.chunkBytes, mode: entry.kind.isSecret ? 0o600 : 0o644)
                    } else {
                        try BackupFiles.copy(from, to: to, secret: entry.kind.isSecret)
                    }
                guard copied.sha256 == entry.contentSha256 && copied.size == entry.contentSize else {
                    throw CLIError("\(entry.path) changed while it was being restored; nothing was restored")
                }
            }
            for folder in Set(targets.values.map { ($0 as NSString).deletingLastPathComponent }) where !folder.isEmpty {
                try BackupFiles.flush((staging as NSString).appendingPathComponent(folder))
            }
            let database = (staging as NSString).appendingPathComponent(
                targets[manifest.files.first { $0.kind == .database }!.path]!)
            audit = try Self.check(
                database: database, blobs: Set(manifest.files.filter { $0.kind == .blob }.map(\.contentSha256)))
            try BackupFiles.flush(staging)
            if FileManager.default.fileExists(atPath: dataDir) {
                let replaced = try BackupFiles.staging(beside: dataDir, purpose: "replaced")
                try BackupFiles.rename(dataDir, to: replaced)
                try BackupFiles.rename(staging, to: dataDir)
                try FileManager.default.removeItem(atPath: replaced)
            } else {
                try BackupFiles.rename(staging, to: dataDir)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        print(
            "restored \(manifest.hubId) (schema \(manifest.schemaVersion ?? "empty"), backed up \(manifest.createdAt)) "
                + "into \(dataDir): \(manifest.files.count) files verified")
        if audit.isIntact {
            print("audit chain intact: \(audit.checked) records")
        } else {
            print(
                "WARNING: the audit chain is broken at record \(audit.firstBroken ?? 0): \(audit.reason ?? "") "
                    + "(it was broken when the backup was made)")
        }
    }

    /// Every file listed must be present with its size and SHA-256 (and a blob must be named by its SHA-256); no
    /// file may be there unlisted. All problems are reported at once.
    static func verify(_ manifest: BackupManifest, in folder: String) throws {
        var problems: [String] = []
        let listed = Set(manifest.files.map(\.path))
        if manifest.files.filter({ $0.kind == .database }).count != 1 {
            problems.append("the manifest lists no database (or more than one)")
        }
        for entry in manifest.files {
            let path = (folder as NSString).appendingPathComponent(entry.path)
            guard FileManager.default.fileExists(atPath: path) else {
                problems.append("\(entry.path): missing")
                continue
            }
            let actual = try BackupFiles.digest(path)
            if actual.size != entry.size {
                problems.append("\(entry.path): \(actual.size) bytes, the manifest says \(entry.size)")
            } else if actual.sha256 != entry.sha256 {
                problems.append("\(entry.path): SHA-256 \(actual.sha256), the manifest says \(entry.sha256)")
            }
            if entry.kind == .blob && (entry.path as NSString).lastPathComponent != entry.contentSha256 {
                problems.append("\(entry.path): a blob must be named by its SHA-256 \(entry.contentSha256)")
            }
            if manifest.encryption != nil && (entry.plainSha256 == nil || entry.plainSize == nil) {
                problems.append("\(entry.path): the manifest of an encrypted backup lacks its plain SHA-256")
            }
        }
        let own: Set = [BackupManifest.fileName, BackupManifest.signatureFileName]
        for file in try BackupFiles.files(under: folder) where !own.contains(file) && !listed.contains(file) {
            problems.append("\(file): not listed in the manifest")
        }
        guard problems.isEmpty else {
            throw CLIError(
                "refusing to restore \(folder): the backup does not match its manifest\n"
                    + problems.map { "  " + $0 }.joined(separator: "\n"))
        }
    }

    /// The manifest must be signed by the hub key the backup holds (decrypted, in an encrypted backup: a forger without
    /// the passphrase cannot make one that opens) and, with `pinned`, by that public key. Format 1 backups predate
    /// signatures and pass only with `allowUnsigned`.
    static func checkSignature(
        _ manifest: BackupManifest, bytes: Data, signature: BackupManifest.Signature?, in folder: String,
        key: BackupKey?, pinned: String?, allowUnsigned: Bool
    ) throws {
        guard let signature else {
            if manifest.format == 1 && allowUnsigned && pinned == nil { return }
            throw CLIError(
                "refusing to restore \(folder): \(BackupManifest.signatureFileName) is missing"
                    + (manifest.format == 1 ? " (a format 1 backup; pass --allow-unsigned to accept it)" : ""))
        }
        guard let hubKey = manifest.files.first(where: { $0.kind == .hubKey }) else {
            throw CLIError("refusing to restore \(folder): the manifest lists no hub key to check its signature with")
        }
        let keyPath = (folder as NSString).appendingPathComponent(hubKey.path)
        let keyBytes: Data
        if let key {
            keyBytes = try SealedFile.openAll(
                keyPath, name: hubKey.path, key: key.fileKey(hubKey.path), chunkBytes: key.encryption.chunkBytes)
        } else {
            guard let data = FileManager.default.contents(atPath: keyPath) else {
                throw CLIError("cannot read \(keyPath)")
            }
            keyBytes = data
        }
        guard let privateKey = HubKeys.privateKey(fileContents: keyBytes) else {
            throw CLIError("refusing to restore \(folder): \(hubKey.path) does not hold an Ed25519 key")
        }
        let identity = HubIdentity(hubId: manifest.hubId, region: "000000", privateKey: privateKey)
        guard signature.publicKey == identity.publicKey else {
            throw CLIError(
                "refusing to restore \(folder): \(BackupManifest.signatureFileName) names a key that is not the "
                    + "backup's hub key")
        }
        if let pinned, pinned != identity.publicKey {
            throw CLIError(
                "refusing to restore \(folder): the backup's hub key \(identity.publicKey) is not --public-key")
        }
        guard let raw = Data(base64Encoded: signature.signature),
            HubIdentity.isValid(signature: raw, for: bytes, publicKey: identity.publicKey)
        else {
            throw CLIError(
                "refusing to restore \(folder): \(BackupManifest.fileName) does not match its signature (changed "
                    + "after the backup was made)")
        }
    }

    /// Where each file goes, relative to the data directory, from the configured names. A configured path outside the
    /// data directory cannot be restored by one rename, so it is refused before anything is written.
    static func targets(
        for manifest: BackupManifest, configuration: HubConfiguration, dataDir: String
    ) throws -> [String: String] {
        func relative(_ path: String, key: String) throws -> String {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            guard absolute.hasPrefix(dataDir + "/") else {
                throw CLIError("\(key) (\(absolute)) is outside the data directory \(dataDir); restore cannot place it")
            }
            return String(absolute.dropFirst(dataDir.count + 1))
        }
        var targets: [String: String] = [:]
        for entry in manifest.files {
            guard !entry.path.hasPrefix("/") && !entry.path.split(separator: "/").contains("..") else {
                throw CLIError("\(entry.path): a backup path must stay inside the backup folder")
            }
            switch entry.kind {
            case .database: targets[entry.path] = try relative(configuration.databasePath, key: "storage.database")
            case .blob:
                targets[entry.path] =
                    try relative(configuration.blobPath, key: "storage.blob_dir") + "/"
                    + entry.path.dropFirst("blobs/".count)
            case .identifierKey:
                targets[entry.path] = try relative(configuration.identifierKeyPath, key: "privacy.identifier_key_file")
            case .hubKey:
                targets[entry.path] = try relative(configuration.federationKeyPath, key: "federation.key_file")
            case .adminToken: targets[entry.path] = try relative(configuration.adminTokenPath, key: "admin.token")
            }
        }
        return targets
    }

    /// The restored database must be a sound SQLite file whose schema this build knows, and every blob it refers to
    /// must be in the backup. The bytes of the blobs kept in it were checked when the backup was made, and the
    /// manifest's digest of the file holds them since.
    static func check(database path: String, blobs: Set<String>) throws -> AuditVerification {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard integrity == ["ok"] else {
                throw CLIError("the backed-up database fails SQLite's integrity check: \(integrity.prefix(5))")
            }
            let schema = try SchemaVersion.read(db)
            guard schema.unknown.isEmpty else {
                throw CLIError(
                    "the backup was written by a newer hub (migrations \(schema.unknown.joined(separator: ", "))); "
                        + "restore it with that hub's hubctl")
            }
            let missing = try InlineBlobs.filesReferenced(db).subtracting(blobs).sorted()
            if let first = missing.first {
                throw CLIError(
                    "the backed-up database refers to \(missing.count) blobs the backup does not hold (\(first)…)")
            }
            return try AuditLog.verify(db)
        }
    }
}
