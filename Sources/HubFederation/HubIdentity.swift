import Crypto
import Foundation
import HubCore

/// This hub's identity among its peers: its id, region and Ed25519 key pair. The private key lives in a file of the
/// data directory (mode 0600), created on first start; the public key is what peers configure.
public struct HubIdentity: Sendable {
    public let hubId: String
    public let region: String
    private let privateKey: Curve25519.Signing.PrivateKey

    public var publicKey: String { privateKey.publicKey.rawRepresentation.base64EncodedString() }
    /// The public half of the hub key, to check what the hub signed.
    public var signingKey: Curve25519.Signing.PublicKey { privateKey.publicKey }

    /// Signs a statement of this hub's own, not a request (an audit head, say), base64. Every kind of statement
    /// starts with a line naming it, so that no signature passes for one of another kind.
    public func signStatement(_ statement: Data) -> String {
        ((try? privateKey.signature(for: statement)) ?? Data()).base64EncodedString()
    }

    public init(hubId: String, region: String, privateKey: Curve25519.Signing.PrivateKey) {
        self.hubId = hubId
        self.region = region
        self.privateKey = privateKey
    }

    /// Reads the key file, creating it when absent.
    public static func loadOrCreate(hubId: String, region: String, keyPath: String) throws -> HubIdentity {
        if let data = FileManager.default.contents(atPath: keyPath),
            let raw = Data(
                base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return HubIdentity(
                hubId: hubId, region: region, privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
        }
        let key = Curve25519.Signing.PrivateKey()
        try FileManager.default.createDirectory(
            atPath: (keyPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard
            FileManager.default.createFile(
                atPath: keyPath, contents: Data((key.rawRepresentation.base64EncodedString() + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else {
            throw HubError.unavailable("cannot write the hub key file \(keyPath)")
        }
        return HubIdentity(hubId: hubId, region: region, privateKey: key)
    }

    /// Signs an outgoing hub-to-hub request; the headers carry everything the receiver needs to check it.
    public func sign(
        method: String, path: String, body: Data, requestId: String, origin: String? = nil, hops: Int = 0,
        now: Timestamp
    ) -> [(name: String, value: String)] {
        sign(
            method: method, path: path, bodyDigest: FederationEnvelope.digest(body), requestId: requestId,
            origin: origin, hops: hops, now: now)
    }

    /// Signs a request whose body digest (hex SHA-256) is already known, e.g. a stored blob sent from its file.
    public func sign(
        method: String, path: String, bodyDigest: String, requestId: String, origin: String? = nil, hops: Int = 0,
        now: Timestamp
    ) -> [(name: String, value: String)] {
        let envelope = FederationEnvelope(
            hubId: hubId, origin: origin ?? hubId, requestId: requestId, hops: hops,
            timestamp: now.millisecondsSinceEpoch / 1000, method: method, path: path, bodyDigest: bodyDigest)
        let signature = (try? privateKey.signature(for: Data(envelope.canonical.utf8))) ?? Data()
        return envelope.headers + [(FederationEnvelope.signatureHeader, signature.base64EncodedString())]
    }
}

/// What a hub-to-hub request says about itself, and the exact bytes its signature covers.
public struct FederationEnvelope: Sendable, Equatable {
    public var hubId: String
    public var origin: String
    public var requestId: String
    public var hops: Int
    public var timestamp: Int64
    public var method: String
    public var path: String
    public var bodyDigest: String

    public static let signatureHeader = "X-Hub-Signature"

    /// Method, path, time, body digest, request id, origin and hop count, one per line under a version tag.
    public var canonical: String {
        [
            "AllianceHub-Federation-v1", hubId, origin, requestId, String(hops), String(timestamp), method, path,
            bodyDigest,
        ]
        .joined(separator: "\n")
    }

    var headers: [(name: String, value: String)] {
        [
            ("X-Hub-Id", hubId), ("X-Hub-Origin", origin), ("X-Hub-Request-Id", requestId),
            ("X-Hub-Hops", String(hops)),
            ("X-Hub-Timestamp", String(timestamp)),
        ]
    }

    public static func digest(_ body: Data) -> String { SHA256.hash(data: body).withUnsafeBytes(Hex.encode) }

    /// Reads the envelope from request headers (looked up case-insensitively by the caller's accessor).
    public init?(header: (String) -> String?, method: String, path: String, body: Data) {
        self.init(header: header, method: method, path: path, bodyDigest: Self.digest(body))
    }

    /// Reads the envelope for a body whose digest the receiver computed or was promised (checked after reading).
    public init?(header: (String) -> String?, method: String, path: String, bodyDigest: String) {
        guard let hubId = header("X-Hub-Id"), let requestId = header("X-Hub-Request-Id"),
            let hops = header("X-Hub-Hops").flatMap(Int.init),
            let timestamp = header("X-Hub-Timestamp").flatMap(Int64.init)
        else { return nil }
        self.init(
            hubId: hubId, origin: header("X-Hub-Origin") ?? hubId, requestId: requestId, hops: hops,
            timestamp: timestamp,
            method: method, path: path, bodyDigest: bodyDigest)
    }

    public init(
        hubId: String, origin: String, requestId: String, hops: Int, timestamp: Int64, method: String, path: String,
        bodyDigest: String
    ) {
        self.hubId = hubId
        self.origin = origin
        self.requestId = requestId
        self.hops = hops
        self.timestamp = timestamp
        self.method = method
        self.path = path
        self.bodyDigest = bodyDigest
    }

    /// Whether `signature` (base64) is this envelope signed by `publicKey` (base64 raw Ed25519).
    public func verify(signature: String, publicKey: String) -> Bool {
        guard let signatureBytes = Data(base64Encoded: signature), let keyBytes = Data(base64Encoded: publicKey),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        else { return false }
        return key.isValidSignature(signatureBytes, for: Data(canonical.utf8))
    }
}
