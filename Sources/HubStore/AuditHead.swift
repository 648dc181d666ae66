import Crypto
import Foundation
import GRDB
import HubCore

/// The audit chain's last record (its sequence number and hash) as the hub saw it at a moment, signed with the hub's
/// Ed25519 key and kept outside the database.
///
/// The chain alone shows a record changed or removed in its middle, but not its end cut off, nor the whole chain
/// rewritten from the first record: both leave a chain that holds. The signed head does: a chain that ends before the
/// head's record, or whose record at the head's sequence number has another hash, is not the chain the hub wrote.
/// Whoever can write the database but not read the hub's key file cannot make a head that passes.
public struct SignedAuditHead: Sendable, Codable, Equatable {
    public var hubId: String
    public var seq: Int64
    public var hash: String
    public var at: Timestamp
    /// Ed25519 over `statement`, base64.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case seq, hash, at, signature
        case hubId = "hub_id"
    }

    public init(hubId: String, seq: Int64, hash: String, at: Timestamp, signature: String = "") {
        self.hubId = hubId
        self.seq = seq
        self.hash = hash
        self.at = at
        self.signature = signature
    }

    /// What is signed: every field, one a line, after a line naming what it is, so a signature over anything else
    /// the hub signs can never pass for one over a head.
    public var statement: Data {
        Data("alliancehub-audit-head-v1\n\(hubId)\n\(seq)\n\(hash)\n\(at.millisecondsSinceEpoch)\n".utf8)
    }

    /// True when `signature` is the key's over `statement`.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        guard let signature = Data(base64Encoded: signature) else { return false }
        return key.isValidSignature(signature, for: statement)
    }
}

/// What the chain says against the last signed head.
public struct AuditHeadCheck: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// The chain holds the head's record with the head's hash.
        case matches
        /// The chain ends before the head's record: records were removed from its end.
        case truncated
        /// The chain's record at the head's sequence number has another hash: the chain was written again.
        case rewritten
        /// The head file's signature is not the hub key's.
        case badSignature = "bad_signature"
        /// No head was ever written (a new hub), or the file is gone.
        case missing

        public var explanation: String {
            switch self {
            case .matches: "the chain holds its last signed head"
            case .truncated: "the chain ends before its last signed head: records were removed from its end"
            case .rewritten: "the chain's record at its last signed head has another hash: the chain was written again"
            case .badSignature: "the audit head file is not signed by this hub's key"
            case .missing: "no signed audit head has been written yet"
            }
        }
    }

    public var status: Status
    public var head: SignedAuditHead?
    /// Records after the head (written since it was signed).
    public var since: Int64

    /// The status in a sentence, for operators.
    public var explanation: String { status.explanation }

    /// True unless the head shows the chain cut or written again, or the head itself forged.
    public var holds: Bool { status == .matches || status == .missing }
}

public enum AuditHead {
    /// The chain's last record now, or nil while it is empty.
    public static func current(_ db: Database) throws -> (seq: Int64, hash: String)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1") else {
            return nil
        }
        return (row["seq"], row["hash"])
    }

    /// Checks the chain in `db` against `head` (read from its file; nil when there is none), with the hub's key.
    public static func check(
        _ db: Database, against head: SignedAuditHead?, key: Curve25519.Signing.PublicKey?
    )
        throws -> AuditHeadCheck
    {
        guard let head else { return AuditHeadCheck(status: .missing, head: nil, since: 0) }
        guard let key, head.isSigned(by: key) else {
            return AuditHeadCheck(status: .badSignature, head: head, since: 0)
        }
        let last = try current(db)?.seq ?? 0
        guard
            let hash = try String.fetchOne(db, sql: "SELECT hash FROM audit_log WHERE seq = ?", arguments: [head.seq])
        else {
            return AuditHeadCheck(status: .truncated, head: head, since: 0)
        }
        return AuditHeadCheck(
            status: hash == head.hash ? .matches : .rewritten, head: head, since: max(0, last - head.seq))
    }

    /// Reads the head file; nil when there is none. A file that is there but unreadable or not a head throws: it is
    /// not the same as no head.
    public static func read(path: String) throws -> SignedAuditHead? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            return try HubJSON.decode(SignedAuditHead.self, from: data)
        } catch {
            throw HubError.unavailable("the audit head file \(path) is not a signed audit head: \(error)")
        }
    }

    /// Writes the head file in place of the old one, durably: a new file beside it (mode 0600), flushed, renamed
    /// over the old, and the folder flushed, so a crash leaves the old head or the new, never half of one.
    public static func write(_ head: SignedAuditHead, path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = path + ".new"
        let bytes = Data((try HubJSON.encodeString(head) + "\n").utf8)
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw HubError.unavailable("cannot write the audit head file \(temporary): \(FileSync.lastError())")
        }
        let file = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try file.write(contentsOf: bytes)
            try file.synchronize()
            try file.close()
        } catch {
            throw HubError.unavailable("cannot write the audit head file \(temporary): \(error)")
        }
        guard rename(temporary, path) == 0 else {
            throw HubError.unavailable("cannot put the audit head file in place at \(path): \(FileSync.lastError())")
        }
        try FileSync.flush(folder.isEmpty ? "." : folder)
    }
}

/// Peers' signed audit heads as this hub last saw them, so that a hub whose own head file was lost with its chain's
/// end can still be shown what it had written.
public enum WitnessedAuditHeads {
    /// Keeps `head` as the one witnessed for its hub unless a head further along is kept already; answers the head
    /// kept before when `head` goes back behind it (the peer's chain lost records, or the peer shows an old head).
    @discardableResult
    public static func witness(_ db: Database, _ head: SignedAuditHead, now: Timestamp) throws -> SignedAuditHead? {
        let kept = try witnessed(db, hubId: head.hubId)
        if let kept, kept.seq > head.seq { return kept }
        try db.execute(
            sql: """
                INSERT INTO witnessed_audit_heads (hub_id, seq, seen_at, body) VALUES (?, ?, ?, ?)
                ON CONFLICT (hub_id) DO UPDATE SET seq = excluded.seq, seen_at = excluded.seen_at, body = excluded.body
                """,
            arguments: [head.hubId, head.seq, now.millisecondsSinceEpoch, try HubJSON.encodeString(head)])
        return nil
    }

    /// The head last witnessed for a hub.
    public static func witnessed(_ db: Database, hubId: String) throws -> SignedAuditHead? {
        try String.fetchOne(db, sql: "SELECT body FROM witnessed_audit_heads WHERE hub_id = ?", arguments: [hubId])
            .map { try HubJSON.decode(SignedAuditHead.self, from: $0) }
    }
}
