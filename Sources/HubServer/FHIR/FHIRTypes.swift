import HubCore

// The few FHIR R4 (4.0.1) data types the hub's read views need, as plain Codable structs. Optional members that are
// nil are left out of the JSON, as FHIR requires (no `null`s, no empty arrays or objects).

/// `Coding`.
struct FHIRCoding: Codable, Sendable, Equatable {
    var system: String?
    var code: String?
    var display: String?
}

/// `CodeableConcept`.
struct FHIRCodeableConcept: Codable, Sendable, Equatable {
    var coding: [FHIRCoding]?
    var text: String?
}

/// `Identifier`.
struct FHIRIdentifier: Codable, Sendable, Equatable {
    var type: FHIRCodeableConcept?
    var system: String?
    var value: String?
}

/// `Reference`: a literal reference (`Organization/<id>`) or a logical one (an identifier).
struct FHIRReference: Codable, Sendable, Equatable {
    var reference: String?
    var type: String?
    var identifier: FHIRIdentifier?
    var display: String?
}

/// `Period`.
struct FHIRPeriod: Codable, Sendable, Equatable {
    var start: String?
    var end: String?
}

/// `Narrative`: `div` is XHTML in the XHTML namespace.
struct FHIRNarrative: Codable, Sendable, Equatable {
    var status: String
    var div: String
}

/// `Meta`.
struct FHIRMeta: Codable, Sendable, Equatable {
    var lastUpdated: String?
}

/// `OperationOutcome`: what every FHIR route answers on an error.
struct FHIROperationOutcome: Codable, Sendable, Equatable {
    struct Issue: Codable, Sendable, Equatable {
        /// `fatal`, `error`, `warning`, `information`.
        var severity: String
        /// A code of http://hl7.org/fhir/issue-type (`not-found`, `forbidden`, `invalid`, ...).
        var code: String
        /// The hub's stable problem code (as in `application/problem+json`) and its title.
        var details: FHIRCodeableConcept?
        var diagnostics: String?
    }

    var resourceType = "OperationOutcome"
    var issue: [Issue]
}

/// A resource the hub serves: its type and logical id make its URL.
protocol FHIRResource: Codable, Sendable {
    var resourceType: String { get }
    var id: String { get }
}

/// `Bundle` of type `searchset`: the answer to every FHIR search.
struct FHIRBundle<Resource: Codable & Sendable>: Codable, Sendable {
    struct Link: Codable, Sendable, Equatable {
        var relation: String
        var url: String
    }

    struct Search: Codable, Sendable, Equatable {
        var mode: String
    }

    struct Entry: Codable, Sendable {
        var fullUrl: String
        var resource: Resource
        var search: Search?
    }

    var resourceType = "Bundle"
    var type = "searchset"
    /// The number of matches; left out when the answer is one page of several (see `FHIRController`).
    var total: Int?
    var link: [Link]?
    var entry: [Entry]?
}

/// Identifiers, code systems and naming systems the hub's FHIR views use, in one place.
enum FHIRSystem {
    /// 患者身份证号标识: the OID that China's health information standards (WS/T 500 shared documents, and FHIR
    /// implementations in China after them) give the resident identity card number. The hub's own name for it is
    /// `cn-resident-id`.
    static let residentID = "urn:oid:2.16.156.10011.1.3"
    /// The medical-insurance number (`cn-medical-insurance`); no national naming system is assigned, so a hub URN.
    static let medicalInsurance = "urn:alliancehub:cn-medical-insurance"
    /// A hospital record number `mrn:<institution-id>` becomes `urn:alliancehub:mrn:<institution-id>`.
    static let mrnPrefix = "urn:alliancehub:mrn:"
    /// Any other identifier system the hub keeps as an opaque string, percent-encoded after this prefix.
    static let otherPrefix = "urn:alliancehub:identifier-system:"
    /// The exam's accession number (a DICOM Accession Number).
    static let accession = "urn:alliancehub:accession"
    /// The hub's recognition catalog: `code` is the item code, `display` its name.
    static let catalog = "urn:alliancehub:catalog"
    /// The local remote-reading step of an exam (`ExamStep` raw values), as `Task.businessStatus`.
    static let taskBusinessStatus = "urn:alliancehub:task-business-status"
    /// The hub's stable problem codes (`not_found`, `forbidden`, ...), in `OperationOutcome.issue.details`.
    static let problemCode = "urn:alliancehub:problem-code"
    /// HL7 v2 table 0203 (identifier types): `ACSN` is an accession number.
    static let identifierType = "http://terminology.hl7.org/CodeSystem/v2-0203"
    /// HL7 v2 table 0074 (diagnostic service section), the code system of `DiagnosticReport.category`.
    static let diagnosticService = "http://terminology.hl7.org/CodeSystem/v2-0074"
    /// FHIR's task codes (`fulfill`).
    static let taskCode = "http://hl7.org/fhir/CodeSystem/task-code"

