import CurlHTTP
import Foundation
import HubCore
import HubStorage
import Logging
import Metrics

/// The cross-community part of a recognition check: which peer hubs to ask, and the parallel fan-out to them with a
/// per-peer timeout inside an overall deadline. Only evidence comes back: a peer's own results, and those it relays
/// with a valid seal of their hub.
public struct FederatedRecognition: Sendable {
    let database: any Storage
    let client: PeerClient
    let latencies: PeerLatencies
    let hubId: String
    let ownPublicKey: String
    let peerTimeoutMilliseconds: Int
    let logger: Logger

    public init(
        database: any Storage, client: PeerClient, latencies: PeerLatencies, identity: HubIdentity,
        peerTimeoutMilliseconds: Int, logger: Logger
    ) {
        self.database = database
        self.client = client
        self.latencies = latencies
        self.hubId = identity.hubId
        self.ownPublicKey = identity.publicKey
        self.peerTimeoutMilliseconds = peerTimeoutMilliseconds
        self.logger = logger
    }

    /// A time to answer in, in milliseconds, less a margin for the answer's way back (a fifth, at most 200 ms), so
    /// that a peer told it, or relaying with it, answers in time.
    public static func lessTheWayBack(_ milliseconds: Int) -> Int {
        max(1, milliseconds - min(milliseconds / 5, 200))
    }

    /// Where peers take recognition queries.
    public static let queryPath = "/federation/v1/recognition/query"

    /// The peers a check asks, and those it skips with the reason.
    public func targets(
        _ db: any StoreReader, scope: RecognitionScope?, requesterRegion: String, excluding: Set<String>
    ) throws -> (ask: [Peer], skipped: [PeerOutcome]) {
        var ask: [Peer] = []
        var skipped: [PeerOutcome] = []
        for peer in try db.peers() where !excluding.contains(peer.id) {
            if let reason = PeerSelection.skipReason(peer, scope: scope, requesterRegion: requesterRegion) {
                skipped.append(PeerOutcome(hubId: peer.id, status: .skipped, detail: reason))
            } else {
                ask.append(peer)
            }
        }
        return (ask, skipped)
    }

