import CurlHTTP
import Foundation
import GRDB
import HubConfig
import HubCore
import HubFederation
import HubStore
import HubUseCases
import Hummingbird
import Logging

/// A result registered outside the workflow (a lab's LIS, a hospital's own exam).
struct ResultInput: Decodable, Sendable {
    var patient: Patient?
    var itemCode: String?
    var performedAt: Timestamp?
    var reportStatus: ReportStatus?
    var centerId: String?
    var findings: String?
    var conclusion: String?
    var values: [LabValue]?
    var attachments: [String]?

    enum CodingKeys: String, CodingKey {
        case patient, findings, conclusion, values, attachments
        case itemCode = "item_code"
        case performedAt = "performed_at"
        case reportStatus = "report_status"
        case centerId = "center_id"
    }
}

/// A correction of a registered result: a new version, or `entered-in-error` to withdraw it.
struct ResultCorrection: Decodable, Sendable {
    var reportStatus: ReportStatus?
    var findings: String?
    var conclusion: String?
    var values: [LabValue]?
    var reason: String?

    enum CodingKeys: String, CodingKey {
        case findings, conclusion, values, reason
        case reportStatus = "report_status"
    }
}

/// `/v1/results`: the registry of results that other institutions may recognize.
struct ResultController {
    let env: HubEnvironment

    /// Roles that register results: the staff of a performing center or hospital.
    static let registrars: [Role] = [.reader, .verifier]
    static let bulkLimit = 256 * 1_048_576

