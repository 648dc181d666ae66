import HubCore
import Synchronization

/// The memory that all uploads in progress share (`uploads.memory_budget_bytes`): a STOW-RS request holds a part in
/// memory while it checks it, and keeps small instances in memory until they are written with their index rows. Each
/// request is admitted with the room for one part in memory, or answered `503` with `Retry-After` when the budget
/// has no such room; what it keeps beyond that it takes from the budget while there is room, and writes to a file
/// otherwise. The hub's memory for uploads so stays bounded however many arrive at once.
public final class UploadMemory: Sendable {
    public let budget: Int
    private let used = Mutex(0)

    public init(budget: Int) {
        self.budget = budget
    }

    /// Bytes held now.
    public var inUse: Int { used.withLock { $0 } }

    /// Takes `bytes` if they fit.
    public func take(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard bytes <= budget - used else { return false }
            used += bytes
            return true
        }
    }

    public func give(_ bytes: Int) {
        used.withLock { $0 -= bytes }
    }

    /// Admits an upload with `bytes` of room; `503 unavailable` (retry after a second) when the budget is full.
    public func admit(_ bytes: Int) throws(HubError) -> Lease {
        let room = min(bytes, budget)
        guard take(room) else {
            var error = HubError.unavailable(
                "the hub's memory for uploads (\(budget) bytes) is in use by other uploads; send the request again")
            error.retryAfterSeconds = 1
            throw error
        }
        return Lease(memory: self, held: room)
    }

    /// What one upload holds; given back when it ends.
    public final class Lease {
        private let memory: UploadMemory
        public private(set) var held: Int

        init(memory: UploadMemory, held: Int) {
            self.memory = memory
            self.held = held
        }

        /// Takes `bytes` more if the budget has room.
        public func extend(_ bytes: Int) -> Bool {
            guard memory.take(bytes) else { return false }
            held += bytes
            return true
        }

        /// Gives `bytes` taken with `extend` back.
        public func shrink(_ bytes: Int) {
            memory.give(bytes)
            held -= bytes
        }

        /// Gives everything back (once).
        public func end() {
            memory.give(held)
            held = 0
        }

        deinit { end() }
    }
}
