import Crypto
import CurlHTTP
import Foundation
import HubCore
import HubStorage

/// This hub's identity among its peers: its id, region and Ed25519 key pair. The private key lives in a file of the
/// data directory (mode 0600), created on first start; the public key is what peers configure.
public struct HubIdentity: Sendable {
    public let hubId: String
    public let region: String
    private let privateKey: Curve25519.Signing.PrivateKey

    public var publicKey: String { privateKey.publicKey.rawRepresentation.base64EncodedString() }
    /// The public half of the hub key, to check what the hub signed.
    public var signingKey: Curve25519.Signing.PublicKey { privateKey.publicKey }

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
            decode: HubKeys.privateKey(fileContents:),
            make: {
                let key = Curve25519.Signing.PrivateKey()
                return (key, HubKeys.fileContents(for: key))
            })
        return HubIdentity(hubId: hubId, region: region, privateKey: key)
    }

    /// Signs a statement of this hub's own, not a request (a backup manifest, an audit head). Every kind of statement
    /// starts with a line or a member naming it, so that no signature passes for one of another kind.
    public func signature(for data: Data) throws -> Data {
        try privateKey.signature(for: data)
    }

    /// Whether `signature` over `data` was made with the key whose public half is `publicKey` (base64).
    public static func isValid(signature: Data, for data: Data, publicKey: String) -> Bool {
        HubKeys.publicKey(base64: publicKey)?.isValidSignature(signature, for: data) ?? false
    }

    /// Signs an outgoing hub-to-hub request for `destination` (the receiving hub's id); `target` is the request
    /// target as sent, path and query string. The headers carry everything the receiver needs to check it.
    public func sign(
        method: String, target: String, destination: String, body: Data, requestId: String, origin: String? = nil,
        hops: Int = 0, now: Timestamp
    ) -> [(name: String, value: String)] {
        sign(
            method: method, target: target, destination: destination, bodyDigest: FederationEnvelope.digest(body),
            requestId: requestId, origin: origin, hops: hops, now: now)
    }

    /// Signs a request whose body digest (hex SHA-256) is already known, e.g. a stored blob sent from its file.
    public func sign(
        method: String, target: String, destination: String, bodyDigest: String, requestId: String,
        origin: String? = nil, hops: Int = 0, now: Timestamp
    ) -> [(name: String, value: String)] {
        let envelope = FederationEnvelope(
            hubId: hubId, destination: destination, origin: origin ?? hubId, requestId: requestId, hops: hops,
            timestamp: now.millisecondsSinceEpoch / 1000, method: method, target: target, bodyDigest: bodyDigest)
        return envelope.headers + [(FederationEnvelope.signatureHeader, signature(envelope.canonical))]
    }

    /// Signs this hub's answer to `requester`'s request `requestId`: the headers to send with `body`.
    public func signAnswer(
        requester: String, requestId: String, status: Int, body: Data
    ) -> [(name: String, value: String)] {
        let answer = FederationAnswer(
            hubId: hubId, requester: requester, requestId: requestId, status: status,
            bodyDigest: FederationEnvelope.digest(body))
        return [
            ("X-Hub-Id", hubId), ("X-Hub-Request-Id", requestId),
            (FederationEnvelope.signatureHeader, signature(answer.canonical)),
        ]
    }

    /// This hub's seal on a result it holds, so a hub that relays it cannot change it (see `ResultSeal`).
    public func seal(_ result: FederatedResult) -> FederatedResult {
        var sealed = result
        sealed.signature = ResultSeal(result).map { signature($0.canonical) }
        return sealed
    }

    private func signature(_ canonical: String) -> String {
        ((try? privateKey.signature(for: Data(canonical.utf8))) ?? Data()).base64EncodedString()
    }
}

/// Whether `signature` (base64) is `canonical` signed by `publicKey` (base64 raw Ed25519).
func verifySignature(_ signature: String, of canonical: String, publicKey: String) -> Bool {
    guard let signatureBytes = Data(base64Encoded: signature), let key = HubKeys.publicKey(base64: publicKey) else {
        return false
    }
    return key.isValidSignature(signatureBytes, for: Data(canonical.utf8))
}

/// What a hub-to-hub request says about itself, and the exact bytes its signature covers.
///
/// Version 2 of the signature (`X-Hub-Protocol: 2`) adds the destination hub's id and signs the whole request target,
/// query string included: a request signed for one hub is refused by every other, and its query cannot be changed.
/// A hub running version 1 cannot talk to one running version 2; both ends of a federation are upgraded together.
public struct FederationEnvelope: Sendable, Equatable {
    public var hubId: String
    /// The hub the request is signed for: the receiver checks it against its own id.
    public var destination: String
    public var origin: String
    public var requestId: String
    public var hops: Int
    public var timestamp: Int64
    public var method: String
    /// The request target as sent: path and query string.
    public var target: String
    public var bodyDigest: String

    public static let signatureHeader = "X-Hub-Signature"
    /// Carries the signature's version; a request without it comes from a hub that signs the older way.
    public static let protocolHeader = "X-Hub-Protocol"
    public static let protocolVersion = "2"

