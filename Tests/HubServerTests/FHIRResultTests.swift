import Foundation
import HubCore
import Testing

/// The FHIR R4 views of the results registry: `Observation` per lab value, `DiagnosticReport` per result, the
/// recognition extension, and `ImagingStudy` of an exam's DICOM files.
@Suite struct FHIRResultTests {
    static let start = Timestamp(rfc3339: "2026-06-01T08:00:00+08:00")!
    static let recognitionURL = "https://alliancehub.invalid/fhir/StructureDefinition/recognition"

    /// A potassium result with one value, and a glucose result whose values show every value shape.
    static func register(
        _ hub: HubClient, _ setup: RecognitionSetup, patient: String
    ) async throws -> (
        potassium: [String: Any], glucose: [String: Any]
    ) {
        let potassium = try await hub.call(
            .post, "/v1/results", token: setup.lab,
            json: RecognitionSetup.result(patient: patient, item: "K", performedAt: start.adding(days: -2)))
        try #require(potassium.status == 201, "\(potassium.text)")
        var body = RecognitionSetup.result(patient: patient, item: "GLU", performedAt: start.adding(days: -1))
        body["values"] = [
            ["loinc": "2345-7", "value": "7.8", "unit": "mmol/L", "reference_range": "3.9-6.1", "flag": "H"],
            ["code": "GLU-NOTE", "value": "阴性"],
            ["loinc": "41653-7", "value": "12", "unit": "×10^9/L", "flag": "HH"],
        ]
        body["findings"] = "空腹血糖升高"
        let glucose = try await hub.call(.post, "/v1/results", token: setup.lab, json: body)
        try #require(glucose.status == 201, "\(glucose.text)")
        return (potassium.json, glucose.json)
    }

    @Test func labResultsReadAsObservationsAndADiagnosticReport() async throws {
        let clock = TestClock(Self.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let patient = residentID(sequence: "061")
            let (potassium, glucose) = try await Self.register(hub, setup, patient: patient)
            let kId = try #require(potassium["id"] as? String)
            let gluId = try #require(glucose["id"] as? String)
            var documents: [String: Data] = [:]

            // The single potassium value takes the catalog item's LOINC code.
            let k = try await hub.get("/fhir/R4/Observation/\(fhir(kId))-0", token: setup.clinician)
            #expect(k.status == 200, "\(k.text)")
            #expect(k.contentType == "application/fhir+json")
            documents["observation-k"] = k.body
            let o = k.json
            #expect(o["status"] as? String == "final")
            #expect(
                o.codings("code").contains {
                    $0["system"] as? String == "http://loinc.org" && $0["code"] as? String == "2823-3"
                })
            #expect(
                o.codings("code").contains {
                    $0["system"] as? String == "urn:alliancehub:catalog" && $0["code"] as? String == "K"
                })
            let quantity = try #require(o["valueQuantity"] as? [String: Any])
            #expect((quantity["value"] as? NSNumber)?.doubleValue == 4.1)
            #expect(quantity["system"] as? String == "http://unitsofmeasure.org")
            #expect(quantity["code"] as? String == "mmol/L")
            #expect((o["referenceRange"] as? [[String: Any]])?.first?["text"] as? String == "3.5-5.3")
            #expect(o.firstCoding("interpretation")?["code"] as? String == "N")
            #expect(o.firstCoding("category")?["code"] as? String == "laboratory")
            let subject = try #require(o["subject"] as? [String: Any])
            #expect((subject["identifier"] as? [String: Any])?["value"] as? String == patient)
            #expect((subject["identifier"] as? [String: Any])?["system"] as? String == "urn:oid:2.16.156.10011.1.3")
            #expect(o["effectiveDateTime"] as? String == potassium["performed_at"] as? String)
            #expect((o["performer"] as? [[String: Any]])?.first?["reference"] as? String == "Organization/wh-lab-host")

