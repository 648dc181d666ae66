import Crypto
import Foundation
import Glibc
import HubCore
import HubFederation
import HubStore

/// `manifest.json` of a backup folder: what the backup holds and the SHA-256 of every byte of it, so a restore can
/// prove the copy is whole before it writes anything.
struct BackupManifest: Codable, Equatable {
    static let fileName = "manifest.json"
    /// The hub key's Ed25519 signature of `manifest.json`'s bytes, beside it.
    static let signatureFileName = "manifest.sig"
    /// Bumped when the layout changes; a restore refuses a format it does not know. Format 2 added the signature and
    /// encryption; format 1 backups are unsigned.
    static let currentFormat = 2

    var format: Int
    /// The `hub.id` of the hub that was backed up.
    var hubId: String
    /// When the backup started (RFC 3339, UTC): the database copy is the hub's state at that moment or a little later.
    var createdAt: String
    /// The last migration the database copy ran.
    var schemaVersion: String?
    /// Every migration the database copy ran, in order.
    var migrations: [String]
    var files: [Entry]
    /// How the files were encrypted; nil for a backup in clear.
    var encryption: BackupEncryption?

    /// One file of the backup, by its path inside the backup folder. `size` and `sha256` are those of the file as
    /// stored (encrypted, in an encrypted backup); `plainSize` and `plainSha256` those of its contents once decrypted.
    struct Entry: Codable, Equatable {
        var path: String
        var kind: Kind
        var size: Int64
        var sha256: String
        var plainSize: Int64?
        var plainSha256: String?

        /// The SHA-256 of the file's contents (what a blob is named by).
        var contentSha256: String { plainSha256 ?? sha256 }
        var contentSize: Int64 { plainSize ?? size }

        enum CodingKeys: String, CodingKey {
            case path, kind, size, sha256
            case plainSize = "plain_size"
            case plainSha256 = "plain_sha256"
        }
    }

    /// `manifest.sig`: who signed the manifest and the signature, both base64.
    struct Signature: Codable, Equatable {
        var publicKey: String
        var signature: String

        enum CodingKeys: String, CodingKey {
            case publicKey = "public_key"
            case signature
        }
    }

    /// What a file is, which decides where a restore puts it.
    enum Kind: String, Codable, CaseIterable {
        case database
        case blob
        case identifierKey = "identifier_key"
        case hubKey = "hub_key"
        case adminToken = "admin_token"

        /// Its path inside a backup folder (blobs keep their `ab/cd/<sha256>` path under `blobs/`).
        var fixedPath: String? {
            switch self {
            case .database: "hub.sqlite"
            case .blob: nil
            case .identifierKey: "identifier.key"
            case .hubKey: "hub.key"
            case .adminToken: "admin.token"
            }
        }

        /// Keys and tokens are secrets: their copies are readable by the owner only.
        var isSecret: Bool { self == .identifierKey || self == .hubKey || self == .adminToken }
    }

    enum CodingKeys: String, CodingKey {
        case format, files, migrations, encryption
        case hubId = "hub_id"
        case createdAt = "created_at"
        case schemaVersion = "schema_version"
    }

    /// Writes `manifest.json` and its signature by `identity` (the hub's key) in `manifest.sig`.
    func write(to folder: URL, signedBy identity: HubIdentity) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let url = folder.appendingPathComponent(Self.fileName)
        let data = try encoder.encode(self)
        try data.write(to: url)
        try BackupFiles.flush(url.path)
        let signature = Signature(
            publicKey: identity.publicKey, signature: try identity.signature(for: data).base64EncodedString())
        let signatureURL = folder.appendingPathComponent(Self.signatureFileName)
        try encoder.encode(signature).write(to: signatureURL)
        try BackupFiles.flush(signatureURL.path)
    }

    /// The manifest, its exact bytes (what the signature covers), and its signature when there is one.
    static func read(from folder: URL) throws -> (BackupManifest, bytes: Data, signature: Signature?) {
        let url = folder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CLIError("\(url.path) is missing: \(folder.path) is not a hub backup")
        }
        let manifest: BackupManifest
        do { manifest = try JSONDecoder().decode(BackupManifest.self, from: data) } catch {
            throw CLIError("\(url.path) cannot be read: \(error)")
        }
        guard (1...currentFormat).contains(manifest.format) else {
            throw CLIError(
                "\(url.path) has format \(manifest.format); this hubctl reads formats 1 to \(currentFormat)")
        }
        var signature: Signature?
        let signatureURL = folder.appendingPathComponent(signatureFileName)
        if let bytes = FileManager.default.contents(atPath: signatureURL.path) {
            do { signature = try JSONDecoder().decode(Signature.self, from: bytes) } catch {
                throw CLIError("\(signatureURL.path) cannot be read: \(error)")
            }
        }
        return (manifest, data, signature)
    }
}

