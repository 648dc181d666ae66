import HubCore

/// The lines of a bulk body as it arrives, 1,000 at a time (a chunk is one transaction).
struct BulkLines<Body: AsyncIteratorProtocol> where Body.Element: Collection<UInt8> {
    static var chunk: Int { 1000 }
    private var body: Body
    private var splitter = NDJSON.Splitter()
    private var pending: [(number: Int, bytes: [UInt8])] = []
    private var received = 0
    private var ended = false
    private let limit: Int

    init(body: Body, limit: Int) {
        self.body = body
        self.limit = limit
    }

    /// The next chunk of lines, nil once the body is over; `413` past `limit` bytes.
    mutating func next() async throws -> [(Int, [UInt8])]? {
        while pending.count < Self.chunk && !ended {
            let piece: Body.Element?
            do { piece = try await body.next() } catch {
                // A body that failed to arrive is over: its lines past this point are never read.
                ended = true
                pending = []
                throw error
            }
            guard let buffer = piece else {
                ended = true
                splitter.finish(into: &pending)
                break
            }
            received += buffer.count
            if received > limit {
                ended = true
                pending = []
                throw HubError.payloadTooLarge(limit: limit)
            }
            // A chunk in one piece of memory (as the HTTP server's are) is split where it is, without a copy.
            let fed: Void? = buffer.withContiguousStorageIfAvailable {
                splitter.feed(UnsafeRawBufferPointer($0), into: &pending)
            }
            if fed == nil { Array(buffer).withUnsafeBytes { splitter.feed($0, into: &pending) } }
        }
        guard !pending.isEmpty else { return nil }
        let count = min(Self.chunk, pending.count)
        let chunk = pending.prefix(count).map { ($0.number, $0.bytes) }
        pending.removeFirst(count)
        return chunk
    }
}