            // The extension says what the REST `recognition` block says.
            let rest = try #require(potassium["recognition"] as? [String: Any])
            let ext = try #require(o.recognition)
            #expect(ext["catalog-version"] as? String == rest["catalog_version"] as? String)
            #expect(ext["in-catalog"] as? Bool == rest["in_catalog"] as? Bool)
            #expect(ext["scope"] as? String == rest["scope"] as? String)
            #expect(ext["mark"] as? String == rest["mark"] as? String)
            #expect(ext["validity-days"] as? Int == rest["validity_days"] as? Int)
            let qualification = try #require(rest["qualification"] as? [String: Any])
            let summary = try #require(ext["qualification"] as? String)
            #expect(
                summary
                    == "\(qualification["type"] as? String ?? "?"), \(qualification["issuer"] as? String ?? "?"), "
                    + "\(qualification["valid_from"] as? String ?? "?")..\(qualification["valid_to"] as? String ?? "?")"
            )
            #expect(ext["catalog-version"] as? String == "2026.1")

            // Glucose: its own LOINC and a high flag; a text value; a number with a non-UCUM unit.
            let g0 = try await hub.get("/fhir/R4/Observation/\(fhir(gluId))-0", token: setup.lab)
            #expect(g0.json.codings("code").contains { $0["code"] as? String == "2345-7" })
            #expect(g0.json.firstCoding("interpretation")?["code"] as? String == "H")
            documents["observation-glu-0"] = g0.body
            let g1 = try await hub.get("/fhir/R4/Observation/\(fhir(gluId))-1", token: setup.lab)
            #expect(g1.json["valueString"] as? String == "阴性")
            #expect(!g1.json.codings("code").contains { $0["system"] as? String == "http://loinc.org" })
            documents["observation-glu-1"] = g1.body
            let g2 = try await hub.get("/fhir/R4/Observation/\(fhir(gluId))-2", token: setup.lab)
            #expect((g2.json["valueQuantity"] as? [String: Any])?["system"] == nil)
            #expect((g2.json["valueQuantity"] as? [String: Any])?["unit"] as? String == "×10^9/L")
            #expect(g2.json.firstCoding("interpretation")?["code"] as? String == "HH")
            documents["observation-glu-2"] = g2.body
            #expect(try await hub.get("/fhir/R4/Observation/\(fhir(gluId))-3", token: setup.lab).status == 404)

            // The result as a DiagnosticReport.
            let report = try await hub.get("/fhir/R4/DiagnosticReport/\(fhir(gluId))", token: setup.clinician)
            #expect(report.status == 200, "\(report.text)")
            documents["diagnostic-report-glu"] = report.body
            let r = report.json
            #expect(r["id"] as? String == fhir(gluId))
            #expect(r["status"] as? String == "final")
            #expect(r["conclusion"] as? String == "正常")
            #expect(r.firstCoding("category")?["code"] as? String == "LAB")
            #expect(r.firstCoding("code")?["code"] as? String == "GLU")
            #expect(r["effectiveDateTime"] as? String == glucose["performed_at"] as? String)
            #expect(
                (r["result"] as? [[String: Any]])?.compactMap { $0["reference"] as? String }
                    == (0..<3).map { "Observation/\(fhir(gluId))-\($0)" })
            #expect(r.recognition?["in-catalog"] as? Bool == true)

            try await FHIRValidator.validate(documents)
        }
    }

    @Test func searchesByPatientCodeAndStatus() async throws {
        let clock = TestClock(Self.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let patient = residentID(sequence: "062")
            let other = residentID(sequence: "063")
            let (potassium, glucose) = try await Self.register(hub, setup, patient: patient)
            _ = try await Self.register(hub, setup, patient: other)
            let kId = try #require(potassium["id"] as? String)
            let gluId = try #require(glucose["id"] as? String)
            var documents: [String: Data] = [:]

            let all = try await hub.get("/fhir/R4/Observation?patient=\(patient)", token: setup.clinician)
            #expect(all.status == 200, "\(all.text)")
            #expect(all.json["total"] as? Int == 4)
            #expect(Set(all.entryIDs) == Set(["\(fhir(kId))-0"] + (0..<3).map { "\(fhir(gluId))-\($0)" }))
            documents["observations"] = all.body

            let system = "urn:oid:2.16.156.10011.1.3"
            let byLOINC = try await hub.get(
                "/fhir/R4/Observation?patient=\(system)%7C\(patient)&code=http://loinc.org%7C2345-7",
                token: setup.clinician)
            // 2345-7 is an equivalent code of the catalog item GLU: every value of the GLU result matches.
            #expect(byLOINC.entryIDs.count == 3, "\(byLOINC.text)")
            let byValueLOINC = try await hub.get(
                "/fhir/R4/Observation?patient=\(patient)&code=41653-7", token: setup.clinician)
            #expect(byValueLOINC.entryIDs == ["\(fhir(gluId))-2"], "\(byValueLOINC.text)")
            let byItemLOINC = try await hub.get(
                "/fhir/R4/Observation?patient=\(patient)&code=2823-3", token: setup.clinician)
            #expect(byItemLOINC.entryIDs == ["\(fhir(kId))-0"], "\(byItemLOINC.text)")
            let byItem = try await hub.get("/fhir/R4/Observation?patient=\(patient)&code=GLU", token: setup.clinician)
            #expect(byItem.entryIDs.count == 3)
            let preliminary = try await hub.get(
                "/fhir/R4/Observation?patient=\(patient)&status=preliminary", token: setup.clinician)
            #expect(preliminary.entryIDs.isEmpty)
            #expect(preliminary.json["total"] as? Int == 0)
            let noPatient = try await hub.get("/fhir/R4/Observation", token: setup.clinician)
            #expect(noPatient.status == 422 || noPatient.status == 400, "\(noPatient.text)")
            #expect((noPatient.json["resourceType"] as? String) == "OperationOutcome")

            // DiagnosticReport searches find the registry results: for a clinician, only those.
            let reports = try await hub.get("/fhir/R4/DiagnosticReport?patient=\(patient)", token: setup.clinician)
            #expect(reports.status == 200, "\(reports.text)")
            #expect(Set(reports.entryIDs) == [fhir(kId), fhir(gluId)])
            documents["diagnostic-reports"] = reports.body
            let byCode = try await hub.get(
                "/fhir/R4/DiagnosticReport?patient=\(patient)&code=2823-3&status=final", token: setup.lab)
            #expect(byCode.status == 200, "\(byCode.text)")
            #expect(byCode.entryIDs == [fhir(kId)])
            let amended = try await hub.get(
                "/fhir/R4/DiagnosticReport?patient=\(patient)&status=amended", token: setup.lab)
            #expect(amended.entryIDs.isEmpty)

            // Reads and searches are audited.
            let audit = try await hub.get("/v1/audit?action=fhir.search", token: hub.admin)
            if audit.status == 200 { #expect(!audit.items.isEmpty) }

            try await FHIRValidator.validate(documents)
        }
    }

    @Test func aCallerWithoutAReadingRoleIsRefused() async throws {
        let clock = TestClock(Self.start)
        try await withHub(clock: { clock.read() }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let patient = residentID(sequence: "064")
            let (potassium, _) = try await Self.register(hub, setup, patient: patient)
            let kId = try #require(potassium["id"] as? String)
            for path in [
                "/fhir/R4/Observation/\(fhir(kId))-0", "/fhir/R4/Observation?patient=\(patient)",
                "/fhir/R4/DiagnosticReport/\(fhir(kId))", "/fhir/R4/DiagnosticReport?patient=\(patient)",
            ] {
                let denied = try await hub.get(path, token: setup.auditor)
                #expect(denied.status == 403, "\(path): \(denied.text)")
                #expect(denied.json["resourceType"] as? String == "OperationOutcome")
                let anonymous = try await hub.get(path)
                #expect(anonymous.status == 401, "\(path): \(anonymous.text)")
            }
        }
    }

    @Test func anExamWithADICOMFileIsAnImagingStudy() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let patient = residentID(sequence: "065")
            let submitted = try await hub.call(
                .post, "/v1/exams", token: people.clinicToken, json: Alliance.examBody(patientID: patient))
            #expect(submitted.status == 201, "\(submitted.text)")
            let examId = try #require(submitted["id"])
            let noFiles = try await hub.get("/fhir/R4/ImagingStudy/\(fhir(examId))", token: people.clinicToken)
            #expect(noFiles.status == 404, "\(noFiles.text)")
            let uploaded = try await hub.call(
                .post, "/v1/exams/\(examId)/attachments", token: people.clinicToken,
                raw: try ctFile(patientID: patient),
                contentType: "application/dicom")
            #expect(uploaded.status == 201, "\(uploaded.text)")

            let read = try await hub.call(
                .get, "/fhir/R4/ImagingStudy/\(fhir(examId))", token: people.residentToken,
                headers: ["Host": "hub.example.org:8443"])
            #expect(read.status == 200, "\(read.text)")
            let study = read.json
            #expect(study["status"] as? String == "available")
            let identifiers = (study["identifier"] as? [[String: Any]]) ?? []
            #expect(
                identifiers.contains {
                    $0["system"] as? String == "urn:dicom:uid"
                        && $0["value"] as? String == "urn:oid:1.2.826.0.1.3680043.10.1"
                })
            #expect(study["started"] as? String == "2026-11-22")
            #expect(study["numberOfSeries"] as? Int == 1)
            #expect(study["numberOfInstances"] as? Int == 1)
            let series = try #require((study["series"] as? [[String: Any]])?.first)
            #expect(series["uid"] as? String == "1.2.826.0.1.3680043.10.1.2")
            #expect((series["modality"] as? [String: Any])?["code"] as? String == "CT")
            #expect(
                (series["modality"] as? [String: Any])?["system"] as? String
                    == "http://dicom.nema.org/resources/ontology/DCM")
            let instance = try #require((series["instance"] as? [[String: Any]])?.first)
            #expect(instance["uid"] as? String == "1.2.826.0.1.3680043.10.1.1")
            #expect((instance["sopClass"] as? [String: Any])?["system"] as? String == "urn:ietf:rfc:3986")
            #expect((instance["sopClass"] as? [String: Any])?["code"] as? String == "urn:oid:1.2.840.10008.5.1.4.1.1.2")
            let reference = try #require((study["endpoint"] as? [[String: Any]])?.first?["reference"] as? String)
            let endpoint = try #require(
                (study["contained"] as? [[String: Any]])?.first { "#" + ($0["id"] as? String ?? "") == reference })
            #expect((endpoint["address"] as? String)?.hasSuffix("/dicomweb") == true, "\(endpoint)")
            #expect((endpoint["connectionType"] as? [String: Any])?["code"] as? String == "dicom-wado-rs")
            #expect(
                (endpoint["connectionType"] as? [String: Any])?["system"] as? String
                    == "http://terminology.hl7.org/CodeSystem/endpoint-connection-type")

            let search = try await hub.get("/fhir/R4/ImagingStudy?patient=\(patient)", token: people.clinicToken)
            #expect(search.status == 200, "\(search.text)")
            #expect(search.entryIDs == [fhir(examId)])

            try await FHIRValidator.validate(["imaging-study": read.body, "imaging-studies": search.body])
        }
    }
}

