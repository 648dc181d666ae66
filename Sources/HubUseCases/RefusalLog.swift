import HubCore
import Metrics
import Synchronization

/// Refused federation requests and bearer tokens. Each refusal is counted in metrics by its reason
/// (`hub.federation.refused`, `hub.auth.refused`); the log and, for federation, the append-only audit log hear of
/// them at most once per claimed origin and reason per minute, with the number of refusals the line stands for. A
/// flood of forged requests costs the attacker requests, not this hub's audit log.
public final class RefusalLog: Sendable {
    /// What is refused: a hub-to-hub request, or a bearer token.
    public enum Kind: String, Sendable {
        case federation
        case bearer
    }

    public struct Key: Hashable, Sendable {
        public var kind: Kind
        /// The claimed origin: a known peer's id, `unknown` for claims of a hub this hub does not know (an attacker
        /// chooses them freely), the remote address for bearer tokens.
        public var origin: String
        public var reason: String
    }

    /// A refusal to write down now, for itself and those held back since the key's last line.
    public struct Due: Sendable {
        public var key: Key
        public var count: Int
        public var detail: String
        public var target: String
        public var remoteAddress: String?
        public var requestId: String?
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
    public func record(
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
    public func due(now: Timestamp, all: Bool = false) -> [Due] {
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
