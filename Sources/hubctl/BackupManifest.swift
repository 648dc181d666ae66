import Crypto
import Foundation
import HubCore
import HubStore

/// `manifest.json` of a backup folder: what the backup holds and the SHA-256 of every byte of it, so a restore can
/// prove the copy is whole before it writes anything.
struct BackupManifest: Codable, Equatable {
    static let fileName = "manifest.json"
    /// Bumped when the layout changes; a restore refuses a format it does not know.
    static let currentFormat = 1

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

    /// One file of the backup, by its path inside the backup folder.
    struct Entry: Codable, Equatable {
        var path: String
        var kind: Kind
        var size: Int64
        var sha256: String
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
        case format, files, migrations
        case hubId = "hub_id"
        case createdAt = "created_at"
        case schemaVersion = "schema_version"
    }

    func write(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let url = folder.appendingPathComponent(Self.fileName)
        try encoder.encode(self).write(to: url)
        try BackupFiles.flush(url.path)
    }

    static func read(from folder: URL) throws -> BackupManifest {
        let url = folder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CLIError("\(url.path) is missing: \(folder.path) is not a hub backup")
        }
        let manifest: BackupManifest
        do { manifest = try JSONDecoder().decode(BackupManifest.self, from: data) } catch {
            throw CLIError("\(url.path) cannot be read: \(error)")
        }
        guard manifest.format == currentFormat else {
            throw CLIError(
                "\(url.path) has format \(manifest.format); this hubctl reads format \(currentFormat) only")
        }
        return manifest
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
        let manager = FileManager.default
        try manager.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard let input = FileHandle(forReadingAtPath: source) else { throw CLIError("cannot read \(source)") }
        defer { try? input.close() }
        guard manager.createFile(atPath: target, contents: nil, attributes: [.posixPermissions: secret ? 0o600 : 0o644])
        else {
            throw CLIError("cannot create \(target)")
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: target))
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
