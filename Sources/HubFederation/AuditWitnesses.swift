import Crypto
import CurlHTTP
import Foundation
import HubCore
import HubStorage

/// The peers that witness this hub's audit chain: each keeps the last signed head it saw in this hub's directory,
/// and shows it back on `GET /federation/v1/audit-head`. A chain cut back or rewritten behind a head a peer
/// witnessed no longer matches it.
public struct AuditWitnesses: Sendable {
    let database: any Storage
    let client: PeerClient
    let hubId: String
    let signingKey: Curve25519.Signing.PublicKey
    let timeout: Duration
    let clock: @Sendable () -> Timestamp

    public init(
        database: any Storage, client: PeerClient, identity: HubIdentity, timeout: Duration,
        clock: @escaping @Sendable () -> Timestamp
    ) {
        self.database = database
        self.client = client
        self.hubId = identity.hubId
        self.signingKey = identity.signingKey
        self.timeout = timeout
        self.clock = clock
    }

    /// The body of `GET /federation/v1/audit-head`: the calling hub's head as this hub last witnessed it.
    public struct Answer: Codable, Sendable {
        public var auditHead: SignedAuditHead?

        public init(auditHead: SignedAuditHead?) { self.auditHead = auditHead }

        enum CodingKeys: String, CodingKey { case auditHead = "audit_head" }
    }

    /// The chain against the head one peer witnessed.
    public struct Witness: Encodable, Sendable {
        public var peerId: String
        /// A head status, or `unavailable` when the peer did not answer (with `error`).
        public var status: String
        public var seq: Int64?
        public var signedAt: Timestamp?
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case status, seq, error
            case peerId = "peer_id"
            case signedAt = "signed_at"
        }

        /// Whether the chain holds against this witness: it matches, or the peer has not witnessed a head yet.
        public var holds: Bool {
            AuditHeadCheck.Status(rawValue: status).map { $0 == .matches || $0 == .missing } ?? true
        }
    }

    /// Asks every one of `peers`, at once and each within the peer timeout, for this hub's head as it last witnessed
    /// it, and checks the chain against each; sorted by peer.
    public func ask(_ peers: [Peer]) async -> [Witness] {
        let signingKey = signingKey
        return await withTaskGroup(of: Witness.self) { group in
            for peer in peers {
                group.addTask {
                    do {
                        let requestId = GeneratedID.make("req", at: clock())
                        let response = try await client.send(
                            peer, method: "GET", path: "/federation/v1/audit-head", requestId: requestId,
                            timeout: timeout)
                        guard response.status == 200 else {
                            return Witness(peerId: peer.id, status: "unavailable", error: "HTTP \(response.status)")
                        }
                        if let problem = FederationAnswer.problem(
                            response, from: peer, requester: hubId, requestId: requestId)
                        {
                            return Witness(peerId: peer.id, status: "unavailable", error: "answer refused: \(problem)")
                        }
                        let witnessed = try HubJSON.decode(Answer.self, from: Data(response.body)).auditHead
                        let check = try await database.read {
                            try $0.checkAudit(against: witnessed, key: signingKey)
                        }
                        return Witness(
                            peerId: peer.id, status: check.status.rawValue, seq: witnessed?.seq,
                            signedAt: witnessed?.at)
                    } catch {
                        return Witness(peerId: peer.id, status: "unavailable", error: "\(error)")
                    }
                }
            }
            var answers: [Witness] = []
            for await answer in group { answers.append(answer) }
            return answers.sorted { $0.peerId < $1.peerId }
        }
    }
}