private func fhir(_ hubID: String) -> String { hubID.replacingOccurrences(of: "_", with: "-") }

extension Reply {
    /// The logical ids of a search Bundle's resources.
    fileprivate var entryIDs: [String] {
        ((json["entry"] as? [[String: Any]]) ?? []).compactMap { ($0["resource"] as? [String: Any])?["id"] as? String }
    }
}

extension [String: Any] {
    /// The codings of a CodeableConcept member (or of the first of a list of them).
    fileprivate func codings(_ key: String) -> [[String: Any]] {
        let concept = (self[key] as? [String: Any]) ?? (self[key] as? [[String: Any]])?.first
        return (concept?["coding"] as? [[String: Any]]) ?? []
    }

    fileprivate func firstCoding(_ key: String) -> [String: Any]? { codings(key).first }

    /// The recognition extension's sub-extensions, by url, to their value.
    fileprivate var recognition: [String: Any]? {
        guard
            let ext = (self["extension"] as? [[String: Any]])?.first(where: {
                $0["url"] as? String == FHIRResultTests.recognitionURL
            })
        else { return nil }
        var values: [String: Any] = [:]
        for part in (ext["extension"] as? [[String: Any]]) ?? [] {
            guard let url = part["url"] as? String else { continue }
            values[url] = part.first { $0.key.hasPrefix("value") }?.value
        }
        return values
    }
}