    /// The FHIR `Identifier.system` URI of a hub patient identifier system.
    static func patient(_ hubSystem: String) -> String {
        switch hubSystem {
        case PatientIdentifier.residentID: return residentID
        case PatientIdentifier.medicalInsurance: return medicalInsurance
        default:
            if hubSystem.hasPrefix("mrn:") { return mrnPrefix + hubSystem.dropFirst(4) }
            return otherPrefix + percentEncoded(hubSystem)
        }
    }

    /// The hub system of a FHIR `Identifier.system`; a hub system name given as is stays as it is.
    static func hub(fromFHIR system: String) -> String {
        switch system {
        case residentID: return PatientIdentifier.residentID
        case medicalInsurance: return PatientIdentifier.medicalInsurance
        default:
            if system.hasPrefix(mrnPrefix) { return "mrn:" + system.dropFirst(mrnPrefix.count) }
            if system.hasPrefix(otherPrefix) { return percentDecoded(String(system.dropFirst(otherPrefix.count))) }
            return system
        }
    }

    /// RFC 3986 percent-encoding of everything but the unreserved ASCII characters.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 15)])
            }
        }
        return out
    }

    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// FHIR logical ids. A FHIR id is 1 to 64 of `A-Z a-z 0-9 - .`, while hub ids may also hold `_` (generated ids are
/// `exm_…`, `prc_…`), so every `_` becomes `-`: exam `exm_0j5…` is `ServiceRequest/exm-0j5…` and `Task/exm-0j5…`,
/// and its report version 2 is `DiagnosticReport/exm-0j5…-2`.
enum FHIRID {
    /// The FHIR id of a hub record.
    static func of(_ hubID: String) -> String {
        String(hubID.map { $0 == "_" ? "-" : $0 })
    }

    /// The FHIR id of one report version of an exam.
    static func report(examId: String, version: Int) -> String {
        of(examId) + "-" + String(version)
    }

    /// The hub exam id a FHIR id names. Generated exam ids are a prefix, `_` and base-32 characters, never `-`,
    /// so the first `-` is the `_`; the hub form itself is accepted too. Nil when it cannot be an exam id.
    static func examId(_ fhirID: String) -> String? {
        guard ResourceID.isValid(fhirID) else { return nil }
        if fhirID.contains("_") { return fhirID }
        guard let dash = fhirID.firstIndex(of: "-") else { return nil }
        var id = fhirID
        id.replaceSubrange(dash...dash, with: "_")
        return id.contains("-") ? nil : id
    }

    /// The exam id and version a `DiagnosticReport` id names (`<exam id>-<version>`).
    static func reportVersion(_ fhirID: String) -> (examId: String, version: Int)? {
        guard let dash = fhirID.lastIndex(of: "-") else { return nil }
        let digits = fhirID[fhirID.index(after: dash)...]
        guard (1...9).contains(digits.count), digits.allSatisfy({ ("0"..."9").contains($0) }),
            let version = Int(digits), version > 0, let examId = examId(String(fhirID[..<dash]))
        else { return nil }
        return (examId, version)
    }
}
