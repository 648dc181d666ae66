import Foundation
import HubCore
import HubStorage
import Logging

/// Results registered in bulk (NDJSON: one result a line), read as they arrive, 1,000 lines a chunk, each chunk one
/// transaction with its audit record. A bad line is answered with its problem and never blocks, or half-stores, the
/// others. When the store fails during a chunk after earlier chunks were stored, the lines of that chunk and of the
/// later ones are answered as not stored (`unavailable`), so the client knows exactly which lines to send again.
public struct BulkRegistration: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let patientKeys: PatientKeys
    let logger: Logger
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        patientKeys = env.patientKeys
        logger = env.logger
        clock = env.clock
    }

    /// The most a bulk body may hold.
    public static let limit = 256 * 1_048_576

    /// What became of one line: the result it created, or why not.
    public struct Line: Sendable {
        public var number: Int
        public var id: String?
        public var problem: HubError?

        init(_ number: Int, created id: String) {
            self.number = number
            self.id = id
        }

        init(_ number: Int, _ problem: HubError) {
            self.number = number
            self.problem = problem
        }
    }

    /// Every line's outcome, in order, and how many results were created.
    public struct Outcome: Sendable {
        public var lines: [Line]
        public var created: Int
    }

    /// Results are registered by the staff of a performing center or hospital.
    public func authorize(_ caller: Caller) throws(HubError) {
        try caller.authenticated().require(.reader, .verifier)
    }

    /// Registers the lines of `body`, a stream of byte chunks as they arrive; a body larger than `limit` is refused.
    public func register<Body: AsyncIteratorProtocol>(_ body: Body, by caller: Caller) async throws -> Outcome
    where Body.Element: Collection<UInt8> {
        try authorize(caller)
        let principal = try caller.authenticated()
        // The hub holds the chunk being stored, the one being prepared and the answers, never the whole body.
        var lines = BulkLines(body: body, limit: Self.limit)
        var answers: [Line] = []
        var created = 0
        var storedChunks = 0
        // The line numbers of each chunk read and not yet stored, oldest first.
        var waiting: [[Int]] = []
        // The prepared lines of the chunk being stored, until it is.
        var storing: [(Int, Result<StorableResult, HubError>)] = []
        do {
            var current = try await lines.next()
            if let current { waiting.append(current.map(\.0)) }
            var prepared = try await prepare(current ?? [], caller: principal, now: clock())
            while current != nil {
                let ready = prepared
                storing = ready
                // Three things at once: the writer stores this chunk while the next is read from the body and a
                // reader decodes, checks and encodes it. A chunk is one transaction.
                async let stored = store(ready, caller: caller, institutionId: principal.institutionId, now: clock())
                var following: [(Int, [UInt8])]?
                var readFailure: (any Error)?
                do { following = try await lines.next() } catch { readFailure = error }
                let toPrepare = following ?? []
                waiting.append(toPrepare.map(\.0))
                async let next = prepare(toPrepare, caller: principal, now: clock())
                // The store's outcome is known before a failed read is reported, so the answer never calls a stored
                // chunk unstored.
                let (chunkAnswers, count) = try await stored
                answers += chunkAnswers
                created += count
                storedChunks += 1
                waiting.removeFirst()
                storing = []
                if let readFailure { throw readFailure }
                current = following
                prepared = try await next
            }
        } catch {
            // Nothing stored: the request fails whole, and sending it again is safe.
            guard storedChunks > 0 else { throw error }
            // Earlier chunks are stored and answered; each later line is answered as not stored, with why, so that
            // the client sends those lines again and only those (sending the whole request again would store the
            // earlier ones twice). Lines already refused keep their own problem.
            let problem = Self.notStored(error)
            logger.log(
                level: error is CancellationError ? .notice : .error,
                "bulk load stopped after \(storedChunks) chunks: \(error)",
                metadata: ["hub.results.created": "\(created)", "hub.request_id": "\(caller.requestId ?? "-")"])
            var refused: [Int: HubError] = [:]
            for case (let line, .failure(let lineProblem)) in storing { refused[line] = lineProblem }
            for line in waiting.joined() { answers.append(Line(line, refused[line] ?? problem)) }
            // The rest of the body is read to answer its lines too, unless reading it is what failed.
            while let more = try? await lines.next() {
                for (line, _) in more { answers.append(Line(line, problem)) }
            }
        }
        return Outcome(lines: answers, created: created)
    }

    /// The answer of a bulk line that was not stored because its chunk, or an earlier one, failed with `error`:
    /// a refusal that holds for every later line as itself; a failure that may pass (the disk full or failing, the
    /// store busy, the request cancelled) as unavailable, to be sent again; anything else as an internal failure that
    /// reveals nothing.
    static func notStored(_ error: any Error) -> HubError {
        if let error = error as? HubError { return error }
        let again = "send the line again"
        if error is CancellationError {
            return .unavailable("not stored: the request was cancelled before this line's batch was stored; \(again)")
        }
        if let error = error as? any StoreFailure, error.mayPass {
            return .unavailable(
                "not stored: the store failed in this line's batch of 1,000 or an earlier one; \(again)")
        }
        return .internalError(
            "not stored: the hub could not store this line's batch; it has been logged with this request id")
    }

    /// Stores the prepared lines of one chunk in a transaction of its own, with its audit record; answers each line.
    /// Its lines were checked while being prepared, so an insert fails only for a reason that fails the chunk (the
    /// disk, say), which then stores nothing.
    private func store(
        _ ready: [(Int, Result<StorableResult, HubError>)], caller: Caller, institutionId: String?, now: Timestamp
    ) async throws -> ([Line], Int) {
        let linker = PatientLinker(keys: patientKeys)
        return try await database.write(alone: true) { db -> ([Line], Int) in
            var out: [Line] = []
            var count = 0
            for (line, outcome) in ready {
                switch outcome {
                case .success(let result):
                    try linker.insert(result, caller: caller, in: db, now: now)
                    out.append(Line(line, created: result.record.id))
                    count += 1
                case .failure(let error):
                    out.append(Line(line, error))
                }
            }
            try db.appendAudit(
                caller.audit(
                    "result.bulk", "results", institutionId ?? "-", detail: "lines=\(ready.count) created=\(count)"),
                at: now)
            return (out, count)
        }
    }

    /// Decodes and checks the lines of one chunk in a read, each to the result to store or its problem.
    private func prepare(
        _ chunk: [(Int, [UInt8])], caller: Principal, now: Timestamp
    ) async throws -> [(Int, Result<StorableResult, HubError>)] {
        guard !chunk.isEmpty else { return [] }
        let (catalog, patientKeys) = (catalog, patientKeys)
        return try await database.read { db in
            let registrar = try ResultRegistrar(
                catalog: catalog, patientKeys: patientKeys, db: db, caller: caller, now: now)
            var prepared: [(Int, Result<StorableResult, HubError>)] = []
            prepared.reserveCapacity(chunk.count)
            for (line, bytes) in chunk {
                do {
                    let input: Results.Input
                    do { input = try HubJSON.decode(Results.Input.self, from: bytes) } catch let error
                        as DecodingError
                    {
                        throw HubError(decoding: error)
                    }
                    prepared.append((line, .success(try registrar.prepare(input))))
                } catch let error as HubError {
                    prepared.append((line, .failure(error)))
                }
            }
            return prepared
        }
    }
}
