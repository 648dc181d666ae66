import Synchronization

/// Recent answer times per peer, kept in memory for the operator's status view (metrics carry the history).
public final class PeerLatencies: Sendable {
    private let samples = Mutex<[String: [Int]]>([:])
    private let keep = 32

    public init() {}

    public func record(_ peerId: String, milliseconds: Int) {
        samples.withLock { all in
            var list = all[peerId] ?? []
            list.append(milliseconds)
            if list.count > keep { list.removeFirst(list.count - keep) }
            all[peerId] = list
        }
    }

    /// The median of the recent samples, and how many there are.
    public func recent(_ peerId: String) -> (median: Int?, count: Int) {
        let list = samples.withLock { $0[peerId] ?? [] }.sorted()
        return (list.isEmpty ? nil : list[list.count / 2], list.count)
    }
}