    /// Signer, destination, origin, request id, hop count, time, method, target and body digest, one per line under a
    /// version tag.
    public var canonical: String {
        [
            "AllianceHub-Federation-v2", hubId, destination, origin, requestId, String(hops), String(timestamp), method,
            target, bodyDigest,
        ]
        .joined(separator: "\n")
    }

    var headers: [(name: String, value: String)] {
        [
            (Self.protocolHeader, Self.protocolVersion), ("X-Hub-Id", hubId), ("X-Hub-Destination", destination),
            ("X-Hub-Origin", origin), ("X-Hub-Request-Id", requestId), ("X-Hub-Hops", String(hops)),
            ("X-Hub-Timestamp", String(timestamp)),
        ]
    }

    public static func digest(_ body: Data) -> String { SHA256.hash(data: body).withUnsafeBytes(Hex.encode) }

    public static func digest(_ body: [UInt8]) -> String { SHA256.hash(data: body).withUnsafeBytes(Hex.encode) }

    /// Reads the envelope of a request received by hub `destination` (this hub: what the sender claims to have signed
    /// for is not taken from the request), for a body whose digest the receiver computed or was promised.
    public init?(
        header: (String) -> String?, destination: String, method: String, target: String, bodyDigest: String
    ) {
        guard let hubId = header("X-Hub-Id"), let requestId = header("X-Hub-Request-Id"),
            let hops = header("X-Hub-Hops").flatMap(Int.init),
            let timestamp = header("X-Hub-Timestamp").flatMap(Int64.init)
        else { return nil }
        self.init(
            hubId: hubId, destination: destination, origin: header("X-Hub-Origin") ?? hubId, requestId: requestId,
            hops: hops, timestamp: timestamp, method: method, target: target, bodyDigest: bodyDigest)
    }

    public init(
        hubId: String, destination: String, origin: String, requestId: String, hops: Int, timestamp: Int64,
        method: String, target: String, bodyDigest: String
    ) {
        self.hubId = hubId
        self.destination = destination
        self.origin = origin
        self.requestId = requestId
        self.hops = hops
        self.timestamp = timestamp
        self.method = method
        self.target = target
        self.bodyDigest = bodyDigest
    }

    /// Whether `signature` (base64) is this envelope signed by `publicKey` (base64 raw Ed25519).
    public func verify(signature: String, publicKey: String) -> Bool {
        verifySignature(signature, of: canonical, publicKey: publicKey)
    }
}

/// What the answering hub signs of its answer: itself, the hub that asked, the request's id, the status and the body's
/// digest. An answer changed on the way, replayed to another request, or sent by another hub does not verify.
public struct FederationAnswer: Sendable, Equatable {
    public var hubId: String
    public var requester: String
    public var requestId: String
    public var status: Int
    public var bodyDigest: String

    public init(hubId: String, requester: String, requestId: String, status: Int, bodyDigest: String) {
        self.hubId = hubId
        self.requester = requester
        self.requestId = requestId
        self.status = status
        self.bodyDigest = bodyDigest
    }

    public var canonical: String {
        ["AllianceHub-Federation-Answer-v2", hubId, requester, requestId, String(status), bodyDigest]
            .joined(separator: "\n")
    }

    /// nil when `response` is `peer`'s signed answer to this hub's request `requestId`; otherwise why it is refused.
    public static func problem(
        _ response: CurlResponse, from peer: Peer, requester: String, requestId: String
    ) -> String? {
        guard let signature = response.headers[FederationEnvelope.signatureHeader] else {
            return "the answer is not signed by \(peer.id)"
        }
        guard response.headers["X-Hub-Id"] == peer.id, response.headers["X-Hub-Request-Id"] == requestId else {
            return "the answer is signed for another hub or request"
        }
        let answer = FederationAnswer(
            hubId: peer.id, requester: requester, requestId: requestId, status: response.status,
            bodyDigest: FederationEnvelope.digest(response.body))
        return verifySignature(signature, of: answer.canonical, publicKey: peer.publicKey)
            ? nil : "the answer's signature does not verify with \(peer.id)'s public key"
    }
}

/// What the hub that holds a result signs of it, so that the result can be relayed by other hubs as evidence: the
/// holding hub's id, the performing institution's level as that hub knows it, and the SHA-256 of the whole result
/// record in the hubs' JSON form (sorted keys): its id, patient identifiers, item, institution, center, time, report
/// status and version, findings, conclusion, values, attachments and recognition metadata (catalog version, scope,
/// mark, validity, qualification, region, alliances). A relaying hub that changes any of them breaks the seal.
public struct ResultSeal: Sendable, Equatable {
    public var hubId: String
    public var performerLevel: String
    public var recordDigest: String

    public init?(_ result: FederatedResult) {
        guard let record = try? HubJSON.encode(result.result) else { return nil }
        hubId = result.hubId
        performerLevel = result.performerLevel?.rawValue ?? ""
        recordDigest = FederationEnvelope.digest(record)
    }

    public var canonical: String {
        ["AllianceHub-Result-v2", hubId, performerLevel, recordDigest].joined(separator: "\n")
    }

    /// Whether `result` carries its hub's seal, checked with that hub's key.
    public static func verify(_ result: FederatedResult, publicKey: String) -> Bool {
        guard let signature = result.signature, let seal = ResultSeal(result) else { return false }
        return verifySignature(signature, of: seal.canonical, publicKey: publicKey)
    }
}
