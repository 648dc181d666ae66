import HubCore
import HubStorage
import Logging

/// Refused federation requests and bearer tokens, written down: a warning in the log, and for federation an audit
/// row `federation.refused` whose detail carries how many refusals it stands for (see `RefusalLog`).
public struct Refusals: Sendable {
    let log: RefusalLog
    let database: any Storage
    let logger: Logger
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        log = env.refusals
        database = env.database
        logger = env.logger
        clock = env.clock
    }

    /// Counts a refusal of `caller`'s request and writes it down when its key is due.
    public func record(
        _ kind: RefusalLog.Kind, origin: String, reason: String, detail: String, target: String, caller: Caller
    ) async {
        let now = clock()
        guard
            let due = log.record(
                kind, origin: origin, reason: reason, detail: detail, target: target,
                remoteAddress: caller.remoteAddress, requestId: caller.requestId, now: now)
        else { return }
        await writeDown([due], now: now)
    }

    /// Writes the refusals held back whose minute has passed (all of them at shutdown).
    public func flush(all: Bool = false) async {
        let now = clock()
        await writeDown(log.due(now: now, all: all), now: now)
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
                    try db.appendAudit(
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