/// File copies that hash what they move, so every byte written is accounted for.
enum BackupFiles {
    static let chunkSize = 1 << 20

    /// Size and SHA-256 of a file, read in chunks (blobs may be gigabytes).
    static func digest(_ path: String) throws -> (size: Int64, sha256: String) {
        guard let input = FileHandle(forReadingAtPath: path) else { throw CLIError("cannot read \(path)") }
        defer { try? input.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try input.read(upToCount: chunkSize), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (size, hasher.finalize().withUnsafeBytes(Hex.encode))
    }

    /// Copies `source` to `target` (creating its folder), flushes it to disk, and returns what was copied.
    static func copy(_ source: String, to target: String, secret: Bool = false) throws -> (size: Int64, sha256: String)
    {
        guard let input = FileHandle(forReadingAtPath: source) else { throw CLIError("cannot read \(source)") }
        defer { try? input.close() }
        let output = try create(target, mode: secret ? 0o600 : 0o644)
        defer { try? output.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try input.read(upToCount: chunkSize), !chunk.isEmpty {
            hasher.update(data: chunk)
            try output.write(contentsOf: chunk)
            size += Int64(chunk.count)
        }
        try output.synchronize()
        return (size, hasher.finalize().withUnsafeBytes(Hex.encode))
    }

    /// A new file (and its folder), opened for writing with `O_CREAT | O_EXCL` and `mode`: a secret's copy is the
    /// owner's from its first byte, never widened and then narrowed.
    static func create(_ target: String, mode: Int) throws -> FileHandle {
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = Glibc.open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw CLIError("cannot create \(target): \(String(cString: strerror(errno)))") }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Decrypts `source` into the new file `target` (of `mode`), returning the plaintext's size and SHA-256.
    static func open(
        _ source: String, name: String, to target: String, key: SymmetricKey, chunkBytes: Int, mode: Int
    ) throws -> (size: Int64, sha256: String) {
        let output = try create(target, mode: mode)
        defer { try? output.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        try SealedFile.open(source, name: name, key: key, chunkBytes: chunkBytes) { chunk in
            hasher.update(data: chunk)
            size += Int64(chunk.count)
            try output.write(contentsOf: chunk)
        }
        try output.synchronize()
        return (size, hasher.finalize().withUnsafeBytes(Hex.encode))
    }

    /// Flushes a file or folder to disk (`FileSync.flush`), failing with the CLI's error.
    static func flush(_ path: String) throws {
        do { try FileSync.flush(path) } catch { throw CLIError(error.description) }
    }

    /// Renames a folder into place in one step (over an empty folder, as rename(2) allows).
    static func rename(_ source: String, to target: String) throws {
        guard Foundation.rename(source, target) == 0 else {
            throw CLIError("cannot rename \(source) to \(target): \(String(cString: strerror(errno)))")
        }
        try flush((target as NSString).deletingLastPathComponent)
    }

    /// Every regular file under `folder`, as paths relative to it, sorted.
    static func files(under folder: String) throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = (folder as NSString).appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue {
                files.append(relative)
            }
        }
        return files.sorted()
    }

    /// True when `path` does not exist or is an empty folder.
    static func isAbsentOrEmpty(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return true }
        return isDirectory.boolValue && ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).isEmpty
    }

    /// A fresh folder beside `target` (same file system, so the final rename is atomic).
    static func staging(beside target: String, purpose: String) throws -> String {
        let url = URL(fileURLWithPath: target).standardizedFileURL
        let parent = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let path = (parent as NSString).appendingPathComponent(
            ".\(url.lastPathComponent).\(purpose)-\(UUID().uuidString.prefix(8).lowercased())")
        // Owner only: backups and data directories hold keys.
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        return path
    }

    /// A blob's path inside the store is `ab/cd/<sha256>`; anything else is not a blob.
    static func isBlobPath(_ relative: String) -> Bool {
        let parts = relative.split(separator: "/")
        guard parts.count == 3, let name = parts.last, name.count == 64,
            name.allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { return false }
        return parts[0] == name.prefix(2) && parts[1] == name.dropFirst(2).prefix(2)
    }
}
