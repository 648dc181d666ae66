import Foundation
import HubCore
import HubStorage

/// Checks a hub-to-hub request: signed by a known, active peer, for this hub, over the method, the whole request
/// target and the body; signed recently; within the hop limit; not a loop back to this hub; never seen before.
public struct PeerRequestVerifier: Sendable {
    let database: any Storage
    let hubId: String
    let maxSkewSeconds: Int
    let maxHops: Int
    let clock: @Sendable () -> Timestamp

    public init(
        database: any Storage, hubId: String, maxSkewSeconds: Int, maxHops: Int,
        clock: @escaping @Sendable () -> Timestamp
    ) {
        self.database = database
        self.hubId = hubId
        self.maxSkewSeconds = maxSkewSeconds
        self.maxHops = maxHops
        self.clock = clock
    }

    /// Why a request was refused: counted and written down under `origin` and `reason`, answered with `error`.
    public struct Refusal: Error, Sendable {
        /// The known peer the request claims to come from, or `unknown`: a hub this hub does not know is named by
        /// the sender, so every such claim is one origin.
        public var origin: String
        /// A stable reason: `unsigned`, `protocol`, `unknown_hub`, `stale`, `wrong_destination`, `bad_signature`,
        /// `hop_limit`, `loop`, `replay`.
        public var reason: String
        /// What the log and the audit record say, with the claimed id when the peer is unknown.
        public var detail: String
        /// The answer to the caller.
        public var error: HubError
    }

    /// The calling peer and what its request says about itself, or a `Refusal`. `header` reads the request's
    /// headers; `bodyDigest` is the hex SHA-256 of the body (read, or promised by the request).
    public func verify(
        header: (String) -> String?, method: String, target: String, bodyDigest: String
    ) async throws -> (Peer, FederationEnvelope) {
        let now = clock()
        let envelope = FederationEnvelope(
            header: header, destination: hubId, method: method, target: target, bodyDigest: bodyDigest)
        let claimed = header("X-Hub-Id")
        let peer = try await database.read { db -> Peer? in
            guard let claimed, ResourceID.isValid(claimed) else { return nil }
            return try db.peer(id: claimed)
        }
        func refuse(
            _ reason: String, _ detail: String, kind: HubError.Kind = .unauthenticated, code: String = "unauthorized"
        ) -> Refusal {
            let claim = claimed.map { " (claimed '\(String($0.prefix(64)))')" } ?? ""
            return Refusal(
                origin: peer?.id ?? "unknown", reason: reason, detail: detail + (peer == nil ? claim : ""),
                error: HubError(code: code, kind: kind, title: "Peer request refused", detail: detail))
        }
        guard let envelope, let signature = header(FederationEnvelope.signatureHeader) else {
            throw refuse("unsigned", "the request is not signed by a peer hub")
        }
        guard header(FederationEnvelope.protocolHeader) == FederationEnvelope.protocolVersion else {
            throw refuse(
                "protocol",
                "the request is signed with an older hub-to-hub signature; this hub needs X-Hub-Protocol: "
                    + "\(FederationEnvelope.protocolVersion) (both hubs must run the same version)")
        }
        guard let peer, peer.status == .active else {
            throw refuse("unknown_hub", "'\(envelope.hubId)' is not a known, active peer of this hub")
        }
        guard abs(now.millisecondsSinceEpoch / 1000 - envelope.timestamp) <= Int64(maxSkewSeconds) else {
            throw refuse("stale", "the signature time is more than \(maxSkewSeconds) s from this hub's clock")
        }
        guard envelope.verify(signature: signature, publicKey: peer.publicKey) else {
            if let destination = header("X-Hub-Destination"), destination != hubId {
                throw refuse(
                    "wrong_destination",
                    "the request is signed for hub '\(String(destination.prefix(64)))', not for \(hubId)")
            }
            throw refuse(
                "bad_signature",
                "the signature does not verify with \(peer.id)'s public key for this hub, method, target and body")
        }
        guard envelope.hops <= maxHops else {
            throw refuse(
                "hop_limit", "the request has passed \(envelope.hops) hubs; the limit is \(maxHops)", kind: .invalid,
                code: "hop_limit")
        }
        guard envelope.origin != hubId else {
            throw refuse(
                "loop", "request \(envelope.requestId) started at this hub and came back through \(peer.id)",
                kind: .invalid, code: "loop_detected")
        }
        let lifetime = sightingLifetime
        let first = try await database.write { db in
            let first = try db.firstSighting(
                hubId: envelope.origin, requestId: envelope.requestId, now: now)
            try db.forgetSightings(before: now.adding(milliseconds: -lifetime))
            return first
        }
        guard first else {
            throw refuse(
                "replay", "request \(envelope.requestId) from \(envelope.origin) was already received (replay or loop)")
        }
        return (peer, envelope)
    }

    /// How long a request id is remembered, in milliseconds. A signature time is accepted while it is within the skew
    /// of this hub's clock, in whole seconds: from the first sighting, a replay can be accepted by its time for at
    /// most twice the skew plus one second. Ids are kept a second longer than that.
    public var sightingLifetime: Int64 { (Int64(maxSkewSeconds) * 2 + 2) * 1000 }
}
