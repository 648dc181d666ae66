import HubCore
import Synchronization

/// Token digests already resolved to a principal, so an authenticated request costs no database read. Any change to
/// tokens, practitioners or institutions clears it after its transaction commits; a lookup that raced with such a
/// change is not cached (the generation moved on). Entries also age out, as a bound on changes made by another
/// process.
public final class PrincipalCache: Sendable {
    private struct State {
        var generation = 0
        var entries: [String: (principal: Principal, at: ContinuousClock.Instant)] = [:]
    }

    private let state = Mutex(State())
    private let lifetime: Duration
    private let capacity: Int

    public init(lifetime: Duration = .seconds(30), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The cached principal and the generation to hand back to `store`.
    public func lookup(_ digest: String) -> (Principal?, generation: Int) {
        state.withLock { state in
            if let entry = state.entries[digest], ContinuousClock.now - entry.at < lifetime {
                return (entry.principal, state.generation)
            }
            return (nil, state.generation)
        }
    }

    /// Caches a principal read at `generation`, unless something changed since.
    public func store(_ principal: Principal, digest: String, generation: Int) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[digest] = (principal, .now)
        }
    }

    public func invalidate() {
        state.withLock { state in
            state.generation += 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }
}
