import Foundation
import GRDB
import HTTPTypes
import HubConfig
import HubCore
import HubStore
import HubUseCases
import Hummingbird
import Logging
import NIOCore

/// `/fhir/R4`: read-only FHIR R4 views of remote-reading exams (`ServiceRequest`, `Task`, `DiagnosticReport`) and the
/// server's `CapabilityStatement`.
///
/// Access is the REST API's: a read is allowed exactly when `GET /v1/exams/{id}` is (`HubEnvironment.side`), and a
/// search covers what `GET /v1/exams` lists (clinic staff: their institution's exams; readers and verifiers: the
/// exams of their institution's centers), leaving out any exam the caller may not see. Every read and search appends
/// an audit record in the same transaction.
///
/// Every answer, errors included, is `application/fhir+json`: errors are an `OperationOutcome` with the HTTP status
/// the REST API would give. So that a missing or bad token is an `OperationOutcome` too, these routes are registered
/// without the shared authentication middleware and run that same middleware themselves (`fhir(_:)`); only
/// `metadata` is open to anyone.
///
/// Search parameters (others are ignored, as FHIR allows):
/// - `patient`: `system|value` (the hub's identifier systems or their FHIR URIs, see `FHIRSystem`) or a bare
///   resident ID;
/// - `identifier`: the accession number, bare or `urn:alliancehub:accession|<number>`;
/// - `status`: one code or several separated by commas, checked against the resource's R4 value set;
/// - `business-status` (Task only): the hub's reading step, e.g. `awaiting-verification`;
/// - `_count` (1 to 500, default 50) and `_cursor` (from the `next` link).
///
/// A `DiagnosticReport` search without `status` returns the latest report version of each exam; with `status` it
/// returns every version whose status matches (so `status=final` still finds a final version that was later
/// corrected). `Bundle.total` is given when the whole answer fits in one page, and left out otherwise.
struct FHIRController {
    let env: HubEnvironment

    static let mediaType = "application/fhir+json"
    static let base = "/fhir/R4"

    func register(_ routes: Routes) {
        routes.add(.get, "/fhir/R4/metadata", public: true, fhir(authenticated: false, metadata))
        routes.add(.get, "/fhir/R4/ServiceRequest", public: true, fhir(searchServiceRequests))
        routes.add(.get, "/fhir/R4/ServiceRequest/{id}", public: true, fhir(readServiceRequest))
        routes.add(.get, "/fhir/R4/Task", public: true, fhir(searchTasks))
        routes.add(.get, "/fhir/R4/Task/{id}", public: true, fhir(readTask))
        routes.add(.get, "/fhir/R4/DiagnosticReport", public: true, fhir(searchDiagnosticReports))
        routes.add(.get, "/fhir/R4/DiagnosticReport/{id}", public: true, fhir(readDiagnosticReport))
        routes.add(.get, "/fhir/R4/Observation", public: true, fhir(searchObservations))
        routes.add(.get, "/fhir/R4/Observation/{id}", public: true, fhir(readObservation))
        routes.add(.get, "/fhir/R4/ImagingStudy", public: true, fhir(searchImagingStudies))
        routes.add(.get, "/fhir/R4/ImagingStudy/{id}", public: true, fhir(readImagingStudy))
    }

    // MARK: Handlers

    @Sendable func metadata(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try Self.response(
            FHIRViews.capabilityStatement(hubId: env.config.hubId, hubName: env.config.hubName, date: env.clock()))
    }

    @Sendable func readServiceRequest(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        return try await read(context, "ServiceRequest", id, examId: FHIRID.examId(id)) {
            exam, _ in FHIRViews.serviceRequest(exam)
        }
    }

    @Sendable func readTask(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        return try await read(context, "Task", id, examId: FHIRID.examId(id)) { exam, _ in FHIRViews.task(exam) }
    }

