import Crypto
import Foundation
import HubCore

/// One thing someone did, as it enters the audit log.
public struct AuditEvent: Sendable {
    public var actor: String
    public var institutionId: String?
    public var action: String
    public var targetType: String
    public var targetId: String
    public var patientKey: String?
    public var remoteAddress: String?
    public var requestId: String?
    public var detail: String?

    public init(
        actor: String, institutionId: String?, action: String, targetType: String, targetId: String,
        patientKey: String? = nil, remoteAddress: String? = nil, requestId: String? = nil, detail: String? = nil
    ) {
        self.actor = actor
        self.institutionId = institutionId
        self.action = action
        self.targetType = targetType
        self.targetId = targetId
        self.patientKey = patientKey
        self.remoteAddress = remoteAddress
        self.requestId = requestId
        self.detail = detail
    }
}

/// An audit record as stored, with its place in the hash chain.
public struct AuditRecord: Sendable, Codable, Equatable {
    public var seq: Int64
    public var at: Timestamp
    public var actor: String
    public var institutionId: String?
    public var action: String
    public var targetType: String
    public var targetId: String
    public var patientKey: String?
    public var remoteAddress: String?
    public var requestId: String?
    public var detail: String?
    public var prevHash: String
    public var hash: String

    public init(
        seq: Int64, at: Timestamp, actor: String, institutionId: String? = nil, action: String, targetType: String,
        targetId: String, patientKey: String? = nil, remoteAddress: String? = nil, requestId: String? = nil,
        detail: String? = nil, prevHash: String, hash: String
    ) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.institutionId = institutionId
        self.action = action
        self.targetType = targetType
        self.targetId = targetId
        self.patientKey = patientKey
        self.remoteAddress = remoteAddress
        self.requestId = requestId
        self.detail = detail
        self.prevHash = prevHash
        self.hash = hash
    }

    enum CodingKeys: String, CodingKey {
        case seq, at, actor, action, detail, hash
        case institutionId = "institution_id"
        case targetType = "target_type"
        case targetId = "target_id"
        case patientKey = "patient_key"
        case remoteAddress = "remote_addr"
        case requestId = "request_id"
        case prevHash = "prev_hash"
    }
}

/// Outcome of walking the chain.
public struct AuditVerification: Sendable, Equatable {
    public var checked: Int
    /// The first record whose hash or link does not hold, if any.
    public var firstBroken: Int64?
    public var reason: String?

    public init(checked: Int, firstBroken: Int64?, reason: String?) {
        self.checked = checked
        self.firstBroken = firstBroken
        self.reason = reason
    }

    public var isIntact: Bool { firstBroken == nil }
}

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

    public init(status: Status, head: SignedAuditHead?, since: Int64) {
        self.status = status
        self.head = head
        self.since = since
    }

    /// The status in a sentence, for operators.
    public var explanation: String { status.explanation }

    /// True unless the head shows the chain cut or written again, or the head itself forged.
    public var holds: Bool { status == .matches || status == .missing }
}

/// The signed head of the audit chain, kept in a file beside the store: what the chain must still hold.
public enum AuditHead {
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
