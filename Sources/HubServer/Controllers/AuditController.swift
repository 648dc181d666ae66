import CurlHTTP
import Foundation
import HubConfig
import HubCore
import HubFederation
import HubStore
import HubUseCases
import Hummingbird

/// `/v1/audit`: the hash-chained audit log, for auditors.
struct AuditController {
    let env: HubEnvironment

    func register(_ routes: Routes) {
        routes.add(.get, "/v1/audit", list)
        routes.add(.get, "/v1/audit/verify", verify)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.auditor)
        let from = try request.time("from")
        let to = try request.time("to")
        let actor = request.query("actor")
        let patient = request.query("patient")
        let target = request.query("target")
        let limit = try request.limit()
        let cursor = request.cursor
        let page = try await env.database.read { db in
            try AuditLog.records(
                db, actor: actor, patientKey: patient, targetId: target, from: from, to: to, after: cursor, limit: limit
            )
        }
        return try JSONIO.response(ListResponse(page))
    }

    struct VerifyAnswer: Encodable {
        var intact: Bool
        var checked: Int
        var firstBroken: Int64?
        var reason: String?
        var head: HeadAnswer
        var witnesses: [WitnessAnswer]

        enum CodingKeys: String, CodingKey {
            case intact, checked, reason, head, witnesses
            case firstBroken = "first_broken"
        }
    }

    /// The chain against the head one peer witnessed.
    struct WitnessAnswer: Encodable {
        var peerId: String
        /// A head status, or `unavailable` when the peer did not answer (with `error`).
        var status: String
        var seq: Int64?
        var signedAt: Timestamp?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case status, seq, error
            case peerId = "peer_id"
            case signedAt = "signed_at"
        }

        var holds: Bool { AuditHeadCheck.Status(rawValue: status).map { $0 == .matches || $0 == .missing } ?? true }
    }

    /// The chain against its last signed head (see `SignedAuditHead`).
    struct HeadAnswer: Encodable {
        var status: AuditHeadCheck.Status
        var seq: Int64?
        var hash: String?
        var signedAt: Timestamp?
        /// Records written after the head was signed.
        var since: Int64

        enum CodingKeys: String, CodingKey {
            case status, seq, hash, since
            case signedAt = "signed_at"
        }

        init(_ check: AuditHeadCheck) {
            status = check.status
            seq = check.head?.seq
            hash = check.head?.hash
            signedAt = check.head?.at
            since = check.since
        }
    }

    @Sendable func verify(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.auditor)
        let head = try AuditHead.read(path: env.config.auditHeadPath)
        let key = env.identity.signingKey
        let (chain, check, peers) = try await env.database.read { db in
            (
                try AuditLog.verify(db), try AuditHead.check(db, against: head, key: key),
                try PeerStore.peers(db).filter { $0.status == .active }
            )
        }
        let witnesses = await askWitnesses(peers)
        var reason = chain.reason
        if chain.isIntact && !check.holds { reason = check.status.explanation }
        if chain.isIntact && check.holds, let broken = witnesses.first(where: { !$0.holds }) {
            reason =
                "as witnessed by \(broken.peerId): "
                + (AuditHeadCheck.Status(rawValue: broken.status)?.explanation ?? "")
        }
        return try JSONIO.response(
            VerifyAnswer(
                intact: chain.isIntact && check.holds && witnesses.allSatisfy(\.holds), checked: chain.checked,
                firstBroken: chain.firstBroken, reason: reason, head: HeadAnswer(check), witnesses: witnesses))
    }

    /// Asks every active peer, at once and each within the peer timeout, for this hub's head as it last witnessed
    /// it, and checks the chain against each.
    func askWitnesses(_ peers: [Peer]) async -> [WitnessAnswer] {
        let client = env.peerClient
        let timeout = Duration.milliseconds(env.config.federationPeerTimeoutMilliseconds)
        let key = env.identity.signingKey
        return await withTaskGroup(of: WitnessAnswer.self) { group in
            for peer in peers {
                group.addTask {
                    do {
                        let requestId = GeneratedID.make("req", at: env.clock())
                        let response = try await client.send(
                            peer, method: "GET", path: "/federation/v1/audit-head", requestId: requestId,
                            timeout: timeout)
                        guard response.status == 200 else {
                            return WitnessAnswer(
                                peerId: peer.id, status: "unavailable", error: "HTTP \(response.status)")
                        }
                        if let problem = FederationAnswer.problem(
                            response, from: peer, requester: env.config.hubId, requestId: requestId)
                        {
                            return WitnessAnswer(
                                peerId: peer.id, status: "unavailable", error: "answer refused: \(problem)")
                        }
                        let witnessed = try HubJSON.decode(
                            FederationController.WitnessAnswer.self, from: Data(response.body)
                        ).auditHead
                        let check = try await env.database.read {
                            try AuditHead.check($0, against: witnessed, key: key)
                        }
                        return WitnessAnswer(
                            peerId: peer.id, status: check.status.rawValue, seq: witnessed?.seq,
                            signedAt: witnessed?.at)
                    } catch {
                        return WitnessAnswer(peerId: peer.id, status: "unavailable", error: "\(error)")
                    }
                }
            }
            var answers: [WitnessAnswer] = []
            for await answer in group { answers.append(answer) }
            return answers.sorted { $0.peerId < $1.peerId }
        }
    }
}
