import Crypto
import Foundation
import HubCore
import HubStore

/// This hub's identity among its peers: its id, region and Ed25519 key pair. The private key lives in a file of the
/// data directory (mode 0600), created on first start; the public key is what peers configure.
public struct HubIdentity: Sendable {
    public let hubId: String
    public let region: String
    private let privateKey: Curve25519.Signing.PrivateKey

    public var publicKey: String { privateKey.publicKey.rawRepresentation.base64EncodedString() }

    public init(hubId: String, region: String, privateKey: Curve25519.Signing.PrivateKey) {
        self.hubId = hubId
        self.region = region
        self.privateKey = privateKey
    }

    /// Reads the key file, creating it (mode 0600 from its first byte) when absent. A file that exists but cannot be
    /// read or does not hold an Ed25519 key stops the start (`SecretFile.Unusable`, naming the file): a new key would
    /// be a new identity that no peer knows.
    public static func loadOrCreate(hubId: String, region: String, keyPath: String) throws -> HubIdentity {
        let key = try SecretFile.loadOrCreate(
            keyPath,
            decode: { data -> Curve25519.Signing.PrivateKey? in
                let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard let raw = Data(base64Encoded: text) else { return nil }
                return try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            },
            make: {
                let key = Curve25519.Signing.PrivateKey()
                return (key, Data((key.rawRepresentation.base64EncodedString() + "\n").utf8))
            })
        return HubIdentity(hubId: hubId, region: region, privateKey: key)
    }

    /// Signs arbitrary bytes (a backup manifest) with the hub's key.
    public func signature(for data: Data) throws -> Data {
        try privateKey.signature(for: data)
    }

    /// Whether `signature` over `data` was made with the key whose public half is `publicKey` (base64).
    public static func isValid(signature: Data, for data: Data, publicKey: String) -> Bool {
        guard let raw = Data(base64Encoded: publicKey),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { return false }
        return key.isValidSignature(signature, for: data)
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
