import Foundation
import HubCore
import HubStore
import HubUseCases
import Hummingbird
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

extension HubEnvironment {
    /// Counts a refusal and writes it down when its key is due: a warning in the log, and for federation an audit
    /// row `federation.refused` whose detail carries the count.
    func recordRefusal(
        _ kind: RefusalLog.Kind, origin: String, reason: String, detail: String, target: String,
        context: HubRequestContext
    ) async {
        let now = clock()
        guard
            let due = refusals.record(
                kind, origin: origin, reason: reason, detail: detail, target: target,
                remoteAddress: context.remoteAddress, requestId: context.id, now: now)
        else { return }
        await writeDown([due], now: now)
    }

    /// Writes the refusals held back whose minute has passed (all of them at shutdown).
    func flushRefusals(now: Timestamp, all: Bool = false) async {
        await writeDown(refusals.due(now: now, all: all), now: now)
    }

    private func writeDown(_ due: [RefusalLog.Due], now: Timestamp) async {
        guard !due.isEmpty else { return }
        for item in due {
            logger.warning(
                "\(item.key.kind == .federation ? "federation request" : "bearer token") refused",
                metadata: [
                    "hub.refusal.origin": "\(item.key.origin)", "hub.refusal.reason": "\(item.key.reason)",
                    "hub.refusal.count": "\(item.count)", "hub.refusal.detail": "\(item.detail)",
                ])
        }
        let rows = due.filter { $0.key.kind == .federation }
        guard !rows.isEmpty else { return }
        do {
            try await database.write { db in
                for item in rows {
                    try AuditLog.append(
                        db,
                        AuditEvent(
                            actor: "peer:\(item.key.origin)", institutionId: nil, action: "federation.refused",
                            targetType: "federation", targetId: String(item.target.prefix(200)),
                            remoteAddress: item.remoteAddress, requestId: item.requestId,
                            detail:
                                "reason=\(item.key.reason) count=\(item.count): \(item.detail)"),
                        at: now)
                }
            }
        } catch {
            logger.error("refusals not audited", metadata: ["error.message": "\(error)"])
        }
    }
}

/// Writes refusals held back once their minute has passed, and every one left at shutdown.
struct RefusalAuditService: Service {
    let env: HubEnvironment

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(5))
                await env.flushRefusals(now: env.clock())
            }
        }
        await env.flushRefusals(now: env.clock(), all: true)
    }
}
