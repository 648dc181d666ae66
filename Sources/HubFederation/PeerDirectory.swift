import Crypto
import CurlHTTP
import Foundation
import HubCore
import HubStorage
import Logging

/// Every active peer's directory: the centers it hosts and its signed audit head, fetched every
/// `federation.directory_refresh_seconds`, and at once when asked (a peer added or changed, an operator's refresh). A
/// peer that cannot be reached keeps the centers last known; a signed audit head it shows is witnessed.
public struct PeerDirectory: Sendable {
    let database: any Storage
    let client: PeerClient
    let latencies: PeerLatencies
    let hubId: String
    let refreshSeconds: Int
    let timeoutMilliseconds: Int
    let clock: @Sendable () -> Timestamp
    let logger: Logger

    public init(
        database: any Storage, client: PeerClient, latencies: PeerLatencies, hubId: String, refreshSeconds: Int,
        timeoutMilliseconds: Int, clock: @escaping @Sendable () -> Timestamp, logger: Logger
    ) {
        self.database = database
        self.client = client
        self.latencies = latencies
        self.hubId = hubId
        self.refreshSeconds = refreshSeconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.clock = clock
        self.logger = logger
    }

    /// Refreshes the peers whose last attempt is older than the refresh interval (or that were never fetched);
    /// answers how long until the next one is due.
    public func refreshDue() async throws -> Duration {
        let now = clock().millisecondsSinceEpoch
        let interval = Int64(refreshSeconds) * 1000
        let (due, next) = try await database.read { db -> ([Peer], Int64) in
            var due: [Peer] = []
            var next = interval
            for peer in try db.peers() where peer.status == .active {
                let last = try db.peerState(peerId: peer.id).lastAttemptAt?.millisecondsSinceEpoch
                let wait = last.map { $0 + interval - now } ?? 0
                if wait <= 0 { due.append(peer) } else { next = min(next, wait) }
            }
            return (due, next)
        }
        await withTaskGroup(of: Void.self) { group in
            for peer in due { group.addTask { _ = try? await self.refresh(peer) } }
        }
        return .milliseconds(max(next, 50))
    }

    /// Fetches one peer's directory and stores it; a failure is recorded and the centers last known are kept.
    @discardableResult
    public func refresh(_ peer: Peer) async throws -> PeerState {
        let started = ContinuousClock.now
        var failure: String?
        var centers: [RemoteCenter] = []
        var head: SignedAuditHead?
        do {
            let requestId = GeneratedID.make("req", at: clock())
            let response = try await client.send(
                peer, method: "GET", path: "/federation/v1/directory", requestId: requestId,
                timeout: .milliseconds(max(timeoutMilliseconds, 5000)))
            if response.status == 200,
                let problem = FederationAnswer.problem(
                    response, from: peer, requester: hubId, requestId: requestId)
            {
                failure = "answer refused: \(problem)"
            } else if response.status == 200 {
                let page = try HubJSON.decode(RemoteDirectory.self, from: Data(response.body))
                // A peer speaks for its own centers only.
                centers = page.items.filter { $0.hubId == peer.id }
                head = page.auditHead
                latencies.record(peer.id, milliseconds: Int((ContinuousClock.now - started).wholeMilliseconds))
            } else {
                failure = PeerFailure.status(response.status, body: response.body)
            }
        } catch {
            failure = PeerFailure.describe(error, expected: "a directory")
        }
        let now = clock()
        // Witnessed only when it is the peer's own, signed with the key this hub holds for it.
        let witnessed = head.flatMap { head in
            peer.signingKey.flatMap { head.hubId == peer.id && head.isSigned(by: $0) ? head : nil }
        }
        let (state, regressed) = try await database.write { [failure, centers] db in
            var regressed: SignedAuditHead?
            if let failure {
                try db.recordRefreshFailure(peerId: peer.id, error: failure, now: now)
            } else {
                try db.replaceDirectory(peerId: peer.id, centers: centers, now: now)
                if let witnessed { regressed = try db.witness(witnessed, now: now) }
            }
            return (try db.peerState(peerId: peer.id), regressed)
        }
        if let regressed, let witnessed {
            logger.warning(
                "a peer's audit head went back behind the one witnessed before",
                metadata: [
                    "hub.peer": "\(peer.id)", "hub.audit.witnessed_seq": "\(regressed.seq)",
                    "hub.audit.shown_seq": "\(witnessed.seq)",
                ])
        }
        return state
    }
}

/// A peer's directory answer.
struct RemoteDirectory: Decodable {
    var items: [RemoteCenter]
    var auditHead: SignedAuditHead?

    enum CodingKeys: String, CodingKey {
        case items
        case auditHead = "audit_head"
    }
}

extension Peer {
    /// The peer's Ed25519 key, to check what it signed; nil when the configured key is not one.
    public var signingKey: Curve25519.Signing.PublicKey? {
        HubKeys.publicKey(base64: publicKey)
    }
}
