import CurlHTTP
import Foundation
import HubCore
import HubFederation
import HubStore
import Logging
import ServiceLifecycle
import Synchronization

/// Recent answer times per peer, kept in memory for the operator's status view (metrics carry the history).
public final class PeerLatencies: Sendable {
    private let samples = Mutex<[String: [Int]]>([:])
    private let keep = 32

    public init() {}

    func record(_ peerId: String, milliseconds: Int) {
        samples.withLock { all in
            var list = all[peerId] ?? []
            list.append(milliseconds)
            if list.count > keep { list.removeFirst(list.count - keep) }
            all[peerId] = list
        }
    }

    /// The median of the recent samples, and how many there are.
    func recent(_ peerId: String) -> (median: Int?, count: Int) {
        let list = samples.withLock { $0[peerId] ?? [] }.sorted()
        return (list.isEmpty ? nil : list[list.count / 2], list.count)
    }
}

/// Fetches every active peer's directory every `federation.directory_refresh_seconds`, and at once when asked
/// (a peer added or changed, an operator's refresh).
struct PeerDirectoryService: Service {
    let env: HubEnvironment
    let readiness: Readiness

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if readiness.isReady {
                    do {
                        try await env.refreshDueDirectories()
                    } catch is CancellationError {
                        return
                    } catch {
                        env.logger.error("peer directory refresh failed", metadata: ["error.message": "\(error)"])
                    }
                }
                await env.directorySignal.wait(timeout: .seconds(1))
            }
        }
    }
}

extension HubEnvironment {
    /// Refreshes the peers whose last attempt is older than the refresh interval (or that were never fetched).
    func refreshDueDirectories() async throws {
        let now = clock()
        let interval = Int64(config.federationDirectoryRefreshSeconds) * 1000
        let due = try await database.read { db in
            try PeerStore.peers(db).filter { peer in
                guard peer.status == .active else { return false }
                guard let last = try PeerStore.state(db, peerId: peer.id).lastAttemptAt else { return true }
                return now.millisecondsSinceEpoch - last.millisecondsSinceEpoch >= interval
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for peer in due { group.addTask { _ = try? await self.refreshDirectory(peer) } }
        }
    }

    /// Fetches one peer's directory and stores it; a failure is recorded and the centers last known are kept.
    @discardableResult
    func refreshDirectory(_ peer: Peer) async throws -> PeerState {
        let started = ContinuousClock.now
        var failure: String?
        var centers: [RemoteCenter] = []
        do {
            let response = try await peerClient.send(
                peer, method: "GET", path: "/federation/v1/directory",
                timeout: .milliseconds(max(config.federationPeerTimeoutMilliseconds, 5000)))
            if response.status == 200 {
                let page = try HubJSON.decode(RemoteDirectory.self, from: Data(response.body))
                // A peer speaks for its own centers only.
                centers = page.items.filter { $0.hubId == peer.id }
                let elapsed = ContinuousClock.now - started
                peerLatencies.record(
                    peer.id,
                    milliseconds: Int(
                        elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000))
            } else {
                failure =
                    "HTTP \(response.status)\(HubEnvironment.problemDetail(response.body).map { ": \($0)" } ?? "")"
            }
        } catch {
            failure = HubEnvironment.describe(error)
        }
        let now = clock()
        return try await database.write { [failure, centers] db in
            if let failure {
                try PeerStore.recordRefreshFailure(db, peerId: peer.id, error: failure, now: now)
            } else {
                try PeerStore.replaceDirectory(db, peerId: peer.id, centers: centers, now: now)
            }
            return try PeerStore.state(db, peerId: peer.id)
        }
    }
}

/// A peer's directory answer.
struct RemoteDirectory: Decodable {
    var items: [RemoteCenter]
}
