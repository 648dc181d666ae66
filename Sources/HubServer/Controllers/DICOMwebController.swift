import DICOM
import Foundation
import HTTPTypes
import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird
import Metrics
import NIOCore

/// `/dicomweb`: the DICOMweb door (PS3.18) for modalities, PACS and viewers. STOW-RS streams each part of a
/// `multipart/related` body to the blob store (small ones go into the database with their index rows); QIDO-RS
/// answers from the SQLite index; WADO-RS returns the stored bytes unchanged. Clinics store into and read their own
/// studies; center staff read the studies of exams routed to them.
struct DICOMwebController {
    let archive: DICOMArchive
    let ingest: DICOMIngest
    let uploadMemory: UploadMemory
    let config: HubConfiguration
    let maxParts: Int
    let maxBodyBytes: Int
    let clock: @Sendable () -> Timestamp

    init(env: HubEnvironment) {
        archive = DICOMArchive(env)
        ingest = DICOMIngest(env)
        uploadMemory = env.uploadMemory
        config = env.config
        maxParts = env.config.dicomwebMaxParts
        maxBodyBytes = env.config.maxBodyBytes
        clock = env.clock
    }

    func register(_ routes: Routes) {
        routes.add(.post, "/dicomweb/studies", store)
        routes.add(.post, "/dicomweb/studies/{study}", store)
        routes.add(.get, "/dicomweb/studies", searchStudies)
        routes.add(.get, "/dicomweb/series", searchSeries)
        routes.add(.get, "/dicomweb/instances", searchInstances)
        routes.add(.get, "/dicomweb/studies/{study}/series", searchSeries)
        routes.add(.get, "/dicomweb/studies/{study}/instances", searchInstances)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}/instances", searchInstances)
        routes.add(.get, "/dicomweb/studies/{study}", retrieve)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}", retrieve)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}/instances/{instance}", retrieve)
        routes.add(.get, "/dicomweb/studies/{study}/metadata", metadata)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}/metadata", metadata)
        routes.add(.get, "/dicomweb/studies/{study}/series/{series}/instances/{instance}/metadata", metadata)
        routes.add(.post, "/v1/exams/{id}/studies", attachStudy)
    }

    static let dicomJSON = "application/dicom+json"

    // MARK: STOW-RS

    @Sendable func store(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let owner = try ingest.authorize(context.caller)
        let pathStudy = context.parameters.get("study")
        let (type, parameters) = MultipartReader.parameters(of: request.headers[.contentType] ?? "")
        guard type == "multipart/related",
            (parameters["type"] ?? "application/dicom").lowercased() == "application/dicom",
            let boundary = parameters["boundary"], !boundary.isEmpty
        else {
            throw HubError.unsupportedMediaType(
                "STOW-RS takes multipart/related; type=\"application/dicom\" with a boundary")
        }
        let now = clock()
        // `?exam_id=`: every instance goes to this exam of the caller's clinic.
        var explicitExam: Exam?
        if let examId = request.query("exam_id") { explicitExam = try await ingest.exam(examId, owner: owner) }
        // Admitted with room for one part in memory, or 503 when the uploads in progress fill the hub's budget.
        let lease = try uploadMemory.admit(DICOMIngest.inMemoryInstance)
        defer { lease.end() }
        var parts = 0
        var reader = MultipartReader(boundary: boundary)
        var writer: BlobWriter?
        var partType = "application/dicom"
        var stored: [DICOMIngest.Checked] = []
        var failed: [DICOMIngest.Refused] = []
        var inlineBytes = 0
        defer { writer?.abort() }
        do {
            for try await chunk in request.body {
                for event in try chunk.withUnsafeReadableBytes({ try reader.feed($0) }) {
                    switch event {
                    case .headers(let headers):
                        parts += 1
                        guard parts <= maxParts else {
                            throw HubError(
                                code: "payload_too_large", kind: .tooLarge, title: "Request body too large",
                                detail: "a STOW-RS request holds at most \(maxParts) parts (dicomweb.max_parts)")
                        }
                        partType =
                            headers["content-type"].map { MultipartReader.parameters(of: $0).type }
                            ?? "application/dicom"
                        writer = try ingest.writer()
                    case .content(let bytes):
                        try bytes.withUnsafeBytes { try writer?.write($0) }
                    case .end:
                        guard let finished = writer else { continue }
                        writer = nil
                        guard partType == "application/dicom" else {
                            finished.abort()
                            failed.append(.init(reason: .cannotUnderstand, detail: "a part of type \(partType)"))
                            continue
                        }
                        // An instance kept in memory for the database takes its bytes from the shared budget;
                        // without room there it becomes a file like a large one.
                        let mayInline =
                            finished.isWhollyInMemory && finished.size <= InlineBlobs.limit
                            && inlineBytes + finished.size <= InlineBlobs.requestBudget && lease.extend(finished.size)
                        switch await ingest.check(finished, study: pathStudy, mayInline: mayInline) {
                        case .success(let part):
                            stored.append(part)
                            inlineBytes += part.inline?.count ?? 0
                            if mayInline && part.inline == nil { lease.shrink(finished.size) }
                        case .failure(let failure):
                            if mayInline { lease.shrink(finished.size) }
                            if let refusal = failure.refusal { throw refusal }
                            failed.append(failure)
                        }
                    }
                }
            }
        } catch let error as MultipartReader.Malformed {
            throw HubError.validation("body", error.description)
        }
        if !reader.isComplete {
            if reader.inPart { failed.append(.init(reason: .processing, detail: "the body ended inside a part")) }
            if stored.isEmpty && failed.isEmpty {
                throw HubError.validation("body", "the multipart body has no complete part")
            }
        }
        let (referenced, refused) = try await ingest.index(
            stored, owner: owner, exam: explicitExam, by: context.caller, at: now)
        return try storeResponse(referenced: referenced, failed: failed + refused, request: request)
    }

    /// The STOW-RS answer: 200 all stored, 202 some failed, 409 none stored.
    func storeResponse(
        referenced: [DICOMIngest.Checked], failed: [DICOMIngest.Refused], request: Request
    ) throws -> Response {
        let base = Self.baseURL(request, config)
        let studies = Set(referenced.map(\.instance.studyUID))
        var json = DICOMJSONWriter()
        json.object { json in
            if studies.count == 1, let study = studies.first {
                json.attribute(.retrieveURL, .UR, strings: ["\(base)/studies/\(study)"])
            }
            if !failed.isEmpty {
                json.sequence(.failedSOPSequence, failed) { item, failure in
                    if let sopClass = failure.sopClassUID {
                        item.attribute(.referencedSOPClassUID, .UI, strings: [sopClass])
                    }
                    if let sop = failure.sopInstanceUID {
                        item.attribute(.referencedSOPInstanceUID, .UI, strings: [sop])
                    }
                    item.attribute(.failureReason, .US, integers: [Int(failure.reason.rawValue)])
                }
            }
            if !referenced.isEmpty {
                json.sequence(.referencedSOPSequence, referenced) { item, part in
                    let i = part.instance
                    if let sopClass = i.sopClassUID {
                        item.attribute(.referencedSOPClassUID, .UI, strings: [sopClass])
                    }
                    item.attribute(.referencedSOPInstanceUID, .UI, strings: [i.sopInstanceUID])
                    item.attribute(
                        .retrieveURL, .UR,
                        strings: ["\(base)/studies/\(i.studyUID)/series/\(i.seriesUID)/instances/\(i.sopInstanceUID)"])
                }
            }
        }
        let status: HTTPResponse.Status = failed.isEmpty ? .ok : referenced.isEmpty ? .conflict : .accepted
        var headers: HTTPFields = [.contentType: Self.dicomJSON]
        // Why each failed, for people: a Warning header per PS3.18 8.3.5.
        for failure in failed.prefix(20) {
            headers.append(
                HTTPField(
                    name: HTTPField.Name("Warning")!,
                    value: "299 AllianceHub \"\(failure.detail.replacingOccurrences(of: "\"", with: "'"))\""))
        }
        return Response(
            status: status, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: json.text)))
    }

    // MARK: QIDO-RS

    @Sendable func searchStudies(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, level: .study)
    }

    @Sendable func searchSeries(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, level: .series)
    }

    @Sendable func searchInstances(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, level: .instance)
    }

    func search(_ request: Request, _ context: HubRequestContext, level: DICOMStore.Level) async throws -> Response {
        _ = try DICOMArchive.access(for: context.caller)
        let parameters = request.uri.queryParameters.map { name, value in
            (name: String(name), value: String(value).removingPercentEncoding ?? String(value))
        }
        let query = try DICOMQuery(
            level: level, study: context.parameters.get("study"), series: context.parameters.get("series"),
            parameters: parameters)
        let rows = try await archive.search(query, for: context.caller, target: request.uri.path)
        guard !rows.isEmpty else { return Response(status: .noContent) }
        let base = Self.baseURL(request, config)
        // At instance level with fields asked for, the whole metadata is read: only those fields are answered.
        let keep = query.needsFullMetadata && !query.includeAll ? DICOMQuery.instanceLevel.union(query.includes) : nil
        var json = DICOMJSONWriter()
        json.array { json in
            for row in rows {
                json.object { json in
                    switch level {
                    case .study:
                        json.attribute(
                            .modalitiesInStudy, .CS,
                            strings: (row.modalities ?? "").split(separator: "\\").map(String.init))
                        json.attribute(.retrieveURL, .UR, strings: ["\(base)/studies/\(row.studyUID)"])
                        json.attribute(.numberOfStudyRelatedSeries, .IS, integers: [row.seriesCount ?? 0])
                        json.attribute(.numberOfStudyRelatedInstances, .IS, integers: [row.instanceCount ?? 0])
                    case .series:
                        json.attribute(
                            .retrieveURL, .UR,
                            strings: ["\(base)/studies/\(row.studyUID)/series/\(row.seriesUID ?? "")"])
                        json.attribute(.numberOfSeriesRelatedInstances, .IS, integers: [row.instanceCount ?? 0])
                    case .instance:
                        let url =
                            "\(base)/studies/\(row.studyUID)/series/\(row.seriesUID ?? "")/instances/\(row.sopInstanceUID ?? "")"
                        json.attribute(.retrieveURL, .UR, strings: [url])
                    }
                    json.members(of: row.attributes, keeping: keep)
                }
            }
        }
        return Response(
            status: .ok, headers: [.contentType: Self.dicomJSON],
            body: ResponseBody(byteBuffer: ByteBuffer(string: json.text)))
    }

    /// The DICOMweb root as the client reached it (`PublicURL`).
    static func baseURL(_ request: Request, _ config: HubConfiguration) -> String {
        PublicURL.base(request, config) + "/dicomweb"
    }

    // MARK: WADO-RS

    func files(_ request: Request, _ context: HubRequestContext) async throws -> [StoredInstanceFile] {
        try await archive.files(
            study: try context.parameter("study"), series: context.parameters.get("series"),
            instance: context.parameters.get("instance"), for: context.caller)
    }

    /// The stored instances, byte for byte, as `multipart/related; type="application/dicom"`.
    @Sendable func retrieve(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let files = try await files(request, context)
        try Self.checkAccept(request.headers[.accept], storedIn: Set(files.map(\.transferSyntax)))
        let boundary = "dicomweb-" + UUID().uuidString
        let archive = archive
        let body = ResponseBody { writer in
            for (index, file) in files.enumerated() {
                let head =
                    (index == 0 ? "" : "\r\n") + "--\(boundary)\r\nContent-Type: application/dicom\r\n"
                    + "Content-Length: \(file.size)\r\n\r\n"
                try await writer.write(ByteBuffer(string: head))
                let content = try await archive.content(of: file)
                try await content.open().write(to: &writer)
            }
            try await writer.write(ByteBuffer(string: "\r\n--\(boundary)--\r\n"))
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "multipart/related; type=\"application/dicom\"; boundary=\(boundary)"],
            body: body)
    }

    /// WADO-RS returns the instances as stored, never transcoded: an Accept must allow their media type, and a
    /// transfer syntax it names must be the one each instance is stored in.
    static func checkAccept(_ accept: String?, storedIn syntaxes: Set<String>) throws {
        guard let accept, !accept.isEmpty else { return }
        for range in accept.split(separator: ",") {
            let (type, parameters) = MultipartReader.parameters(of: String(range))
            if type == "*/*" || type == "multipart/*" { return }
            guard type == "multipart/related" else { continue }
            let part = (parameters["type"] ?? "application/dicom").lowercased()
            guard part == "application/dicom" || part == "application/*" else { continue }
            let syntax = parameters["transfer-syntax"] ?? "*"
            if syntax == "*" || syntaxes == [syntax] { return }
        }
        throw HubError(
            code: "not_acceptable", kind: .notAcceptable, title: "Not acceptable",
            detail:
                "instances are returned as stored (multipart/related; type=\"application/dicom\", transfer syntax \(syntaxes.sorted().joined(separator: ", ")))"
        )
    }

    /// The instances' attributes (bulk data left out), as a DICOM JSON array.
    @Sendable func metadata(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let files = try await files(request, context)
        var json = DICOMJSONWriter()
        json.array { json in
            for file in files { json.object { $0.members(of: file.metadata) } }
        }
        return Response(
            status: .ok, headers: [.contentType: Self.dicomJSON],
            body: ResponseBody(byteBuffer: ByteBuffer(string: json.text)))
    }

    // MARK: Pending studies

    /// A clinic attaches a study it stored without an exam (no matching accession number) to one of its exams.
    @Sendable func attachStudy(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try context.authenticated().require(.clinic)
        let examId = try context.parameter("id")
        let (input, _) = try await JSONIO.decode(DICOMIngest.AttachInput.self, from: request, limit: maxBodyBytes)
        let attachments = try await ingest.attachStudy(input, to: examId, by: context.caller)
        return try JSONIO.response(ListResponse(Page(items: attachments, next: nil)))
    }
}
