import Foundation
import HTTPTypes
import HubCore
import HubStore
import TestSupport
import Testing

/// Checks FHIR JSON with a third-party FHIR R4 implementation: the `fhir.resources` Python package, version 6.4.0
/// (FHIR 4.0.1; later versions model R4B and R5). Each document is parsed into the library's model of its
/// `resourceType`, which refuses unknown elements, wrong types, bad ids and dates and missing required elements; the
/// script then checks every code of a required binding against the value set the library carries (it carries only
/// the first codes of long value sets, such as `Task.status`; those are left to the tests' own expectations).
///
/// The package is found on `FHIR_R4_PYTHONPATH`, else in `.build-tools/fhir/` (where `Scripts/test` installs it: it
/// needs pydantic 1, so it has a folder of its own), else in the interpreter's own site-packages.
enum FHIRValidator {
    static let install = OutsideTools.installCommand

    static let script = #"""
        import json, sys
        try:
            import fhir.resources
            from fhir.resources import construct_fhir_element
        except ImportError as error:
            print("the fhir.resources package is missing: %s" % error)
            sys.exit(3)
        if fhir.resources.__fhir_version__ != "4.0.1":
            print("fhir.resources %s models FHIR %s, not R4 (4.0.1)"
                  % (fhir.resources.__version__, fhir.resources.__fhir_version__))
            sys.exit(3)
        problems = []
        def walk(model, path):
            for name, field in model.__fields__.items():
                value = getattr(model, name, None)
                if value is None:
                    continue
                allowed = field.field_info.extra.get("enum_values")
                if allowed and "+" in allowed:
                    allowed = None  # the library lists only the start of long value sets, ending with "+"
                where = "%s.%s" % (path, field.alias or name)
                for item in value if isinstance(value, list) else [value]:
                    if allowed and isinstance(item, str) and item not in allowed:
                        problems.append("%s: '%s' is not one of %s" % (where, item, allowed))
                    if hasattr(item, "__fields__"):
                        walk(item, where)
        for path in sys.argv[1:]:
            with open(path, encoding="utf-8") as file:
                data = json.load(file)
            try:
                resource = construct_fhir_element(data["resourceType"], data)
            except Exception as error:
                problems.append("%s: %s" % (path, error))
                continue
            walk(resource, "%s(%s)" % (data["resourceType"], path.rsplit("/", 1)[-1]))
            print("valid FHIR R4 %s" % data["resourceType"])
        if problems:
            print("\n".join(problems))
            sys.exit(1)
        """#

    /// Validates every document; records a test failure naming each problem, or the missing package.
    static func validate(
        _ documents: [String: Data], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fhir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for (name, data) in documents.sorted(by: { $0.key < $1.key }) {
            let url = directory.appendingPathComponent(name + ".json")
            try data.write(to: url)
            paths.append(url.path)
        }
        var environment = OutsideTools.environment(pythonFolders: ["fhir"])
        if let extra = environment["FHIR_R4_PYTHONPATH"] {
            environment["PYTHONPATH"] = extra + (environment["PYTHONPATH"].map { ":" + $0 } ?? "")
        }
        let status: Int32
        let outputData: Data
        do {
            (status, outputData) = try await ChildProcess.run(
                "python3", ["-c", script] + paths, environment: environment)
        } catch {
            Issue.record(
                "cannot run python3 for the FHIR R4 validator (\(error)); install Python 3 and then: \(install)",
                sourceLocation: sourceLocation)
            return
        }
        let output = String(decoding: outputData, as: UTF8.self)
        switch status {
        case 0:
            #expect(output.components(separatedBy: "valid FHIR R4").count - 1 == documents.count, "\(output)")
        case 3:
            let reason = output.trimmingCharacters(in: .whitespacesAndNewlines)
            Issue.record(
                "the FHIR R4 validator is not installed: \(reason). Install it: \(install)",
                sourceLocation: sourceLocation)
        default:
            Issue.record("not valid FHIR R4:\n\(output)", sourceLocation: sourceLocation)
        }
    }
}

/// A FHIR id: the hub id with `_` written `-`.
private func fhirID(_ hubID: String) -> String {
    hubID.replacingOccurrences(of: "_", with: "-")
}

fileprivate extension Reply {
    /// The resources of a search `Bundle`.
    var resources: [[String: Any]] {
        ((json["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
    }

    var ids: [String] { resources.compactMap { $0["id"] as? String } }

    /// The first issue of an `OperationOutcome`.
    var issue: [String: Any] { ((json["issue"] as? [[String: Any]]) ?? []).first ?? [:] }
}

fileprivate extension [String: Any] {
    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
    func objects(_ key: String) -> [[String: Any]] { (self[key] as? [[String: Any]]) ?? [] }
    func string(_ key: String) -> String? { self[key] as? String }
}

/// One exam driven through remote reading over the REST API.
struct ReadExam {
    var id: String
    var accession: String
    var exam: [String: Any]
}

extension HubClient {
    /// Submits an exam and, as far as `until` says, claims, reports and verifies it.
    func readExam(
        _ people: Alliance, patient: String, until step: String = "final", priority: String = "urgent"
    ) async throws -> ReadExam {
        let submitted = try await call(
            .post, "/v1/exams", token: people.clinicToken,
            json: Alliance.examBody(patientID: patient, priority: priority))
        try #require(submitted.status == 201, "\(submitted.text)")
        let id = try #require(submitted["id"])
        if step != "waiting" {
            let claimed = try await call(.post, "/v1/exams/\(id)/claim", token: people.residentToken)
            try #require(claimed.status == 200, "\(claimed.text)")
        }
        if step == "awaiting-verification" || step == "final" {
            let reported = try await call(
                .post, "/v1/exams/\(id)/report", token: people.residentToken,
                json: [
                    "findings": "双肺纹理清晰。右肺下叶见一约8mm结节 <磨玻璃> & 边界清。", "conclusion": "右肺下叶磨玻璃结节，建议3个月复查。",
                ])
            try #require(reported.status == 200, "\(reported.text)")
        }
        if step == "final" {
            let verified = try await call(.post, "/v1/exams/\(id)/verify", token: people.attendingToken)
            try #require(verified.status == 200, "\(verified.text)")
        }
        let exam = try await get("/v1/exams/\(id)", token: people.clinicToken)
        return ReadExam(id: id, accession: try #require(exam["accession_number"]), exam: exam.json)
    }
}

@Suite struct FHIRTests {
    @Test func aVerifiedExamReadsAsServiceRequestTaskAndDiagnosticReport() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let patient = residentID()
            var documents: [String: Data] = [:]

            // While a reader holds the claim, the Task is in progress and owned by them.
            let open = try await hub.readExam(people, patient: patient, until: "claimed")
            let claimedTask = try await hub.get("/fhir/R4/Task/\(fhirID(open.id))", token: people.clinicToken)
            #expect(claimedTask.status == 200, "\(claimedTask.text)")
            #expect(claimedTask.json.string("status") == "in-progress")
            #expect(claimedTask.json.object("businessStatus")?.string("text") == "claimed")
            #expect(
                claimedTask.json.object("owner")?.string("reference") == "Practitioner/\(fhirID(people.residentId))")
            #expect(claimedTask.json.object("executionPeriod")?.string("end") == nil)
            documents["task-claimed"] = claimedTask.body
            let openRequest = try await hub.get(
                "/fhir/R4/ServiceRequest/\(fhirID(open.id))", token: people.residentToken)
            #expect(openRequest.json.string("status") == "active")
            documents["service-request-active"] = openRequest.body

            let done = try await hub.readExam(people, patient: patient)
            let milestones = try #require(done.exam["milestones"] as? [String: Any])
            let report = try #require((done.exam["reports"] as? [[String: Any]])?.last)
            let id = fhirID(done.id)

            let request = try await hub.get("/fhir/R4/ServiceRequest/\(id)", token: people.clinicToken)
            #expect(request.status == 200, "\(request.text)")
            #expect(request.contentType == "application/fhir+json")
            let sr = request.json
            #expect(sr.string("resourceType") == "ServiceRequest")
            #expect(sr.string("id") == id)
            #expect(sr.string("status") == "completed")
            #expect(sr.string("intent") == "order")
            #expect(sr.string("priority") == "urgent")
            let coding = sr.object("code")?.objects("coding").first
            #expect(coding?.string("system") == "urn:alliancehub:catalog")
            #expect(coding?.string("code") == "CT-CHEST")
            #expect(coding?.string("display") == done.exam["item_name"] as? String)
            let subject = sr.object("subject")?.object("identifier")
            #expect(subject?.string("system") == "urn:oid:2.16.156.10011.1.3")
            #expect(subject?.string("value") == patient)
            #expect(sr.object("requester")?.string("reference") == "Organization/hs-clinic")
            #expect(sr.objects("performer").first?.string("reference") == "HealthcareService/wh-imaging")
            let identifier = sr.objects("identifier").first
            #expect(identifier?.string("system") == "urn:alliancehub:accession")
            #expect(identifier?.string("value") == done.accession)
            #expect(sr.string("authoredOn") == milestones["submitted_at"] as? String)
            #expect(sr.objects("reasonCode").first?.string("text") == "咳嗽两周，胸痛一天")
            #expect(sr["supportingInfo"] == nil)
            documents["service-request"] = request.body

            let task = try await hub.get("/fhir/R4/Task/\(id)", token: people.attendingToken)
            #expect(task.status == 200, "\(task.text)")
            let t = task.json
            #expect(t.string("status") == "completed")
            let business = t.object("businessStatus")
            #expect(business?.objects("coding").first?.string("system") == "urn:alliancehub:task-business-status")
            #expect(business?.objects("coding").first?.string("code") == "final")
            #expect(t.string("intent") == "order")
            #expect(t.string("priority") == "urgent")
            #expect(t.object("focus")?.string("reference") == "ServiceRequest/\(id)")
            #expect(t.object("for")?.object("identifier")?.string("value") == patient)
            #expect(t.object("requester")?.string("reference") == "Organization/hs-clinic")
            #expect(t["owner"] == nil, "no one holds a claim on a verified exam")
            #expect(t.string("authoredOn") == milestones["submitted_at"] as? String)
            #expect(t.string("lastModified") == done.exam["updated_at"] as? String)
            #expect(t.object("executionPeriod")?.string("start") == milestones["first_claimed_at"] as? String)
            #expect(t.object("executionPeriod")?.string("end") == milestones["verified_at"] as? String)
            #expect(
                t.objects("output").first?.object("valueReference")?.string("reference") == "DiagnosticReport/\(id)-1")
            documents["task"] = task.body

            let diagnostic = try await hub.get("/fhir/R4/DiagnosticReport/\(id)-1", token: people.clinicToken)
            #expect(diagnostic.status == 200, "\(diagnostic.text)")
            let dr = diagnostic.json
            #expect(dr.string("id") == "\(id)-1")
            #expect(dr.string("status") == "final")
            let category = dr.objects("category").first?.objects("coding").first
            #expect(category?.string("system") == "http://terminology.hl7.org/CodeSystem/v2-0074")
            #expect(category?.string("code") == "RAD")
            #expect(dr.object("code")?.objects("coding").first?.string("code") == "CT-CHEST")
            #expect(dr.object("subject")?.object("identifier")?.string("value") == patient)
            #expect(dr.objects("basedOn").first?.string("reference") == "ServiceRequest/\(id)")
            #expect(dr.string("issued") == report["verified_at"] as? String)
            #expect(
                dr.objects("resultsInterpreter").compactMap { $0.string("reference") } == [
                    "Practitioner/\(fhirID(people.residentId))", "Practitioner/\(fhirID(people.attendingId))",
                ])
            #expect(dr.string("conclusion") == "右肺下叶磨玻璃结节，建议3个月复查。")
            let div = try #require(dr.object("text")?.string("div"))
            #expect(div.hasPrefix(#"<div xmlns="http://www.w3.org/1999/xhtml">"#))
            #expect(div.contains("<p>双肺纹理清晰。右肺下叶见一约8mm结节"))
            #expect(div.contains("&lt;磨玻璃&gt; &amp; 边界清"), "the findings are escaped XHTML")
            #expect(dr["presentedForm"] == nil)
            // The recognition extension describes the data (images and values); the conclusion stays outside it.
            let recognition = (dr["extension"] as? [[String: Any]])?.first
            #expect(
                recognition?["url"] as? String == "https://alliancehub.invalid/fhir/StructureDefinition/recognition")
            #expect(!(recognition.map { "\($0)" } ?? "").contains("conclusion"))
            documents["diagnostic-report"] = diagnostic.body

            let latest = try await hub.get(
                "/fhir/R4/DiagnosticReport?identifier=\(done.accession)", token: people.clinicToken)
            #expect(latest.ids == ["\(id)-1"])
            documents["bundle-diagnostic-report"] = latest.body

            let metadata = try await hub.get("/fhir/R4/metadata")
            documents["capability-statement"] = metadata.body
            let missing = try await hub.get("/fhir/R4/Task/exm-00000000000000000000000000", token: people.clinicToken)
            documents["operation-outcome"] = missing.body
            try await FHIRValidator.validate(documents)
        }
    }

    @Test func searchesByPatientIdentifierAndStatus() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let zhang = residentID(sequence: "123")
            let li = residentID(birth: "19900215", sequence: "456")
            let first = try await hub.readExam(people, patient: zhang)
            let waiting = try await hub.readExam(people, patient: zhang, until: "waiting", priority: "routine")
            let other = try await hub.readExam(people, patient: li, until: "awaiting-verification")
            var documents: [String: Data] = [:]

            // A bare resident ID, the hub's system name and the FHIR URI all name the same patient.
            for query in [zhang, "cn-resident-id%7C\(zhang)", "urn:oid:2.16.156.10011.1.3%7C\(zhang)"] {
                let found = try await hub.get("/fhir/R4/ServiceRequest?patient=\(query)", token: people.clinicToken)
                #expect(found.status == 200, "\(found.text)")
                #expect(found.contentType == "application/fhir+json")
                #expect(found.json.string("type") == "searchset")
                #expect(found.json["total"] as? Int == 2)
                #expect(found.ids == [fhirID(first.id), fhirID(waiting.id)], "\(query)")
            }
            let byRecordNumber = try await hub.get(
                "/fhir/R4/Task?patient=urn:alliancehub:mrn:hs-clinic%7CHS-0042", token: people.clinicToken)
            // Every exam carries the clinic's record number, but the index holds it for the first patient: the exam of
            // another resident ID under it is someone else's, and is left out.
            #expect(
                byRecordNumber.ids.sorted() == [fhirID(first.id), fhirID(waiting.id)].sorted(), "\(byRecordNumber.text)"
            )

            let byAccession = try await hub.get(
                "/fhir/R4/ServiceRequest?identifier=urn:alliancehub:accession%7C\(other.accession)",
                token: people.residentToken)
            #expect(byAccession.ids == [fhirID(other.id)])
            let entry = try #require(byAccession.json.objects("entry").first)
            #expect(entry.string("fullUrl")?.hasSuffix("/fhir/R4/ServiceRequest/\(fhirID(other.id))") == true)
            #expect(entry.string("fullUrl")?.hasPrefix("http://") == true)
            documents["bundle-service-request"] = byAccession.body
            let foreign = try await hub.get(
                "/fhir/R4/ServiceRequest?identifier=urn:other%7C\(other.accession)", token: people.clinicToken)
            #expect(foreign.ids.isEmpty)
            #expect(foreign.json["total"] as? Int == 0)

            let active = try await hub.get("/fhir/R4/ServiceRequest?status=active", token: people.clinicToken)
            #expect(Set(active.ids) == [fhirID(waiting.id), fhirID(other.id)])
            let completed = try await hub.get(
                "/fhir/R4/ServiceRequest?status=completed&patient=\(zhang)", token: people.clinicToken)
            #expect(completed.ids == [fhirID(first.id)])

            let inProgress = try await hub.get("/fhir/R4/Task?status=in-progress", token: people.residentToken)
            #expect(inProgress.ids == [fhirID(other.id)])
            let awaiting = try await hub.get(
                "/fhir/R4/Task?business-status=awaiting-verification,waiting", token: people.residentToken)
            #expect(Set(awaiting.ids) == [fhirID(other.id), fhirID(waiting.id)])
            documents["bundle-task"] = awaiting.body

            // A correction: the search gives the latest version, and the final one when asked for by status.
            let corrected = try await hub.call(
                .post, "/v1/exams/\(first.id)/amend", token: people.secondAttendingToken,
                json: ["findings": "右肺下叶结节约6mm。", "conclusion": "右肺下叶小结节。", "reason": "测量更正", "correction": true])
            #expect(corrected.status == 200, "\(corrected.text)")
            let reports = try await hub.get("/fhir/R4/DiagnosticReport?patient=\(zhang)", token: people.clinicToken)
            #expect(reports.ids == ["\(fhirID(first.id))-2"])
            #expect(reports.resources.first?.string("status") == "corrected")
            let finals = try await hub.get("/fhir/R4/DiagnosticReport?status=final", token: people.clinicToken)
            #expect(finals.ids == ["\(fhirID(first.id))-1"])
            let partial = try await hub.get("/fhir/R4/DiagnosticReport?status=partial", token: people.residentToken)
            #expect(partial.ids == ["\(fhirID(other.id))-1"])
            let both = try await hub.get(
                "/fhir/R4/DiagnosticReport?status=final,corrected", token: people.clinicToken)
            #expect(both.ids == ["\(fhirID(first.id))-1", "\(fhirID(first.id))-2"])
            documents["bundle-reports"] = both.body
            let version2 = try await hub.get(
                "/fhir/R4/DiagnosticReport/\(fhirID(first.id))-2", token: people.clinicToken)
            #expect(version2.json.string("status") == "corrected")
            #expect(
                version2.json.objects("resultsInterpreter").count == 1,
                "an amendment's author signs it: one interpreter")
            documents["diagnostic-report-corrected"] = version2.body

            // Pages: _count, a next link without a total, and the rest behind it.
            let page1 = try await hub.get("/fhir/R4/ServiceRequest?_count=2", token: people.clinicToken)
            #expect(page1.ids == [fhirID(first.id), fhirID(waiting.id)])
            #expect(page1.json["total"] == nil)
            let next = try #require(
                page1.json.objects("link").first { $0.string("relation") == "next" }?.string("url"))
            let start = try #require(next.range(of: "/fhir/R4/"))
            let path = String(next[start.lowerBound...])
            #expect(path.contains("_count=2"))
            let page2 = try await hub.get(path, token: people.clinicToken)
            #expect(page2.ids == [fhirID(other.id)])
            #expect(page2.json.objects("link").contains { $0.string("relation") == "next" } == false)

            let badStatus = try await hub.get("/fhir/R4/ServiceRequest?status=finished", token: people.clinicToken)
            #expect(badStatus.status == 422)
            #expect(badStatus.contentType == "application/fhir+json")
            #expect(badStatus.issue.string("code") == "invalid")
            #expect(badStatus.issue.string("diagnostics")?.contains("status") == true)
            documents["operation-outcome-invalid"] = badStatus.body
            let badCount = try await hub.get("/fhir/R4/Task?_count=0", token: people.clinicToken)
            #expect(badCount.status == 422)
            try await FHIRValidator.validate(documents)
        }
    }

    @Test func accessFollowsTheRESTRules() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            try await hub.institution("other-clinic", level: "primary", region: "420115", alliances: ["wh-east"])
            let (_, otherClinic) = try await hub.practitioner(at: "other-clinic", roles: ["clinic"])
            let (_, clinician) = try await hub.practitioner(at: "wh-xiehe", roles: ["clinician"])
            let patient = residentID()
            let exam = try await hub.readExam(people, patient: patient)
            let id = fhirID(exam.id)
            var documents: [String: Data] = [:]

            for path in ["ServiceRequest/\(id)", "Task/\(id)", "DiagnosticReport/\(id)-1"] {
                let denied = try await hub.get("/fhir/R4/\(path)", token: otherClinic)
                #expect(denied.status == 403, "\(path): \(denied.text)")
                #expect(denied.contentType == "application/fhir+json")
                #expect(denied.json.string("resourceType") == "OperationOutcome")
                #expect(denied.issue.string("severity") == "error")
                #expect(denied.issue.string("code") == "forbidden")
                documents["forbidden"] = denied.body
            }
            let hidden = try await hub.get("/fhir/R4/ServiceRequest?patient=\(patient)", token: otherClinic)
            #expect(hidden.status == 200)
            #expect(hidden.ids.isEmpty, "another clinic's exams are left out")
            let hiddenByAccession = try await hub.get(
                "/fhir/R4/Task?identifier=\(exam.accession)", token: otherClinic)
            #expect(hiddenByAccession.ids.isEmpty)
            let noRole = try await hub.get("/fhir/R4/Task", token: clinician)
            #expect(noRole.status == 403)
            #expect(noRole.issue.string("code") == "forbidden")

            for path in [
                "ServiceRequest/exm-00000000000000000000000000", "Task/not_an-exam-id", "DiagnosticReport/\(id)-9",
                "DiagnosticReport/\(id)",
            ] {
                let missing = try await hub.get("/fhir/R4/\(path)", token: people.clinicToken)
                #expect(missing.status == 404, "\(path): \(missing.text)")
                #expect(missing.contentType == "application/fhir+json")
                #expect(missing.issue.string("code") == "not-found")
                let details = missing.issue.object("details")?.objects("coding").first
                #expect(details?.string("code") == "not_found")
                documents["not-found"] = missing.body
            }

            let anonymous = try await hub.get("/fhir/R4/ServiceRequest/\(id)")
            #expect(anonymous.status == 401)
            #expect(anonymous.contentType == "application/fhir+json")
            #expect(anonymous.issue.string("code") == "login")
            #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let badToken = try await hub.get("/fhir/R4/Task?patient=\(patient)", token: "hub_not-a-real-token-at-all")
            #expect(badToken.status == 401)
            documents["unauthorized"] = anonymous.body

            let metadata = try await hub.get("/fhir/R4/metadata")
            #expect(metadata.status == 200, "\(metadata.text)")
            #expect(metadata.contentType == "application/fhir+json")
            let statement = metadata.json
            #expect(statement.string("resourceType") == "CapabilityStatement")
            #expect(statement.string("status") == "active")
            #expect(statement.string("kind") == "instance")
            #expect(statement.string("fhirVersion") == "4.0.1")
            #expect(statement["format"] as? [String] == ["json"])
            let rest = try #require(statement.objects("rest").first)
            #expect(rest.string("mode") == "server")
            let resources = rest.objects("resource")
            #expect(
                resources.compactMap { $0.string("type") } == [
                    "ServiceRequest", "Task", "DiagnosticReport", "Observation", "ImagingStudy", "Patient",
                ])
            for resource in resources {
                #expect(resource.objects("interaction").compactMap { $0.string("code") } == ["read", "search-type"])
                let names = Set(resource.objects("searchParam").compactMap { $0.string("name") })
                if resource.string("type") == "Patient" {
                    // IHE PDQm's parameters, and PIXm's operation.
                    #expect(names.isSuperset(of: ["identifier", "family", "given", "birthdate", "gender"]))
                    #expect(resource.objects("operation").compactMap { $0.string("name") } == ["ihe-pix"])
                    continue
                }
                #expect(names.isSuperset(of: ["patient", "status"]))
                if ["ServiceRequest", "Task", "DiagnosticReport"].contains(resource.string("type")) {
                    #expect(names.contains("identifier"), "exam views are found by accession number")
                }
            }
            documents["capability-statement"] = metadata.body
            try await FHIRValidator.validate(documents)
        }
    }

    @Test func everyReadAndSearchIsAudited() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let patient = residentID()
            let exam = try await hub.readExam(people, patient: patient)
            let id = fhirID(exam.id)
            let key = hub.env.patientKeys.key(for: PatientIdentifier(system: "cn-resident-id", value: patient))
            #expect(try await hub.get("/fhir/R4/ServiceRequest/\(id)", token: people.clinicToken).status == 200)
            #expect(try await hub.get("/fhir/R4/DiagnosticReport/\(id)-1", token: people.clinicToken).status == 200)
            #expect(try await hub.get("/fhir/R4/Task?patient=\(patient)", token: people.residentToken).status == 200)
            #expect(try await hub.get("/fhir/R4/metadata").status == 200)
            let records = try await hub.database.read {
                try AuditLog.records($0, after: nil, limit: 500).items
            }
            let fhir = records.filter { $0.action.hasPrefix("fhir.") }
            #expect(
                fhir.map(\.action) == ["fhir.read", "fhir.read", "fhir.search"],
                "metadata holds no patient data and is not audited")
            #expect(fhir.map(\.detail) == ["ServiceRequest/\(id)", "DiagnosticReport/\(id)-1", "count=1"])
            #expect(fhir.allSatisfy { $0.patientKey != nil })
            #expect(fhir.last?.patientKey == key)
            #expect(fhir.first?.targetId == exam.id)
        }
    }
}
