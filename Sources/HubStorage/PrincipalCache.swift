import HubCore
import Synchronization

/// Token digests already resolved to a principal, so an authenticated request costs no database read.
public typealias PrincipalCache = RecordCache<Principal>

/// Registry records by key, read often and changed rarely (principals by token digest, institutions by id). Any change
/// to tokens, practitioners or institutions clears the caches after its transaction commits; a lookup that raced with
/// such a change is not cached (the generation moved on). Changes made by another process are noticed by
/// `Storage.noticeOtherWriters()` within a second; entries also age out, as a last bound.
public final class RecordCache<Value: Sendable>: Sendable {
    private struct State {
        var generation = 0
        var entries: [String: (value: Value, at: ContinuousClock.Instant)] = [:]
    }

    private let state = Mutex(State())
    private let lifetime: Duration
    private let capacity: Int

    public init(lifetime: Duration = .seconds(30), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The cached value and the generation to hand back to `store`.
    public func lookup(_ key: String) -> (Value?, generation: Int) {
        state.withLock { state in
            if let entry = state.entries[key], ContinuousClock.now - entry.at < lifetime {
                return (entry.value, state.generation)
            }
            return (nil, state.generation)
        }
    }

    /// Caches a value read at `generation`, unless something changed since.
    public func store(_ value: Value, for key: String, generation: Int) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = (value, .now)
        }
    }

    /// The current generation: take it before a read whose result may be stored.
    public var generation: Int { state.withLock { $0.generation } }

    public func invalidate() {
        state.withLock { state in
            state.generation += 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }
}