    @Sendable func readDiagnosticReport(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        if id.hasPrefix("res-") || id.hasPrefix("res_") {
            // A registry result that did not come from an exam; one that did is its exam's report.
            return try await readResult(context, "DiagnosticReport", id, resultId: FHIRID.hubId(id)) { result, _ in
                guard result.examId == nil else { throw HubError.notFound("DiagnosticReport", id) }
                return FHIRViews.diagnosticReport(result)
            }
        }
        let wanted = FHIRID.reportVersion(id)
        return try await read(context, "DiagnosticReport", id, examId: wanted?.examId) { exam, db in
            guard let version = wanted?.version,
                let report = FHIRViews.diagnosticReport(exam, version: version, result: try Self.result(of: exam, db))
            else {
                throw HubError.notFound("DiagnosticReport", id)
            }
            return report
        }
    }

    @Sendable func readObservation(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let wanted = FHIRID.observation(id)
        let env = self.env
        return try await readResult(context, "Observation", id, resultId: wanted?.resultId) { result, db in
            guard let index = wanted?.index, result.values.indices.contains(index) else {
                throw HubError.notFound("Observation", id)
            }
            return FHIRViews.observation(result, index: index, itemLOINC: try Self.itemLOINC(result, env, db))
        }
    }

    @Sendable func readImagingStudy(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let base = PublicURL.base(request, env.config)
        return try await read(context, "ImagingStudy", id, examId: FHIRID.examId(id)) { exam, db in
            guard
                let study = FHIRViews.imagingStudy(
                    exam, attachments: try ExamStore.attachments(db, examId: exam.id), base: base,
                    recognition: try Self.result(of: exam, db)?.recognition)
            else { throw HubError.notFound("ImagingStudy", id) }
            return study
        }
    }

