import Foundation
import HTTPTypes
import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird
import Logging
import NIOCore

/// `/fhir/R4`: read-only FHIR R4 views of remote-reading exams (`ServiceRequest`, `Task`, `DiagnosticReport`) and the
/// server's `CapabilityStatement`.
///
/// Access is the REST API's (`ClinicalRecords`): a read is allowed exactly when `GET /v1/exams/{id}` is, and a search
/// covers what `GET /v1/exams` lists, leaving out any exam the caller may not see. Every read and search appends an
/// audit record in the same transaction.
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
    let records: ClinicalRecords
    let patients: FHIRPatientRoutes
    let authentication: AuthMiddleware
    let config: HubConfiguration
    let clock: @Sendable () -> Timestamp

    init(env: HubEnvironment) {
        records = ClinicalRecords(env)
        patients = FHIRPatientRoutes(patients: PatientQueries(env), config: env.config)
        authentication = AuthMiddleware(env: env)
        config = env.config
        clock = env.clock
    }

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
        routes.add(.get, "/fhir/R4/Patient", public: true, fhir(patients.search))
        routes.add(.get, "/fhir/R4/Patient/$ihe-pix", public: true, fhir(patients.pix))
        routes.add(.get, "/fhir/R4/Patient/{id}", public: true, fhir(patients.read))
    }

    // MARK: Handlers

    @Sendable func metadata(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try Self.response(
            FHIRViews.capabilityStatement(hubId: config.hubId, hubName: config.hubName, date: clock()))
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
        return try await read(context, "DiagnosticReport", id, examId: wanted?.examId) { exam, records in
            guard let version = wanted?.version,
                let report = FHIRViews.diagnosticReport(exam, version: version, result: try records.result(of: exam))
            else {
                throw HubError.notFound("DiagnosticReport", id)
            }
            return report
        }
    }

    @Sendable func readObservation(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let wanted = FHIRID.observation(id)
        return try await readResult(context, "Observation", id, resultId: wanted?.resultId) { result, records in
            guard let index = wanted?.index, result.values.indices.contains(index) else {
                throw HubError.notFound("Observation", id)
            }
            return FHIRViews.observation(result, index: index, itemLOINC: try records.itemLOINC(of: result))
        }
    }

    @Sendable func readImagingStudy(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let id = try context.parameter("id")
        let base = PublicURL.base(request, config)
        return try await read(context, "ImagingStudy", id, examId: FHIRID.examId(id)) { exam, records in
            guard
                let study = FHIRViews.imagingStudy(
                    exam, attachments: try records.attachments(of: exam), base: base,
                    recognition: try records.result(of: exam)?.recognition)
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
        ) { (exam, query, records) -> [FHIRDiagnosticReport] in
            guard query.itemCodes?.contains(exam.itemCode) ?? true else { return [] }
            let versions =
                query.statuses.map { statuses in
                    exam.reports.filter { statuses.contains($0.status.rawValue) }.map(\.version)
                } ?? exam.currentReport.map { [$0.version] } ?? []
            if versions.isEmpty { return [] }
            let result = try records.result(of: exam)
            return versions.compactMap { FHIRViews.diagnosticReport(exam, version: $0, result: result) }
        }
    }

    /// Observations are searched by patient (required, as `GET /v1/results`), then `code` and `status`; a patient's
    /// matches are answered in one page.
    @Sendable func searchObservations(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        try records.authorizeResultReading(context.caller)
        let query = try parse(request, statuses: FHIRViews.observationStatuses, businessStatus: false, code: true)
        let found = try await records.patientResults(query, for: context.caller, type: "Observation") {
            result, query, records -> [FHIRObservation] in
            let loinc = try records.itemLOINC(of: result)
            var found: [FHIRObservation] = []
            for index in result.values.indices {
                let observation = FHIRViews.observation(result, index: index, itemLOINC: loinc)
                guard query.statuses?.contains(observation.status) ?? true else { continue }
                if let code = query.code, !(query.itemCodes ?? []).contains(result.itemCode),
                    FHIRViews.observationLOINC(result, index: index, itemLOINC: loinc) != code
                {
                    continue
                }
                found.append(observation)
            }
            return found
        }
        return try Self.response(bundle(request, "Observation", found, next: nil, cursor: nil))
    }

    @Sendable func searchImagingStudies(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let base = PublicURL.base(request, config)
        return try await search(
            request, context, "ImagingStudy", statuses: FHIRViews.imagingStudyStatuses, code: true
        ) { (exam, query, records) -> [FHIRImagingStudy] in
            guard query.statuses?.contains("available") ?? true, query.itemCodes?.contains(exam.itemCode) ?? true,
                let study = FHIRViews.imagingStudy(
                    exam, attachments: try records.attachments(of: exam), base: base,
                    recognition: try records.result(of: exam)?.recognition)
            else { return [] }
            return [study]
        }
    }

    // MARK: Reading and searching

    /// Reads one exam's resource: 404 when there is no such exam, 403 when the caller may not see it.
    private func read<R: FHIRResource>(
        _ context: HubRequestContext, _ type: String, _ fhirID: String, examId: String?,
        _ render: @escaping @Sendable (Exam, ClinicalRecords.Reader) throws -> R
    ) async throws -> Response {
        let resource = try await records.exam(
            examId, notFound: HubError.notFound(type, fhirID), for: context.caller, type: type
        ) { exam, records in
            let resource = try render(exam, records)
            return (resource, resource.id)
        }
        return try Self.response(resource)
    }

    /// Reads one registry result's resource, with the access rule of `GET /v1/results/{id}`: 403 for a caller without
    /// a role that reads results, 404 when there is no such result.
    private func readResult<R: FHIRResource>(
        _ context: HubRequestContext, _ type: String, _ fhirID: String, resultId: String?,
        _ render: @escaping @Sendable (ResultRecord, ClinicalRecords.Reader) throws -> R
    ) async throws -> Response {
        let resource = try await records.result(
            resultId, notFound: HubError.notFound(type, fhirID), for: context.caller, type: type
        ) { result, records in
            let resource = try render(result, records)
            return (resource, resource.id)
        }
        return try Self.response(resource)
    }

    private func search<R: FHIRResource>(
        _ request: Request, _ context: HubRequestContext, _ type: String, statuses: Set<String>,
        businessStatus: Bool = false, code: Bool = false,
        results: (@Sendable ([ResultRecord], ClinicalRecords.Search) -> [R])? = nil,
        _ render: @escaping @Sendable (Exam, ClinicalRecords.Search, ClinicalRecords.Reader) throws -> [R]
    ) async throws -> Response {
        try records.authorizeSearch(context.caller)
        let parsed = try parse(request, statuses: statuses, businessStatus: businessStatus, code: code)
        let (found, next) = try await records.search(
            parsed, for: context.caller, type: type, results: results, render)
        return try Self.response(bundle(request, type, found, next: next, cursor: parsed.cursor))
    }

    /// A `searchset` Bundle of the matches, with `self` and `next` links.
    private func bundle<R: FHIRResource>(
        _ request: Request, _ type: String, _ found: [R], next: String?, cursor: String?
    ) -> FHIRBundle<R> {
        let base = PublicURL.base(request, config)
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
    ) throws -> ClinicalRecords.Search {
        var query = ClinicalRecords.Search()
        if let patient = request.query("patient") {
            guard let identifier = PatientIdentifier(query: patient) else {
                throw HubError.validation("patient", "use system|value, or a bare resident ID")
            }
            query.patient = PatientIdentifier(
                system: FHIRSystem.hub(fromFHIR: identifier.system), value: identifier.value)
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
        let auth = authentication
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