    func register(_ routes: Routes) {
        routes.add(.post, "/v1/results", create)
        routes.add(.post, "/v1/results/bulk", bulk)
        routes.add(.get, "/v1/results", list)
        routes.add(.get, "/v1/results/{id}", show)
        routes.add(.post, "/v1/results/{id}/corrections", correct)
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.reader, .verifier)
        let (input, body) = try await JSONIO.decode(ResultInput.self, from: request, limit: env.config.maxBodyBytes)
        return try await env.create(request, context, body: body) { db, now in
            let result = try ResultRegistrar(env: env, db: db, caller: caller, now: now).register(input)
            try AuditLog.append(
                db,
                context.audit(
                    "result.register", "result", result.id, patientKey: env.patientKeys.keys(for: result.patient).first),
                at: now)
            return result
        }
    }

    /// One line's answer in a bulk load.
    struct LineAnswer: JSONWritable {
        var line: Int
        var status: Int
        var id: String?
        var code: String?
        var field: String?
        var detail: String?

        init(line: Int, status: Int, id: String?) {
            self.line = line
            self.status = status
            self.id = id
        }

        init(_ line: Int, _ error: HubError) {
            self.line = line
            self.status = error.status
            self.code = error.code
            self.field = error.field
            self.detail = error.detail
        }

        /// One answer line, keys in order (as `HubJSON` would write them).
        func write(to json: inout JSONText) {
            json.object { json in
                json.member("code", code)
                json.member("detail", detail)
                json.member("field", field)
                json.member("id", id)
                json.member("line", line)
                json.member("status", status)
            }
        }
    }

    /// NDJSON in, NDJSON out: each line is registered on its own, in batches of 1,000 lines, each batch one
    /// transaction; a bad line is answered with its problem and never blocks, or half-stores, the others. When the
    /// store fails during a batch after earlier batches were stored, the lines of that batch and of the later ones are
    /// answered with status 503 (not stored), so the client knows exactly which lines to send again.
    @Sendable func bulk(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.reader, .verifier)
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map {
            $0.trimmingASCIIWhitespace().lowercased()
        }
        guard mediaType == "application/x-ndjson" || mediaType == "application/jsonl" || mediaType == "application/json"
        else {
            throw HubError.unsupportedMediaType("send results as application/x-ndjson, one JSON object a line")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > Self.bulkLimit {
            throw HubError.payloadTooLarge(limit: Self.bulkLimit)
        }
        // The body is read as it arrives, a chunk of lines at a time: the hub holds the chunk being stored, the one
        // being prepared and the answers, never the whole body.
        var lines = BulkLines(body: request.body, limit: Self.bulkLimit)
        var answers: [LineAnswer] = []
        var created = 0
        var storedChunks = 0
        // The line numbers of each chunk read and not yet stored, oldest first.
        var waiting: [[Int]] = []
        // The prepared lines of the chunk being stored, until it is.
        var storing: [(Int, Result<StorableResult, HubError>)] = []
        do {
            var current = try await lines.next()
            if let current { waiting.append(current.map(\.0)) }
            // Two stages, one chunk apart: while the writer stores a chunk, a reader decodes, checks and encodes the
            // next. A chunk is one transaction.
            var prepared = try await prepareLines(current ?? [], caller: caller, now: env.clock())
            while current != nil {
                let ready = prepared
                storing = ready
                // Three things at once: the writer stores this chunk while the next is read from the body and a
                // reader decodes, checks and encodes it. A chunk is one transaction.
                async let stored = storeChunk(ready, caller: caller, context: context, now: env.clock())
                var following: [(Int, [UInt8])]?
                var readFailure: (any Error)?
                do { following = try await lines.next() } catch { readFailure = error }
                let toPrepare = following ?? []
                waiting.append(toPrepare.map(\.0))
                async let next = prepareLines(toPrepare, caller: caller, now: env.clock())
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
            context.logger.log(
                level: error is CancellationError ? .notice : .error,
                "bulk load stopped after \(storedChunks) chunks: \(error)",
                metadata: ["hub.results.created": "\(created)"])
            var refused: [Int: HubError] = [:]
            for case (let line, .failure(let lineProblem)) in storing { refused[line] = lineProblem }
            for line in waiting.joined() { answers.append(LineAnswer(line, refused[line] ?? problem)) }
            // The rest of the body is read to answer its lines too, unless reading it is what failed.
            while let more = try? await lines.next() {
                for (line, _) in more { answers.append(LineAnswer(line, problem)) }
            }
        }
        var output = JSONText(capacity: answers.count * 48)
        for answer in answers {
            answer.write(to: &output)
            output.newline()
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/x-ndjson", .init("X-Results-Created")!: String(created),
                .init("X-Results-Rejected")!: String(answers.count - created),
                .init("X-Results-Not-Stored")!: String(answers.count { $0.status >= 500 }),
            ],
            body: .init(byteBuffer: .init(bytes: output.bytes)))
    }

    /// The answer of a bulk line that was not stored because its chunk, or an earlier one, failed with `error`:
    /// a refusal that holds for every later line as itself; a failure that may pass (the disk full or failing, the
    /// store busy, the request cancelled) as 503, to be sent again; anything else as a 500 that reveals nothing.
    static func notStored(_ error: any Error) -> HubError {
        if let error = error as? HubError { return error }
        let again = "send the line again"
        if error is CancellationError {
            return .unavailable("not stored: the request was cancelled before this line's batch was stored; \(again)")
        }
        if let error = error as? DatabaseError, error.mayPass {
            return .unavailable(
                "not stored: the store failed in this line's batch of 1,000 or an earlier one; \(again)")
        }
        return .internalError(
            "not stored: the hub could not store this line's batch; it has been logged with this request id")
    }

    /// Stores the prepared lines of one chunk in a transaction of its own, with its audit record; answers each line.
    /// Its lines were checked while being prepared, so an insert fails only for a reason that fails the chunk (the
    /// disk, say), which then stores nothing.
    private func storeChunk(
        _ ready: [(Int, Result<StorableResult, HubError>)], caller: Principal, context: HubRequestContext,
        now: Timestamp
    ) async throws -> ([LineAnswer], Int) {
        try await env.database.write(alone: true) { db -> ([LineAnswer], Int) in
            var out: [LineAnswer] = []
            var count = 0
            for (line, outcome) in ready {
                switch outcome {
                case .success(let result):
                    try ResultStore.insert(db, result)
                    out.append(LineAnswer(line: line, status: 201, id: result.record.id))
                    count += 1
                case .failure(let error):
                    out.append(LineAnswer(line, error))
                }
            }
            try AuditLog.append(
                db,
                context.audit(
                    "result.bulk", "results", caller.institutionId ?? "-",
                    detail: "lines=\(ready.count) created=\(count)"), at: now)
            return (out, count)
        }
    }

    /// Decodes and checks the lines of one chunk in a read, each to the result to store or its problem.
    private func prepareLines(
        _ chunk: [(Int, [UInt8])], caller: Principal, now: Timestamp
    ) async throws -> [(Int, Result<StorableResult, HubError>)] {
        guard !chunk.isEmpty else { return [] }
        return try await env.database.read { db in
            let registrar = try ResultRegistrar(env: env, db: db, caller: caller, now: now)
            let decoder = HubJSON.decoder()
            var prepared: [(Int, Result<StorableResult, HubError>)] = []
            prepared.reserveCapacity(chunk.count)
            for (line, bytes) in chunk {
                do {
                    let input: ResultInput
                    do { input = try decoder.decode(ResultInput.self, from: Data(bytes)) } catch let error
                        as DecodingError
                    {
                        throw JSONIO.problem(error)
                    }
                    prepared.append((line, .success(try registrar.prepare(input))))
                } catch let error as HubError {
                    prepared.append((line, .failure(error)))
                }
            }
            return prepared
        }
    }

    /// Who may read results: clinicians deciding on recognition, and the staff who produce or receive them.
    static let readers: [Role] = [.clinician, .reader, .verifier, .clinic]

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinician, .reader, .verifier, .clinic)
        let id = try context.parameter("id")
        if let hubId = request.query("hub_id"), hubId != env.config.hubId {
            return try await remoteResult(id, at: hubId, context)
        }
        let now = env.clock()
        let answer = try await env.database.write { db -> ResultView in
            guard let result = try ResultStore.result(db, id: id) else { throw HubError.notFound("result", id) }
            try AuditLog.append(
                db,
                context.audit("result.read", "result", id, patientKey: env.patientKeys.keys(for: result.patient).first),
                at: now)
            return ResultView(result: result, history: try ResultStore.history(db, id: id))
        }
        return try JSONIO.response(answer)
    }

    /// A result held by a peer hub, fetched from it with a signed request: the record keeps its origin's identity and
    /// recognition metadata.
    func remoteResult(_ id: String, at hubId: String, _ context: HubRequestContext) async throws -> Response {
        guard let peer = try await env.database.read({ try PeerStore.peer($0, id: hubId) }), peer.status == .active
        else { throw HubError.notFound("peer", hubId) }
        let path = "/federation/v1/results/" + (id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id)
        let response: CurlResponse
        let requestId = GeneratedID.make("req", at: env.clock())
        do {
            response = try await env.peerClient.send(
                peer, method: "GET", path: path, requestId: requestId,
                timeout: .milliseconds(max(env.config.federationPeerTimeoutMilliseconds, 5000)))
        } catch {
            throw HubError(
                code: "peer_unavailable", status: 502, title: "Peer hub unavailable",
                detail: "\(hubId) did not answer: \(HubEnvironment.describe(error))")
        }
        switch response.status {
        case 200: break
        case 404: throw HubError.notFound("result", id)
        default:
            throw HubError(
                code: "peer_unavailable", status: 502, title: "Peer hub refused",
                detail:
                    "\(hubId) answered HTTP \(response.status)\(HubEnvironment.problemDetail(response.body).map { ": \($0)" } ?? "")"
            )
        }
        if let problem = FederationAnswer.problem(
            response, from: peer, requester: env.config.hubId, requestId: requestId)
        {
            throw HubError(
                code: "peer_unavailable", status: 502, title: "Peer hub answer refused", detail: "\(hubId): \(problem)")
        }
        let remote: FederatedResult
        do { remote = try HubJSON.decode(FederatedResult.self, from: Data(response.body)) } catch {
            throw HubError(
                code: "peer_unavailable", status: 502, title: "Peer hub answer unreadable",
                detail: "\(hubId) did not answer with a result")
        }
        guard remote.hubId == hubId, remote.result.id == id else {
            throw HubError(
                code: "peer_unavailable", status: 502, title: "Peer hub answer mismatched",
                detail: "\(hubId) answered for another hub or result")
        }
        let now = env.clock()
        try await env.database.write { db -> Void in
            try AuditLog.append(
                db,
                context.audit(
                    "result.read.remote", "result", id,
                    patientKey: env.patientKeys.keys(for: remote.result.patient).first,
                    detail: "hub=\(hubId)"), at: now)
        }
        return try JSONIO.response(RemoteResultView(remote: remote))
    }

    struct RemoteResultView: Encodable, Sendable {
        var remote: FederatedResult

        func encode(to encoder: any Encoder) throws {
            try remote.result.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(remote.hubId, forKey: .hubId)
            try container.encodeIfPresent(remote.performerLevel, forKey: .performerLevel)
        }

        enum Keys: String, CodingKey {
            case hubId = "hub_id"
            case performerLevel = "performer_level"
        }
    }

    struct ResultView: Encodable, Sendable {
        var result: ResultRecord
        var history: [ResultRecord]

        func encode(to encoder: any Encoder) throws {
            try result.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(history.map(\.reportVersion), forKey: .previousVersions)
            if !history.isEmpty { try container.encode(history, forKey: .history) }
        }

        enum Keys: String, CodingKey {
            case history
            case previousVersions = "previous_versions"
        }
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinician, .reader, .verifier, .clinic)
        guard let text = request.query("patient"), let identifier = PatientIdentifier(query: text) else {
            throw HubError.validation("patient", "is required: system|value, or a bare resident ID")
        }
        let code = request.query("item_code")
        let key = env.patientKeys.key(for: identifier)
        let now = env.clock()
        let results = try await env.database.write { db -> [ResultRecord] in
            var results: [ResultRecord]
            if let code {
                let canonical = try env.catalog.inForce(db, on: env.today(at: now))?.item(code)?.code ?? code
                results = try RecognitionStore.results(db, patientKeys: [key], itemCode: canonical)
            } else {
                results = try String.fetchAll(
                    db,
                    sql:
                        "SELECT body FROM results WHERE id IN (SELECT result_id FROM result_patients WHERE patient_key = ?)",
                    arguments: [key]
                ).map(ResultStore.decode)
            }
            try AuditLog.append(
                db,
                context.audit(
                    "result.search", "results", code ?? "*", patientKey: key, detail: "count=\(results.count)"), at: now
            )
            return results.sorted { $0.performedAt > $1.performedAt }
        }
        return try JSONIO.response(ListResponse(Page(items: results, next: nil)))
    }

    @Sendable func correct(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.reader, .verifier)
        let id = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(ResultCorrection.self, from: request, limit: env.config.maxBodyBytes)
        var v = Validator()
        let reason = v.text(input.reason, "reason", maxLength: 1000, multiline: true)
        if let status = input.reportStatus, ![.corrected, .amended, .enteredInError].contains(status) {
            v.fail("report_status", "a correction is corrected, amended or entered-in-error")
        }
        try v.check()
        let now = env.clock()
        let updated = try await env.database.write { db -> ResultRecord in
            guard let old = try ResultStore.result(db, id: id) else { throw HubError.notFound("result", id) }
            guard old.institutionId == caller.institutionId else {
                throw HubError.forbidden("only the performing institution corrects its results")
            }
            if old.reportStatus == .enteredInError {
                throw HubError.invalidTransition("the result is already withdrawn")
            }
            var new = old
            new.reportVersion = old.reportVersion + 1
            new.reportStatus = input.reportStatus ?? .corrected
            if let findings = input.findings { new.findings = findings }
            if let conclusion = input.conclusion { new.conclusion = conclusion }
            if let values = input.values { new.values = values }
            new.createdAt = now
            try ResultStore.supersede(db, old: old, new: new, now: now)
            try AuditLog.append(
                db,
                context.audit(
                    "result.correct", "result", id, patientKey: env.patientKeys.keys(for: old.patient).first,
                    detail: "\(new.reportStatus.rawValue): \(reason!)"),
                at: now)
            return new
        }
        return try JSONIO.response(updated)
    }
}

