import Crypto
import CurlHTTP
import Foundation
import HubConfig
import HubCore
import HubFederation
import HubStore
import HubUseCases
import Logging
import ServiceLifecycle
import Synchronization

/// Fetches every active peer's directory every `federation.directory_refresh_seconds`, and at once when asked
/// (a peer added or changed, an operator's refresh).
struct PeerDirectoryService: Service {
    let env: HubEnvironment
    let readiness: Readiness

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // Until the next peer is due (or a peer is added or refreshed by hand), nothing is read.
                var pause = Duration.seconds(1)
                if readiness.isReady {
                    do {
                        pause = try await env.refreshDueDirectories()
                    } catch is CancellationError {
                        return
                    } catch {
                        env.logger.error("peer directory refresh failed", metadata: ["error.message": "\(error)"])
                    }
                }
                await env.directorySignal.wait(timeout: pause)
            }
        }
    }
}

extension HubEnvironment {
    /// Refreshes the peers whose last attempt is older than the refresh interval (or that were never fetched);
    /// answers how long until the next one is due.
    func refreshDueDirectories() async throws -> Duration {
        let now = clock().millisecondsSinceEpoch
        let interval = Int64(config.federationDirectoryRefreshSeconds) * 1000
        let (due, next) = try await database.read { db -> ([Peer], Int64) in
            var due: [Peer] = []
            var next = interval
            for peer in try PeerStore.peers(db) where peer.status == .active {
                let last = try PeerStore.state(db, peerId: peer.id).lastAttemptAt?.millisecondsSinceEpoch
                let wait = last.map { $0 + interval - now } ?? 0
                if wait <= 0 { due.append(peer) } else { next = min(next, wait) }
            }
            return (due, next)
        }
        await withTaskGroup(of: Void.self) { group in
            for peer in due { group.addTask { _ = try? await self.refreshDirectory(peer) } }
        }
        return .milliseconds(max(next, 50))
    }

    /// Fetches one peer's directory and stores it; a failure is recorded and the centers last known are kept.
    @discardableResult
    func refreshDirectory(_ peer: Peer) async throws -> PeerState {
        let started = ContinuousClock.now
        var failure: String?
        var centers: [RemoteCenter] = []
        var head: SignedAuditHead?
        do {
            let requestId = GeneratedID.make("req", at: clock())
            let response = try await peerClient.send(
                peer, method: "GET", path: "/federation/v1/directory", requestId: requestId,
                timeout: .milliseconds(max(config.federationPeerTimeoutMilliseconds, 5000)))
            if response.status == 200,
                let problem = FederationAnswer.problem(
                    response, from: peer, requester: config.hubId, requestId: requestId)
            {
                failure = "answer refused: \(problem)"
            } else if response.status == 200 {
                let page = try HubJSON.decode(RemoteDirectory.self, from: Data(response.body))
                // A peer speaks for its own centers only.
                centers = page.items.filter { $0.hubId == peer.id }
                head = page.auditHead
                peerLatencies.record(peer.id, milliseconds: Int((ContinuousClock.now - started).wholeMilliseconds))
            } else {
                failure =
                    "HTTP \(response.status)\(HubEnvironment.problemDetail(response.body).map { ": \($0)" } ?? "")"
            }
        } catch {
            failure = HubEnvironment.describe(error)
        }
        let now = clock()
        // Witnessed only when it is the peer's own, signed with the key this hub holds for it.
        let witnessed = head.flatMap { head in
            peer.signingKey.flatMap { head.hubId == peer.id && head.isSigned(by: $0) ? head : nil }
        }
        let (state, regressed) = try await database.write { [failure, centers] db in
            var regressed: SignedAuditHead?
            if let failure {
                try PeerStore.recordRefreshFailure(db, peerId: peer.id, error: failure, now: now)
            } else {
                try PeerStore.replaceDirectory(db, peerId: peer.id, centers: centers, now: now)
                if let witnessed { regressed = try WitnessedAuditHeads.witness(db, witnessed, now: now) }
            }
            return (try PeerStore.state(db, peerId: peer.id), regressed)
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
    var signingKey: Curve25519.Signing.PublicKey? {
        HubKeys.publicKey(base64: publicKey)
    }
}
