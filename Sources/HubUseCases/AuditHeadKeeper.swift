import Foundation
import HubConfig
import HubCore
import HubFederation
import HubStorage
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps the audit chain's signed head (`SignedAuditHead`) in its file outside the database: at start, every
/// `audit.head_interval_seconds` while the chain grows, and once more at shutdown.
///
/// Before it replaces the file it checks the chain against the head already there. A chain cut short or written
/// again, or a head the hub key did not sign, is never covered up by a new head: the file stays as it is, the hub
/// says so in its log (critical) and in `GET /v1/audit/verify`, and an operator who has looked moves the file aside.
public final class AuditHeadKeeper: Service, Sendable {
    let env: HubEnvironment
    let readiness: Readiness
    /// What the last look found, so a refusal is logged once and not every interval.
    private let refused = Mutex<AuditHeadCheck.Status?>(nil)

    public init(env: HubEnvironment, readiness: Readiness) {
        self.env = env
        self.readiness = readiness
    }

    public func run() async throws {
        let interval = Duration.seconds(env.config.auditHeadIntervalSeconds)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                guard self.readiness.isReady else {
                    try await Task.sleep(for: .milliseconds(50))
                    continue
                }
                await self.keepLogged()
                try await Task.sleep(for: interval)
            }
        }
        // The server has drained; the database closes after this service stops. The last head is written even when
        // the stop cancels this task (a detached task does not inherit the cancellation).
        if readiness.isReady { await Task.detached { await self.keepLogged() }.value }
    }

    private func keepLogged() async {
        do {
            try await keep()
        } catch {
            env.logger.error("the signed audit head was not written", metadata: ["error.message": "\(error)"])
        }
    }

    /// Writes a new signed head when the chain has grown past the one in the file, and the chain still holds it.
    func keep() async throws {
        let path = env.config.auditHeadPath
        let old = try AuditHead.read(path: path)
        let key = env.identity.signingKey
        let (check, current) = try await env.database.read { db in
            (try db.checkAudit(against: old, key: key), try db.auditHead())
        }
        guard check.holds else {
            let first = refused.withLock { state in
                defer { state = check.status }
                return state != check.status
            }
            if first {
                env.logger.critical(
                    "the audit chain does not hold its last signed head; the head file is kept as it is",
                    metadata: [
                        "hub.audit.head_status": "\(check.status.rawValue)", "hub.audit.head_file": "\(path)",
                        "hub.audit.head_seq": "\(check.head?.seq ?? 0)",
                    ])
            }
            return
        }
        refused.withLock { $0 = nil }
        guard let current, current.seq != old?.seq || current.hash != old?.hash else { return }
        var head = SignedAuditHead(hubId: env.identity.hubId, seq: current.seq, hash: current.hash, at: env.clock())
        head.signature = try env.identity.signature(for: head.statement).base64EncodedString()
        try AuditHead.write(head, path: path)
    }
}
