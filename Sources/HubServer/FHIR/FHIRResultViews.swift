import Foundation
import HubCore
import HubStorage

// FHIR R4 (4.0.1) views of the results registry (`ResultRecord`) and of an exam's DICOM study: pure functions, no
// database and no clock (what they need from elsewhere, the catalog item's LOINC code or the hub's base URL, is
// passed in).
//
// - `Observation/<result>-<index>`: one lab value of a result, `index` counting from 0 in the result's `values`
//   (so `Observation/res-0j5…-0` is `values[0]` of result `res_0j5…`).
// - `DiagnosticReport/<result>`: a registry result that did not come from an exam (`res-0j5…`). A result with an
//   `exam_id` is already served as the exam's `DiagnosticReport/<exam>-<version>`, which carries its recognition.
// - `ImagingStudy/<exam>`: the DICOM study of an exam's attachments.
//
// Every result view carries the recognition extension (`FHIRRecognition`). What is recognized is the images and
// data; the conclusion (the physician's opinion) is `DiagnosticReport.conclusion` and is never part of what the
// extension marks as recognized.

/// `Extension`, simple (one `value[x]`) or complex (sub-extensions).
struct FHIRExtension: Codable, Sendable, Equatable {
    var url: String
    var valueString: String?
    var valueBoolean: Bool?
    var valueInteger: Int?
    var valueCode: String?
    var `extension`: [FHIRExtension]?
}

/// `Quantity`.
struct FHIRQuantity: Codable, Sendable, Equatable {
    var value: Decimal
    var unit: String?
    var system: String?
    var code: String?
}

/// `Observation`.
struct FHIRObservation: Codable, Sendable {
    struct ReferenceRange: Codable, Sendable, Equatable {
        var text: String
    }

    var resourceType = "Observation"
    var id: String
    var meta: FHIRMeta?
    var `extension`: [FHIRExtension]?
    var identifier: [FHIRIdentifier]?
    var basedOn: [FHIRReference]?
    var status: String
    var category: [FHIRCodeableConcept]?
    var code: FHIRCodeableConcept
    var subject: FHIRReference?
    var effectiveDateTime: String?
    var issued: String?
    var performer: [FHIRReference]?
    var valueQuantity: FHIRQuantity?
    var valueString: String?
    var interpretation: [FHIRCodeableConcept]?
    var referenceRange: [ReferenceRange]?
}

/// `Endpoint`, contained in an `ImagingStudy`.
struct FHIREndpoint: Codable, Sendable {
    var resourceType = "Endpoint"
    var id: String
    var status: String
    var connectionType: FHIRCoding
    var name: String?
    var payloadType: [FHIRCodeableConcept]
    var payloadMimeType: [String]?
    var address: String
}

/// `ImagingStudy`.
struct FHIRImagingStudy: Codable, Sendable {
    struct Series: Codable, Sendable {
        var uid: String
        var modality: FHIRCoding
        var numberOfInstances: Int
        var instance: [Instance]
    }

    struct Instance: Codable, Sendable {
        var uid: String
        var sopClass: FHIRCoding
    }

    var resourceType = "ImagingStudy"
    var id: String
    var meta: FHIRMeta?
    var contained: [FHIREndpoint]?
    var `extension`: [FHIRExtension]?
    var identifier: [FHIRIdentifier]?
    var status: String
    var modality: [FHIRCoding]?
    var subject: FHIRReference
    var started: String?
    var basedOn: [FHIRReference]?
    var endpoint: [FHIRReference]?
    var numberOfSeries: Int
    var numberOfInstances: Int
    var procedureCode: [FHIRCodeableConcept]?
    var series: [Series]?
}

extension FHIRObservation: FHIRResource {}
extension FHIRImagingStudy: FHIRResource {}

/// The recognition extension: the recognition metadata the hub derived when the result was registered, exactly the
/// REST API's `recognition` block (`catalog_version`, `in_catalog`, `scope`, `mark`, `validity_days`,
/// `qualification`). It describes the images and data of the result; the conclusion is never part of what is
/// recognized. Documented in `README.md` next to this file.
enum FHIRRecognition {
    static let url = "https://alliancehub.invalid/fhir/StructureDefinition/recognition"

    static func `extension`(_ recognition: RecognitionMetadata) -> FHIRExtension {
        var parts: [FHIRExtension] = []
        if let version = recognition.catalogVersion {
            parts.append(FHIRExtension(url: "catalog-version", valueString: version))
        }
        parts.append(FHIRExtension(url: "in-catalog", valueBoolean: recognition.inCatalog))
        if let scope = recognition.scope { parts.append(FHIRExtension(url: "scope", valueCode: scope.rawValue)) }
        if let mark = recognition.mark, !mark.isEmpty { parts.append(FHIRExtension(url: "mark", valueString: mark)) }
        if let days = recognition.validityDays { parts.append(FHIRExtension(url: "validity-days", valueInteger: days)) }
        if let qualification = recognition.qualification {
            parts.append(FHIRExtension(url: "qualification", valueString: summary(qualification)))
        }
        return FHIRExtension(url: url, extension: parts)
    }