    /// Asks `peers` in parallel. Each call has `min(peer timeout, deadline)`; a peer that does not answer in time is
    /// `timeout`, one that fails or refuses, or whose answer is not signed by it for this hub, is `error`. Of a signed
    /// answer, the results the peer holds itself are kept, and those it relays only with a valid seal of their hub
    /// (checked with that hub's key as this hub's peer list has it); the others are dropped and counted in the
    /// peer's outcome. Never throws: a federated answer degrades, it does not fail.
    public func ask(
        _ peers: [Peer], query: RecognitionQuery, origin: String, requestId: String, hops: Int, deadline: Duration
    ) async -> (results: [FederatedResult], outcomes: [PeerOutcome]) {
        guard !peers.isEmpty else { return ([], []) }
        let perPeer = min(.milliseconds(peerTimeoutMilliseconds), deadline)
        var forward = query
        forward.asked = Array(Set(query.asked + peers.map(\.id) + [hubId])).sorted()
        // Each peer is told how long it has, less a margin for the way back, so a relaying peer answers in time.
        forward.deadlineMs = Self.lessTheWayBack(Int(perPeer.wholeMilliseconds))
        let body = (try? HubJSON.encode(forward)) ?? Data()
        // The keys results may be sealed with: this hub's peers', and its own.
        var keys =
            (try? await database.read { db in
                try db.peers().filter { $0.status == .active }.map { ($0.id, $0.publicKey) }
            }).map { Dictionary($0, uniquingKeysWith: { first, _ in first }) } ?? [:]
        keys[hubId] = ownPublicKey
        let sealKeys = keys
        let ownId = hubId
        let (client, logger, latencies) = (client, logger, latencies)
        return await withTaskGroup(of: (PeerOutcome, RecognitionQueryAnswer?).self) { group in
            for peer in peers {
                group.addTask {
                    let started = ContinuousClock.now
                    func elapsed() -> Int { Int((ContinuousClock.now - started).wholeMilliseconds) }
                    do {
                        let response = try await client.send(
                            peer, method: "POST", path: Self.queryPath, body: body, requestId: requestId,
                            origin: origin, hops: hops, timeout: perPeer)
                        let latency = elapsed()
                        Metrics.Timer(label: "hub.federation.peer_latency", dimensions: [("peer", peer.id)])
                            .recordMilliseconds(latency)
                        latencies.record(peer.id, milliseconds: latency)
                        guard response.status == 200 else {
                            return (
                                PeerOutcome(
                                    hubId: peer.id, status: .error, latencyMs: latency,
                                    detail: PeerFailure.status(response.status, body: response.body)), nil
                            )
                        }
                        if let problem = FederationAnswer.problem(
                            response, from: peer, requester: ownId, requestId: requestId)
                        {
                            Counter(label: "hub.federation.answers_refused", dimensions: [("peer", peer.id)])
                                .increment()
                            return (
                                PeerOutcome(
                                    hubId: peer.id, status: .error, latencyMs: latency,
                                    detail: "answer refused: \(problem)"), nil
                            )
                        }
                        var answer = try HubJSON.decode(RecognitionQueryAnswer.self, from: Data(response.body))
                        let (kept, dropped, reason) = Self.evidence(answer.results, from: peer, keys: sealKeys)
                        answer.results = kept
                        if dropped > 0 {
                            Counter(label: "hub.federation.results_dropped", dimensions: [("peer", peer.id)])
                                .increment(by: dropped)
                        }
                        return (
                            PeerOutcome(
                                hubId: peer.id, status: .ok, latencyMs: latency, results: kept.count,
                                dropped: dropped > 0 ? dropped : nil, droppedReason: reason), answer
                        )
                    } catch let error as CurlHTTPError where error == .timeout || error == .connectTimeout {
                        return (
                            PeerOutcome(
                                hubId: peer.id, status: .timeout, latencyMs: elapsed(),
                                detail: "no answer within \(perPeer)"), nil
                        )
                    } catch {
                        logger.debug(
                            "peer query failed", metadata: ["hub.peer": "\(peer.id)", "error.message": "\(error)"])
                        return (
                            PeerOutcome(
                                hubId: peer.id, status: .error, latencyMs: elapsed(),
                                detail: PeerFailure.describe(error, expected: "a recognition query answer")), nil
                        )
                    }
                }
            }
            var results: [FederatedResult] = []
            var outcomes: [PeerOutcome] = []
            for await (outcome, answer) in group {
                Counter(
                    label: "hub.federation.peer_calls",
                    dimensions: [("peer", outcome.hubId), ("status", outcome.status.rawValue)]
                ).increment()
                outcomes.append(outcome)
                guard let answer else { continue }
                results += answer.results
                outcomes += answer.peers.map { relayed in
                    var relayed = relayed
                    relayed.via = relayed.via ?? outcome.hubId
                    return relayed
                }
            }
            return (results, outcomes.sorted { ($0.via ?? "", $0.hubId) < ($1.via ?? "", $1.hubId) })
        }
    }

    /// The results of `peer`'s answer that are evidence: those labelled with its own id (its answer is signed), and
    /// those of another hub carrying that hub's valid seal; how many others there were, and why the first was dropped.
    public static func evidence(
        _ results: [FederatedResult], from peer: Peer, keys: [String: String]
    ) -> (kept: [FederatedResult], dropped: Int, reason: String?) {
        var kept: [FederatedResult] = []
        var dropped = 0
        var reason: String?
        for result in results {
            if result.hubId == peer.id {
                kept.append(result)
                continue
            }
            let problem: String
            if result.signature == nil {
                problem = "relayed without the seal of its hub"
            } else if let key = keys[result.hubId] {
                if ResultSeal.verify(result, publicKey: key) {
                    kept.append(result)
                    continue
                }
                problem = "its seal does not verify with that hub's key (changed or forged)"
            } else {
                problem = "its hub is not a peer of this hub, so its seal cannot be checked"
            }
            dropped += 1
            if reason == nil {
                reason =
                    "result \(String(result.result.id.prefix(64))) labelled '\(String(result.hubId.prefix(64)))': \(problem)"
            }
        }
        return (kept, dropped, reason)
    }

    /// Results by origin hub and id, each once.
    public static func unique(_ results: [FederatedResult]) -> [FederatedResult] {
        var seen = Set<String>()
        return results.filter { seen.insert($0.hubId + "\u{1F}" + $0.result.id).inserted }
    }
}