    @Sendable func searchServiceRequests(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, "ServiceRequest", statuses: FHIRViews.requestStatuses) {
            (exam, query, _) -> [FHIRServiceRequest] in
            guard query.statuses?.contains(exam.step.serviceRequestStatus) ?? true else { return [] }
            return [FHIRViews.serviceRequest(exam)]
        }
    }

    @Sendable func searchTasks(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(request, context, "Task", statuses: FHIRViews.taskStatuses, businessStatus: true) {
            (exam, query, _) -> [FHIRTask] in
            guard query.statuses?.contains(exam.step.taskStatus) ?? true,
                query.businessStatuses?.contains(exam.step.rawValue) ?? true
            else { return [] }
            return [FHIRViews.task(exam)]
        }
    }

    @Sendable func searchDiagnosticReports(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try await search(
            request, context, "DiagnosticReport", statuses: FHIRViews.reportStatuses, code: true,
            results: { results, query in
                // Registry results that came from an exam are found as their exam's report.
                results.filter { result in
                    result.examId == nil && query.statuses.map { $0.contains(result.reportStatus.rawValue) } ?? true
                        && query.itemCodes.map { $0.contains(result.itemCode) } ?? true
                }.map(FHIRViews.diagnosticReport)
            }
        ) { (exam, query, db) -> [FHIRDiagnosticReport] in
            guard query.itemCodes?.contains(exam.itemCode) ?? true else { return [] }
            let versions =
                query.statuses.map { statuses in
                    exam.reports.filter { statuses.contains($0.status.rawValue) }.map(\.version)
                } ?? exam.currentReport.map { [$0.version] } ?? []
            if versions.isEmpty { return [] }
            let result = try Self.result(of: exam, db)
            return versions.compactMap { FHIRViews.diagnosticReport(exam, version: $0, result: result) }
        }
    }

    /// Observations are searched by patient (required, as `GET /v1/results`), then `code` and `status`; a patient's
    /// matches are answered in one page.
    @Sendable func searchObservations(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinician, .reader, .verifier, .clinic)
        let query = try parse(request, statuses: FHIRViews.observationStatuses, businessStatus: false, code: true)
        guard let key = query.patientKey else {
            throw HubError.validation("patient", "is required: system|value, or a bare resident ID")
        }
        let env = self.env
        let now = env.clock()
        let found = try await env.database.write { db -> [FHIRObservation] in
            let itemCodes = try Self.itemCodes(query.code, env, db, now: now)
            var found: [FHIRObservation] = []
            for result in try Self.results(db, patientKey: key) {
                let loinc = try Self.itemLOINC(result, env, db)
                for index in result.values.indices {
                    let observation = FHIRViews.observation(result, index: index, itemLOINC: loinc)
                    guard query.statuses?.contains(observation.status) ?? true else { continue }
                    if let code = query.code, !(itemCodes ?? []).contains(result.itemCode),
                        FHIRViews.observationLOINC(result, index: index, itemLOINC: loinc) != code
                    {
                        continue
                    }
                    found.append(observation)
                }
            }
            try AuditLog.append(
                db,
                context.audit(
                    "fhir.search", "Observation", caller.institutionId ?? "-", patientKey: key,
                    detail: "count=\(found.count)"),
                at: now)
            return found
        }
        return try Self.response(bundle(request, "Observation", found, next: nil, cursor: nil))
    }

    @Sendable func searchImagingStudies(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let base = PublicURL.base(request, env.config)
        return try await search(
            request, context, "ImagingStudy", statuses: FHIRViews.imagingStudyStatuses, code: true
        ) { (exam, query, db) -> [FHIRImagingStudy] in
            guard query.statuses?.contains("available") ?? true, query.itemCodes?.contains(exam.itemCode) ?? true,
                let study = FHIRViews.imagingStudy(
                    exam, attachments: try ExamStore.attachments(db, examId: exam.id), base: base,
                    recognition: try Self.result(of: exam, db)?.recognition)
            else { return [] }
            return [study]
        }
    }

    // MARK: Reading and searching

    /// Reads one exam's resource: 404 when there is no such exam, 403 when the caller may not see it.
    private func read<R: FHIRResource>(
        _ context: HubRequestContext, _ type: String, _ fhirID: String, examId: String?,
        _ render: @escaping @Sendable (Exam, Database) throws -> R
    ) async throws -> Response {
        let caller = try context.authenticated()
        guard let examId else { throw HubError.notFound(type, fhirID) }
        let env = self.env
        let now = env.clock()
        let resource = try await env.database.write { db in
            guard let exam = try ExamStore.exam(db, id: examId) else { throw HubError.notFound(type, fhirID) }
            _ = try ExamAccess().side(of: caller, for: exam, db)
            let resource = try render(exam, db)
            try AuditLog.append(
                db,
                context.audit(
                    "fhir.read", "exam", exam.id, patientKey: env.patientKeys.keys(for: exam.patient).first,
                    detail: "\(type)/\(resource.id)"), at: now)
            return resource
        }
        return try Self.response(resource)
    }

    /// Reads one registry result's resource, with the access rule of `GET /v1/results/{id}`: 403 for a caller without
    /// a role that reads results, 404 when there is no such result.
    private func readResult<R: FHIRResource>(
        _ context: HubRequestContext, _ type: String, _ fhirID: String, resultId: String?,
        _ render: @escaping @Sendable (ResultRecord, Database) throws -> R
    ) async throws -> Response {
        let caller = try context.authenticated()
        try caller.require(.clinician, .reader, .verifier, .clinic)
        guard let resultId else { throw HubError.notFound(type, fhirID) }
        let env = self.env
        let now = env.clock()
        let resource = try await env.database.write { db in
            guard let result = try ResultStore.result(db, id: resultId) else { throw HubError.notFound(type, fhirID) }
            let resource = try render(result, db)
            try AuditLog.append(
                db,
                context.audit(
                    "fhir.read", "result", result.id, patientKey: env.patientKeys.keys(for: result.patient).first,
                    detail: "\(type)/\(resource.id)"), at: now)
            return resource
        }
        return try Self.response(resource)
    }

    /// The registry result of an exam (registered when its report was verified), if any.
    static func result(of exam: Exam, _ db: Database) throws -> ResultRecord? {
        try exam.resultId.flatMap { try ResultStore.result(db, id: $0) }
    }

    /// Every registry result of a patient, latest performed first.
    static func results(_ db: Database, patientKey: String) throws -> [ResultRecord] {
        try String.fetchAll(
            db,
            sql: "SELECT body FROM results WHERE id IN (SELECT result_id FROM result_patients WHERE patient_key = ?)",
            arguments: [patientKey]
        ).map(ResultStore.decode).sorted { $0.performedAt > $1.performedAt }
    }

    /// The LOINC code of a result's catalog item, in the catalog in force on the performed date.
    static func itemLOINC(_ result: ResultRecord, _ env: HubEnvironment, _ db: Database) throws -> String? {
        try env.catalog.inForce(db, on: env.today(at: result.performedAt))?.item(result.itemCode)?.loinc
    }

    /// The item codes a `code` search parameter names: the code itself and, when it is an item code or an equivalent
    /// code (such as a LOINC code) of the catalog in force, that item's code.
    static func itemCodes(
        _ code: String?, _ env: HubEnvironment, _ db: Database, now: Timestamp
    ) throws -> Set<
        String
    >? {
        guard let code else { return nil }
        var codes: Set<String> = [code]
        if let item = try env.catalog.inForce(db, on: env.today(at: now))?.item(code) { codes.insert(item.code) }
        return codes
    }

    /// What a search asks for.
    struct SearchQuery: Sendable {
        var patientKey: String?
        var accession: String?
        /// An identifier of another system was asked for: nothing matches.
        var foreignIdentifier = false
        var statuses: Set<String>?
        var businessStatuses: Set<String>?
        /// `code`: an item code or an equivalent code (LOINC); `itemCodes` are the item codes it names.
        var code: String?
        var itemCodes: Set<String>?
        var count = 50
        var cursor: String?
    }

    private func search<R: FHIRResource>(
        _ request: Request, _ context: HubRequestContext, _ type: String, statuses: Set<String>,
        businessStatus: Bool = false, code: Bool = false,
        results: (@Sendable ([ResultRecord], SearchQuery) -> [R])? = nil,
        _ render: @escaping @Sendable (Exam, SearchQuery, Database) throws -> [R]
    ) async throws -> Response {
        let caller = try context.authenticated()
        guard let institutionId = caller.institutionId else {
            throw HubError.forbidden("exams are searched by the staff of an institution")
        }
        let parsed = try parse(request, statuses: statuses, businessStatus: businessStatus, code: code)
        let env = self.env
        let now = env.clock()
        let readsResults = results != nil && !caller.roles.isDisjoint(with: ResultController.readers)
        let (found, next) = try await env.database.write { db -> ([R], String?) in
            var query = parsed
            query.itemCodes = try Self.itemCodes(query.code, env, db, now: now)
            var clinicId: String?
            var centerIds: [String]?
            var scanExams = true
            if caller.roles.contains(.clinic) {
                clinicId = institutionId
            } else if !caller.roles.isDisjoint(with: [.reader, .verifier]) {
                centerIds = try RegistryStore.centers(db, institutionId: institutionId, after: nil, limit: 500).items
                    .map(\.id)
            } else if readsResults {
                scanExams = false
            } else {
                throw HubError.forbidden("exams are searched by clinic staff, readers and verifiers")
            }
            var found: [R] = []
            // A patient's registry results (those not from an exam) come first, all on the first page.
            if readsResults, let results, let key = query.patientKey, query.cursor == nil, query.accession == nil,
                !query.foreignIdentifier
            {
                found += results(try Self.results(db, patientKey: key), query)
            }
            var lastIncluded: String?
            var more = false
            /// Adds the exam's matching resources; false once the page is full and another match exists.
            func consider(_ exam: Exam) throws -> Bool {
                let resources = try render(exam, query, db)
                if resources.isEmpty { return true }
                do {
                    _ = try ExamAccess().side(of: caller, for: exam, db)
                } catch let error as HubError where error.status == 403 {
                    return true
                }
                if found.count >= query.count {
                    more = true
                    return false
                }
                found += resources
                lastIncluded = exam.id
                return true
            }
            if !scanExams {
                // Only registry results: the caller reads no exams.
            } else if let accession = query.accession {
                if !query.foreignIdentifier, let exam = try ExamStore.exam(db, accessionNumber: accession),
                    query.patientKey.map({ env.patientKeys.keys(for: exam.patient).contains($0) }) ?? true,
                    query.cursor.flatMap(Cursor.decode).map({ exam.id > $0 }) ?? true
                {
                    _ = try consider(exam)
                }
            } else {
                var cursor = query.cursor
                scan: while true {
                    let page = try ExamStore.exams(
                        db, clinicId: clinicId, centerIds: centerIds, patientKeys: query.patientKey.map { [$0] },
                        after: cursor, limit: 500)
                    for exam in page.items {
                        if try !consider(exam) { break scan }
                    }
                    guard let next = page.next else { break }
                    cursor = next
                }
            }
            try AuditLog.append(
                db,
                context.audit(
                    "fhir.search", type, institutionId, patientKey: query.patientKey, detail: "count=\(found.count)"),
                at: now)
            return (found, more ? lastIncluded.map(Cursor.encode) : nil)
        }
        return try Self.response(bundle(request, type, found, next: next, cursor: parsed.cursor))
    }

    /// A `searchset` Bundle of the matches, with `self` and `next` links.
    private func bundle<R: FHIRResource>(
        _ request: Request, _ type: String, _ found: [R], next: String?, cursor: String?
    ) -> FHIRBundle<R> {
        let base = PublicURL.base(request, env.config)
        var bundle = FHIRBundle<R>()
        if cursor == nil && next == nil { bundle.total = found.count }
        let path = base + Self.base + "/" + type
        let selfQuery = request.uri.query.map { "?" + $0 } ?? ""
        bundle.link = [FHIRBundle<R>.Link(relation: "self", url: path + selfQuery)]
        if let next {
            let kept = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("_cursor=") }
                .map(String.init)
            bundle.link?.append(
                .init(relation: "next", url: path + "?" + (kept + ["_cursor=" + next]).joined(separator: "&")))
        }
        if !found.isEmpty {
            bundle.entry = found.map {
                .init(fullUrl: path + "/" + $0.id, resource: $0, search: .init(mode: "match"))
            }
        }
        return bundle
    }

    /// Reads and checks the search parameters.
    private func parse(
        _ request: Request, statuses allowed: Set<String>, businessStatus: Bool, code: Bool = false
    ) throws -> SearchQuery {
        var query = SearchQuery()
        if let patient = request.query("patient") {
            guard let identifier = PatientIdentifier(query: patient) else {
                throw HubError.validation("patient", "use system|value, or a bare resident ID")
            }
            let hubIdentifier = PatientIdentifier(
                system: FHIRSystem.hub(fromFHIR: identifier.system), value: identifier.value)
            query.patientKey = env.patientKeys.key(for: hubIdentifier)
        }
        if let identifier = request.query("identifier") {
            var value = identifier[...]
            if let bar = identifier.firstIndex(of: "|") {
                let system = identifier[..<bar]
                value = identifier[identifier.index(after: bar)...]
                query.foreignIdentifier = !system.isEmpty && system != FHIRSystem.accession
            }
            guard !value.isEmpty else {
                throw HubError.validation("identifier", "give the accession number, bare or as system|value")
            }
            query.accession = String(value)
        }
        if code, let text = request.query("code") {
            // `system|code` or a bare code; the system (http://loinc.org, the catalog's) is not needed to tell them apart.
            let value = String(text.split(separator: "|", omittingEmptySubsequences: false).last ?? "")
            guard !value.isEmpty else { throw HubError.validation("code", "give an item code or a LOINC code") }
            query.code = value
        }
        if let status = request.query("status") {
            query.statuses = try Self.codes(status, "status", allowed: allowed)
        }
        if businessStatus, let steps = request.query("business-status") {
            query.businessStatuses = try Self.codes(
                steps, "business-status", allowed: Set(ExamStep.allCases.map(\.rawValue)))
        }
        if let count = request.query("_count") {
            guard let value = Int(count), (1...Page<Exam>.maxLimit).contains(value) else {
                throw HubError.validation("_count", "must be a whole number from 1 to \(Page<Exam>.maxLimit)")
            }
            query.count = value
        }
        if let cursor = request.query("_cursor") {
            guard Cursor.decode(cursor) != nil else {
                throw HubError.validation("_cursor", "is not a cursor from this server")
            }
            query.cursor = cursor
        }
        return query
    }

    /// A token parameter's codes: comma-separated, each bare or `system|code`, each one of `allowed`.
    static func codes(_ text: String, _ name: String, allowed: Set<String>) throws -> Set<String> {
        var codes = Set<String>()
        for token in text.split(separator: ",", omittingEmptySubsequences: false) {
            let code = String(token.split(separator: "|", omittingEmptySubsequences: false).last ?? "")
            guard allowed.contains(code) else {
                throw HubError.validation(name, "'\(code)' is not one of \(allowed.sorted().joined(separator: ", "))")
            }
            codes.insert(code)
        }
        return codes
    }

    // MARK: Answers

    static func response(_ resource: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        response(data: try HubJSON.encode(resource), status: status)
    }

    static func response(data: Data, status: HTTPResponse.Status, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = mediaType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Wraps a handler: authenticates the caller as every authenticated route does (unless `authenticated` is false),
    /// and turns every error into an `OperationOutcome`.
    private func fhir(authenticated: Bool = true, _ handler: @escaping Routes.Handler) -> Routes.Handler {
        let auth = AuthMiddleware(env: env)
        return { request, context in
            do {
                guard authenticated else { return try await handler(request, context) }
                return try await auth.handle(request, context: context) { request, context in
                    try await handler(request, context)
                }
            } catch {
                return Self.outcome(error, context: context)
            }
        }
    }

    /// An error as an `OperationOutcome`, with the status and the stable code of the REST API's problem document.
    static func outcome(_ error: any Error, context: HubRequestContext) -> Response {
        let hubError: HubError
        if let error = error as? HubError {
            hubError = error
        } else {
            context.logger.error("unhandled error", metadata: ["error.message": "\(error)"])
            hubError = .internalError(
                "the hub could not complete the request; it has been logged with request id \(context.id)")
        }
        let issue = FHIROperationOutcome.Issue(
            severity: "error", code: issueType(hubError.status),
            details: FHIRCodeableConcept(
                coding: [FHIRCoding(system: FHIRSystem.problemCode, code: hubError.code, display: hubError.title)],
                text: hubError.title),
            diagnostics: hubError.detail)
        var headers = HTTPFields()
        if hubError.status == 401 { headers[.wwwAuthenticate] = #"Bearer realm="alliancehub""# }
        let data =
            (try? HubJSON.encode(FHIROperationOutcome(issue: [issue])))
            ?? Data(#"{"issue":[{"code":"exception","severity":"error"}],"resourceType":"OperationOutcome"}"#.utf8)
        return response(data: data, status: .init(code: hubError.status), headers: headers)
    }

    /// The http://hl7.org/fhir/issue-type code for an HTTP status.
    static func issueType(_ status: Int) -> String {
        switch status {
        case 400, 422: "invalid"
        case 401: "login"
        case 403: "forbidden"
        case 404: "not-found"
        case 409: "conflict"
        case 413: "too-long"
        case 415: "not-supported"
        case 503: "transient"
        default: "exception"
        }
    }
}