    /// `<type>, <issuer>, <valid_from>..<valid_to>`, e.g. `nccl-eqa, NCCL, 2026-01-01..2027-12-31`.
    static func summary(_ qualification: Qualification) -> String {
        "\(qualification.type.rawValue), \(qualification.issuer), \(qualification.validFrom)..\(qualification.validTo)"
    }
}

extension FHIRSystem {
    static let loinc = "http://loinc.org"
    static let ucum = "http://unitsofmeasure.org"
    static let interpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    static let observationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
    /// A registry result's id.
    static let result = "urn:alliancehub:result"
    static let dicomUID = "urn:dicom:uid"
    static let dicomModality = "http://dicom.nema.org/resources/ontology/DCM"
    static let uri = "urn:ietf:rfc:3986"
    static let endpointConnectionType = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
}

extension FHIRID {
    /// The hub id a FHIR id names, for any generated id (`<prefix>_<base-32>`): see `examId`.
    static func hubId(_ fhirID: String) -> String? { examId(fhirID) }

    /// The result id and value index an `Observation` id names (`<result>-<index>`).
    static func observation(_ fhirID: String) -> (resultId: String, index: Int)? {
        guard let dash = fhirID.lastIndex(of: "-") else { return nil }
        let digits = fhirID[fhirID.index(after: dash)...]
        guard (1...4).contains(digits.count), digits.allSatisfy({ ("0"..."9").contains($0) }),
            let index = Int(digits), let resultId = hubId(String(fhirID[..<dash])), resultId.hasPrefix("res_")
        else { return nil }
        return (resultId, index)
    }

    static func observation(resultId: String, index: Int) -> String { of(resultId) + "-" + String(index) }
}

extension FHIRViews {
    /// Every `Observation.status` code of R4.
    static let observationStatuses: Set<String> = [
        "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown",
    ]
    /// Every `ImagingStudy.status` code of R4.
    static let imagingStudyStatuses: Set<String> = [
        "registered", "available", "cancelled", "entered-in-error", "unknown",
    ]

    // MARK: Observation

    /// `Observation.status` of a result's report status: a partial or preliminary report is `preliminary`.
    static func observationStatus(_ status: ReportStatus) -> String {
        switch status {
        case .partial, .preliminary: "preliminary"
        case .final: "final"
        case .amended: "amended"
        case .corrected: "corrected"
        case .cancelled: "cancelled"
        case .enteredInError: "entered-in-error"
        }
    }

    /// Every lab value of a result as an `Observation`. `itemLOINC` is the catalog item's LOINC code, used for a
    /// value without its own when the result has a single value (a panel's code does not name each analyte).
    static func observations(_ result: ResultRecord, itemLOINC: String?) -> [FHIRObservation] {
        result.values.indices.map { observation(result, index: $0, itemLOINC: itemLOINC) }
    }

    static func observation(_ result: ResultRecord, index: Int, itemLOINC: String?) -> FHIRObservation {
        let value = result.values[index]
        var coding: [FHIRCoding] = []
        if let loinc = observationLOINC(result, index: index, itemLOINC: itemLOINC) {
            coding.append(FHIRCoding(system: FHIRSystem.loinc, code: loinc))
        }
        coding.append(FHIRCoding(system: FHIRSystem.catalog, code: result.itemCode, display: result.itemName))
        var observation = FHIRObservation(
            id: FHIRID.observation(resultId: result.id, index: index),
            meta: FHIRMeta(lastUpdated: result.createdAt.description),
            extension: [FHIRRecognition.extension(result.recognition)],
            basedOn: result.examId.map { [FHIRReference(reference: "ServiceRequest/" + FHIRID.of($0))] },
            status: observationStatus(result.reportStatus),
            category: [
                FHIRCodeableConcept(coding: [
                    FHIRCoding(system: FHIRSystem.observationCategory, code: "laboratory", display: "Laboratory")
                ])
            ],
            code: FHIRCodeableConcept(coding: coding, text: value.code ?? result.itemName ?? result.itemCode),
            subject: patient(result.patient), effectiveDateTime: result.performedAt.description,
            issued: result.createdAt.description, performer: [organization(result.institutionId)])
        if let quantity = quantity(value) {
            observation.valueQuantity = quantity
        } else {
            observation.valueString = value.unit.map { value.value + " " + $0 } ?? value.value
        }
        if let flag = value.flag, let concept = interpretation(flag) { observation.interpretation = [concept] }
        if let range = value.referenceRange, !range.isEmpty { observation.referenceRange = [.init(text: range)] }
        return observation
    }

