import Foundation
import HubCore
import HubStore
import Hummingbird
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Refused federation requests and bearer tokens. Each refusal is counted in metrics by its reason
/// (`hub.federation.refused`, `hub.auth.refused`); the log and, for federation, the append-only audit log hear of
/// them at most once per claimed origin and reason per minute, with the number of refusals the line stands for. A
/// flood of forged requests costs the attacker requests, not this hub's audit log.
public final class RefusalLog: Sendable {
    /// What is refused: a hub-to-hub request, or a bearer token.
    enum Kind: String, Sendable {
        case federation
        case bearer
    }

    struct Key: Hashable, Sendable {
        var kind: Kind
        /// The claimed origin: a known peer's id, `unknown` for claims of a hub this hub does not know (an attacker
        /// chooses them freely), the remote address for bearer tokens.
        var origin: String
        var reason: String
    }

    /// A refusal to write down now, for itself and those held back since the key's last line.
    struct Due: Sendable {
        var key: Key
        var count: Int
        var detail: String
        var target: String
        var remoteAddress: String?
        var requestId: String?
    }

    private struct Entry {
        var lastWritten: Int64?
        var pending = 0
        var detail = ""
        var target = ""
        var remoteAddress: String?
        var requestId: String?
    }

    private let entries = Mutex<[Key: Entry]>([:])
    /// At most one line per key in this many milliseconds.
    let windowMilliseconds: Int64 = 60_000
    /// Distinct keys held at once; further origins share one key (`other`), so memory stays bounded too.
    let maxKeys = 4096

    public init() {}

    /// Counts one refusal; answers what to write now, or nil when a line for the same key was written less than a
    /// minute ago (the refusal is then carried by the key's next line).
    func record(
        _ kind: Kind, origin: String, reason: String, detail: String, target: String, remoteAddress: String?,
        requestId: String?, now: Timestamp
    ) -> Due? {
        Counter(label: "hub.\(kind == .federation ? "federation" : "auth").refused", dimensions: [("reason", reason)])
            .increment()
        let now = now.millisecondsSinceEpoch
        return entries.withLock { entries -> Due? in
            var key = Key(kind: kind, origin: origin, reason: reason)
            if entries[key] == nil && entries.count >= maxKeys { key.origin = "other" }
            var entry = entries[key] ?? Entry()
            entry.pending += 1
            entry.detail = detail
            entry.target = target
            entry.remoteAddress = remoteAddress
            entry.requestId = requestId
            defer { entries[key] = entry }
            if let last = entry.lastWritten, now - last < windowMilliseconds { return nil }
            let due = Due(
                key: key, count: entry.pending, detail: detail, target: target, remoteAddress: remoteAddress,
                requestId: requestId)
            entry.pending = 0
            entry.lastWritten = now
            return due
        }
    }

    /// The refusals held back whose key's last line is a minute old or more (all of them when `all`), now due; keys
    /// quiet for a minute are forgotten.
    func due(now: Timestamp, all: Bool = false) -> [Due] {
        let now = now.millisecondsSinceEpoch
        return entries.withLock { entries in
            var due: [Due] = []
            for (key, var entry) in entries {
                let quiet = entry.lastWritten.map { now - $0 >= windowMilliseconds } ?? true
                guard quiet || all else { continue }
                if entry.pending == 0 {
                    entries[key] = nil
                    continue
                }
                due.append(
                    Due(
                        key: key, count: entry.pending, detail: entry.detail, target: entry.target,
                        remoteAddress: entry.remoteAddress, requestId: entry.requestId))
                entry.pending = 0
                entry.lastWritten = now
                entries[key] = entry
            }
            return due.sorted { ($0.key.origin, $0.key.reason) < ($1.key.origin, $1.key.reason) }
        }
    }
}

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