/// Registers results for one institution; what every line would otherwise read again (the host, the catalog in force,
/// the institution's centers) is read once per batch.
final class ResultRegistrar {
    let env: HubEnvironment
    let db: Database
    let host: Institution
    let now: Timestamp
    private let catalogToday: CatalogIndex?
    private var catalogsByDate: [CivilDate: CatalogIndex?] = [:]
    private var centersByItem: [String: [Center]] = [:]

    init(env: HubEnvironment, db: Database, caller: Principal, now: Timestamp) throws {
        guard let institutionId = caller.institutionId, let host = try RegistryStore.institution(db, id: institutionId)
        else {
            throw HubError.forbidden("results are registered by the staff of the performing institution")
        }
        self.env = env
        self.db = db
        self.host = host
        self.now = now
        self.catalogToday = try env.catalog.inForce(db, on: env.today(at: now))
    }

    /// Validates and stores one result; recognition metadata is derived here, never taken from the input. `db` must be
    /// the writer's.
    func register(_ input: ResultInput) throws -> ResultRecord {
        let result = try prepare(input)
        try ResultStore.insert(db, result)
        return result.record
    }

    /// Validates one result and makes its record, without storing it: `db` may be a reader's.
    func prepare(_ input: ResultInput) throws -> StorableResult {
        var v = Validator()
        let patient = v.require(input.patient, "patient")
        patient?.validate(&v)
        let code = v.text(input.itemCode, "item_code", maxLength: 64)
        let performedAt = v.require(input.performedAt, "performed_at")
        if let performedAt {
            if performedAt > now.adding(milliseconds: 5 * 60_000) { v.fail("performed_at", "is in the future") }
            if performedAt < Timestamp(rfc3339: "1990-01-01T00:00:00Z")! { v.fail("performed_at", "is before 1990") }
        }
        let item = code.flatMap { catalogToday?.item($0) }
        if let code, item == nil { v.fail("item_code", "'\(code)' is not in the catalog in force") }
        for (i, value) in (input.values ?? []).enumerated() where value.value.trimmingWhitespace().isEmpty {
            v.fail("values[\(i)].value", "must not be empty")
        }
        if item?.kind == .lab && (input.values ?? []).isEmpty { v.fail("values", "a lab result carries its values") }
        _ = v.text(input.conclusion, "conclusion", required: false, maxLength: 5000, multiline: true)
        _ = v.text(input.findings, "findings", required: false, maxLength: 20_000, multiline: true)
        try v.check()
        let performedOn = env.today(at: performedAt!)
        var center: Center?
        if let centerId = input.centerId {
            guard let named = try RegistryStore.center(db, id: centerId), named.institutionId == host.id else {
                throw HubError.validation("center_id", "'\(centerId)' is not a center of institution \(host.id)")
            }
            center = named
        } else {
            // The institution's own center for the item, preferring one qualified on the performed date.
            if centersByItem[item!.code] == nil {
                centersByItem[item!.code] = try RegistryStore.centers(
                    db, item: item!.code, institutionId: host.id, after: nil, limit: 50
                ).items
            }
            let own = centersByItem[item!.code]!
            center = own.first { $0.qualification(for: item!.code, on: performedOn) != nil } ?? own.first
        }
        if catalogsByDate[performedOn] == nil {
            catalogsByDate[performedOn] = try env.catalog.inForce(db, on: performedOn)
        }
        let result = ResultRecord(
            id: GeneratedID.make("res", at: now), patient: patient!, itemCode: item!.code, itemName: item!.name,
            category: item!.category, institutionId: host.id, centerId: center?.id, examId: nil,
            performedAt: performedAt!, reportStatus: input.reportStatus ?? .final, reportVersion: 1,
            findings: input.findings, conclusion: input.conclusion, values: input.values ?? [],
            attachments: input.attachments ?? [],
            recognition: ResultRecord.recognition(
                item: item!.code, catalog: catalogsByDate[performedOn] ?? nil, center: center, host: host,
                performedOn: performedOn),
            createdAt: now)
        return StorableResult(result, patientKeys: env.patientKeys.keys(for: result.patient))
    }
}

/// The lines of a bulk body as it arrives, 1,000 at a time (a chunk is one transaction).
struct BulkLines {
    static let chunk = 1000
    private var body: RequestBody.AsyncIterator
    private var splitter = NDJSON.Splitter()
    private var pending: [(number: Int, bytes: [UInt8])] = []
    private var received = 0
    private var ended = false
    private let limit: Int

    init(body: RequestBody, limit: Int) {
        self.body = body.makeAsyncIterator()
        self.limit = limit
    }

    /// The next chunk of lines, nil once the body is over; `413` past `limit` bytes.
    mutating func next() async throws -> [(Int, [UInt8])]? {
        while pending.count < Self.chunk && !ended {
            let piece: ByteBuffer?
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
            received += buffer.readableBytes
            if received > limit {
                ended = true
                pending = []
                throw HubError.payloadTooLarge(limit: limit)
            }
            buffer.withUnsafeReadableBytes { splitter.feed($0, into: &pending) }
        }
        guard !pending.isEmpty else { return nil }
        let count = min(Self.chunk, pending.count)
        let chunk = pending.prefix(count).map { ($0.number, $0.bytes) }
        pending.removeFirst(count)
        return chunk
    }
}