    /// The LOINC code of one value: its own, else the catalog item's when the result has that single value.
    static func observationLOINC(_ result: ResultRecord, index: Int, itemLOINC: String?) -> String? {
        if let own = result.values[index].loinc, !own.isEmpty { return own }
        return result.values.count == 1 ? itemLOINC : nil
    }

    /// A number with a unit; the unit is coded in UCUM when it looks like a UCUM expression.
    static func quantity(_ value: LabValue) -> FHIRQuantity? {
        guard let unit = value.unit?.trimmingWhitespace(), !unit.isEmpty else { return nil }
        let text = value.value.trimmingWhitespace()
        guard isDecimal(text), let number = Decimal(string: text) else { return nil }
        let ucum = isUCUMLike(unit)
        return FHIRQuantity(
            value: number, unit: unit, system: ucum ? FHIRSystem.ucum : nil, code: ucum ? unit : nil)
    }

    /// A FHIR decimal: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 30 characters.
    static func isDecimal(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "-" { rest = rest.dropFirst() }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard text.count <= 30, (1...2).contains(parts.count) else { return false }
        let digits = { (part: Substring) in !part.isEmpty && part.allSatisfy { ("0"..."9").contains($0) } }
        guard digits(parts[0]), parts[0] == "0" || parts[0].first != "0" else { return false }
        return parts.count == 1 || digits(parts[1])
    }

