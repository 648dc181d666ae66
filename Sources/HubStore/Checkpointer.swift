import Dispatch
import GRDB
import Synchronization

/// Copies the write-ahead log back into the database file on a connection of its own, a few milliseconds after writes,
/// so the writer never does it inside a commit (SQLite's automatic checkpoint runs in the commit that crosses its
/// threshold, and every write queued behind that one waits for it). Small and frequent: the log stays short, which
/// also keeps reads fast (a reader looks up every page it reads in the log's index), and no checkpoint is long enough
/// to stall the requests beside it (measured: 5 ms gave the lowest tail latency for recognition checks and the best
/// rates for bulk and STOW; 20 ms to 2 s doubled to tripled the checks' p99). The writer keeps a high automatic
/// threshold as a backstop: should checkpoints here fail or fall behind, the log still stops growing there.
final class Checkpointer: Sendable {
    /// The writer's own threshold, in pages (32 MB of 4 KB pages); SQLite's default is 1,000.
    static let backstopPages = 8192

    private let path: String
    private let durability: Durability
    private let delay: DispatchTimeInterval
    private let queue = DispatchQueue(label: "hub.checkpoint", qos: .utility)
    private let state = Mutex(State())

    private struct State {
        var scheduled = false
        var runs = 0
        var closed = false
    }

    /// Opened on the first checkpoint, used only on `queue`.
    private nonisolated(unsafe) var connection: DatabaseQueue?

    init(path: String, durability: Durability, delay: DispatchTimeInterval = .milliseconds(5)) {
        self.path = path
        self.durability = durability
        self.delay = delay
    }

    /// Checkpoints completed (tests watch it).
    var runs: Int { state.withLock { $0.runs } }

    /// After a commit: a checkpoint follows within `delay`, one for all the commits in between.
    func written() {
        let schedule = state.withLock { state -> Bool in
            guard !state.scheduled, !state.closed else { return false }
            state.scheduled = true
            return true
        }
        guard schedule else { return }
        queue.asyncAfter(deadline: .now() + delay) { [weak self] in self?.run() }
    }

    /// Stops checkpointing and closes the connection, after a checkpoint under way; later writes schedule none.
    func close() throws {
        state.withLock { $0.closed = true }
        try queue.sync {
            try connection?.close()
            connection = nil
        }
    }

    private func run() {
        let closed = state.withLock { state -> Bool in
            state.scheduled = false
            return state.closed
        }
        guard !closed else { return }
        do {
            let connection = try self.connection ?? open()
            self.connection = connection
            // PASSIVE: copies what no reader still needs, and never makes the writer or a reader wait.
            try connection.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            state.withLock { $0.runs += 1 }
        } catch {
            // The writer's backstop keeps the log bounded; the next write schedules another attempt.
        }
    }

    private func open() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.label = "hub.checkpoint"
        configuration.busyMode = .timeout(1)
        configuration.prepareDatabase { [durability] in try $0.execute(sql: durability.pragma) }
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