    /// Printable ASCII of the UCUM syntax (letters, digits, `. / * % [ ] { } ( ) ' -` and `_`), no spaces, no `^`.
    static func isUCUMLike(_ unit: String) -> Bool {
        unit.unicodeScalars.allSatisfy {
            $0.isASCII
                && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
                    || "./*%[]{}()'-_".unicodeScalars.contains($0))
        }
    }

    /// `Observation.interpretation` of a value's flag (v3 ObservationInterpretation); nil for another flag.
    static func interpretation(_ flag: String) -> FHIRCodeableConcept? {
        let display: String
        switch flag.uppercased() {
        case "H": display = "High"
        case "L": display = "Low"
        case "HH": display = "Critical high"
        case "LL": display = "Critical low"
        case "A": display = "Abnormal"
        case "N": display = "Normal"
        default: return nil
        }
        return FHIRCodeableConcept(
            coding: [FHIRCoding(system: FHIRSystem.interpretation, code: flag.uppercased(), display: display)])
    }

    // MARK: DiagnosticReport of a registry result

    /// A registry result that did not come from an exam, as a `DiagnosticReport` (id `res-…`). Its `conclusion` is
    /// the physician's opinion: it is never part of what is recognized, whatever the recognition extension says
    /// (that describes the images and data: the findings and the `result` Observations).
    static func diagnosticReport(_ result: ResultRecord) -> FHIRDiagnosticReport {
        FHIRDiagnosticReport(
            id: FHIRID.of(result.id), meta: FHIRMeta(lastUpdated: result.createdAt.description),
            text: result.findings.flatMap(narrative).map { FHIRNarrative(status: "additional", div: $0) },
            extension: [FHIRRecognition.extension(result.recognition)],
            identifier: [FHIRIdentifier(system: FHIRSystem.result, value: result.id)],
            status: result.reportStatus.rawValue, category: result.category.map { [category($0)] },
            code: FHIRCodeableConcept(
                coding: [FHIRCoding(system: FHIRSystem.catalog, code: result.itemCode, display: result.itemName)],
                text: result.itemName ?? result.itemCode),
            subject: patient(result.patient), effectiveDateTime: result.performedAt.description,
            issued: result.createdAt.description, performer: [organization(result.institutionId)],
            result: observationReferences(result),
            conclusion: result.conclusion)
    }

    /// References to a result's Observations, one per value; nil when it has none.
    static func observationReferences(_ result: ResultRecord) -> [FHIRReference]? {
        result.values.indices.map {
            FHIRReference(reference: "Observation/" + FHIRID.observation(resultId: result.id, index: $0))
        }.nilIfEmpty
    }

    /// `DiagnosticReport.category` of an item category (HL7 v2 table 0074).
    static func category(_ category: ItemCategory) -> FHIRCodeableConcept {
        let (code, display) =
            switch category {
            case .lab: ("LAB", "Laboratory")
            case .dr: ("RX", "Radiograph")
            case .ct: ("CT", "CAT Scan")
            case .mr: ("NMR", "Nuclear Magnetic Resonance")
            case .us: ("RUS", "Radiology Ultrasound")
            case .ecg: ("EC", "Electrocardiac (e.g., EKG, EEC, Holter)")
            case .pathology: ("SP", "Surgical Pathology")
            }
        return FHIRCodeableConcept(coding: [
            FHIRCoding(system: FHIRSystem.diagnosticService, code: code, display: display)
        ])
    }

    // MARK: ImagingStudy

    /// The DICOM study of an exam's attachments, nil when none is DICOM with a Study Instance UID. An exam holds one
    /// study; should its files name several, the study of the first file is served and the others are left out.
    /// `base` is the hub's base URL: the study's `Endpoint` is the hub's DICOMweb (WADO-RS) door at `<base>/dicomweb`.
    static func imagingStudy(
        _ exam: Exam, attachments: [Attachment], base: String, recognition: RecognitionMetadata?
    ) -> FHIRImagingStudy? {
        let files = attachments.compactMap(\.dicom).filter { !($0["study_instance_uid"] ?? "").isEmpty }
        guard let studyUID = files.first?["study_instance_uid"] else { return nil }
        let study = files.filter { $0["study_instance_uid"] == studyUID }
        var seriesOrder: [String] = []
        var bySeries: [String: [[String: String]]] = [:]
        for file in study {
            let uid = file["series_instance_uid"] ?? studyUID
            if bySeries[uid] == nil { seriesOrder.append(uid) }
            bySeries[uid, default: []].append(file)
        }
        let series = seriesOrder.map { uid -> FHIRImagingStudy.Series in
            let files = bySeries[uid]!
            var seen = Set<String>()
            let instances = files.compactMap { file -> FHIRImagingStudy.Instance? in
                guard let sop = file["sop_instance_uid"], !sop.isEmpty, seen.insert(sop).inserted else { return nil }
                return FHIRImagingStudy.Instance(
                    uid: sop,
                    sopClass: FHIRCoding(system: FHIRSystem.uri, code: "urn:oid:" + (file["sop_class_uid"] ?? "")))
            }
            let modality = files.compactMap { $0["modality"] }.first { !$0.isEmpty } ?? "OT"
            return FHIRImagingStudy.Series(
                uid: uid, modality: FHIRCoding(system: FHIRSystem.dicomModality, code: modality),
                numberOfInstances: instances.count, instance: instances)
        }
        var modalities: [String] = []
        for s in series where !modalities.contains(s.modality.code ?? "") { modalities.append(s.modality.code ?? "") }
        // The DICOMweb door (`/dicomweb`, WADO-RS) is not built yet: the endpoint names where it will answer.
        let endpoint = FHIREndpoint(
            id: "dicomweb", status: "active",
            connectionType: FHIRCoding(
                system: FHIRSystem.endpointConnectionType, code: "dicom-wado-rs", display: "DICOM WADO-RS"),
            name: "AllianceHub DICOMweb",
            payloadType: [
                FHIRCodeableConcept(
                    coding: [
                        FHIRCoding(
                            system: "http://terminology.hl7.org/CodeSystem/endpoint-payload-type", code: "any",
                            display: "Any")
                    ], text: "DICOM")
            ],
            payloadMimeType: ["application/dicom"], address: base + "/dicomweb")
        return FHIRImagingStudy(
            id: FHIRID.of(exam.id), meta: FHIRMeta(lastUpdated: exam.updatedAt.description), contained: [endpoint],
            extension: recognition.map { [FHIRRecognition.extension($0)] },
            identifier: [FHIRIdentifier(system: FHIRSystem.dicomUID, value: "urn:oid:" + studyUID), accession(exam)],
            status: "available",
            modality: modalities.map { FHIRCoding(system: FHIRSystem.dicomModality, code: $0) }.nilIfEmpty,
            subject: patient(exam), started: study.compactMap({ $0["study_date"] }).first.flatMap(dicomDate),
            basedOn: [FHIRReference(reference: "ServiceRequest/" + FHIRID.of(exam.id))],
            endpoint: [FHIRReference(reference: "#dicomweb")], numberOfSeries: series.count,
            numberOfInstances: series.reduce(0) { $0 + $1.numberOfInstances }, procedureCode: [item(exam)],
            series: series.nilIfEmpty)
    }

    /// A DICOM DA (`YYYYMMDD`) as a FHIR date; nil when it is not one.
    static func dicomDate(_ da: String) -> String? {
        let digits = Array(da.trimmingWhitespace())
        guard digits.count == 8, digits.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return String(digits[0..<4]) + "-" + String(digits[4..<6]) + "-" + String(digits[6..<8])
    }

    // MARK: Shared parts

    /// A patient by identifier: the first identifier given.
    static func patient(_ patient: Patient) -> FHIRReference {
        let first = patient.identifiers.first
        return FHIRReference(
            type: "Patient",
            identifier: first.map { FHIRIdentifier(system: FHIRSystem.patient($0.system), value: $0.value) },
            display: patient.name)
    }
}

extension Array {
    /// Nil for an empty array: FHIR allows no empty arrays.
    var nilIfEmpty: Self? { isEmpty ? nil : self }
}
