import HubCore

/// `CapabilityStatement`: what `GET /fhir/R4/metadata` answers.
struct FHIRCapabilityStatement: Codable, Sendable {
    struct Software: Codable, Sendable {
        var name: String
    }

    struct Implementation: Codable, Sendable {
        var description: String
    }

    struct Rest: Codable, Sendable {
        var mode: String
        var documentation: String?
        var security: Security?
        var resource: [Resource]
    }

    struct Security: Codable, Sendable {
        var description: String
    }

    struct Resource: Codable, Sendable {
        var type: String
        var documentation: String?
        var interaction: [Interaction]
        var searchParam: [SearchParam]
        var operation: [Operation]?
    }

    /// An operation on a resource type (`$ihe-pix`), by its name and definition.
    struct Operation: Codable, Sendable {
        var name: String
        var definition: String
        var documentation: String?
    }

    struct Interaction: Codable, Sendable {
        var code: String
    }

    struct SearchParam: Codable, Sendable {
        var name: String
        var definition: String?
        var type: String
        var documentation: String?
    }

    var resourceType = "CapabilityStatement"
    var name: String
    var title: String
    var status: String
    var date: String
    var description: String?
    var kind: String
    var software: Software
    var implementation: Implementation
    var fhirVersion: String
    var format: [String]
    var rest: [Rest]
}

extension FHIRViews {
    /// The search parameters each resource answers to, with how the hub reads them.
    static let searchParameters: [FHIRCapabilityStatement.SearchParam] = [
        .init(
            name: "patient", definition: "http://hl7.org/fhir/SearchParameter/clinical-patient", type: "reference",
            documentation:
                "A patient identifier as system|value (the hub's system names or their FHIR URIs, e.g. "
                + "urn:oid:2.16.156.10011.1.3|<resident ID>) or a bare resident ID; matches any identifier of the patient"
        ),
        .init(
            name: "identifier", definition: "http://hl7.org/fhir/SearchParameter/clinical-identifier", type: "token",
            documentation: "The accession number, bare or as \(FHIRSystem.accession)|<accession number>"),
        .init(
            name: "status", type: "token",
            documentation: "One status code, or several separated by commas (any of them matches)"),
    ]

    static let codeParameter = FHIRCapabilityStatement.SearchParam(
        name: "code", definition: "http://hl7.org/fhir/SearchParameter/clinical-code", type: "token",
        documentation:
            "The hub catalog item code or an equivalent code of the catalog in force (e.g. a LOINC code), bare or as "
            + "system|code; for Observation also the value's own LOINC code")

    static let businessStatusParameter = FHIRCapabilityStatement.SearchParam(
        name: "business-status", definition: "http://hl7.org/fhir/SearchParameter/Task-business-status",
        type: "token", documentation: "The hub's remote-reading step (\(FHIRSystem.taskBusinessStatus))")

    /// The server's capabilities; `date` is when the statement was produced.
    static func capabilityStatement(hubId: String, hubName: String, date: Timestamp) -> FHIRCapabilityStatement {
        let interactions = [FHIRCapabilityStatement.Interaction(code: "read"), .init(code: "search-type")]
        func resource(
            _ type: String, _ documentation: String, extra: [FHIRCapabilityStatement.SearchParam] = []
        )
            -> FHIRCapabilityStatement.Resource
        {
            .init(
                type: type, documentation: documentation, interaction: interactions,
                searchParam: searchParameters + extra)
        }
        return FHIRCapabilityStatement(
            name: "AllianceHubFHIR", title: "AllianceHub FHIR R4 read views", status: "active", date: date.description,
            description:
                "Read-only FHIR R4 views of remote-reading exams (orders, reading tasks, reports, DICOM studies) and of "
                + "the results registry (reports and lab values, with the recognition extension "
                + "\(FHIRRecognition.url)).",
            kind: "instance", software: .init(name: "AllianceHub"),
            implementation: .init(description: "\(hubName) (\(hubId))"), fhirVersion: "4.0.1", format: ["json"],
            rest: [
                .init(
                    mode: "server",
                    documentation:
                        "Searches return at most _count entries (default 50, at most 500); a further page is linked as "
                        + "next. Bundle.total is given when the whole answer fits in one page.",
                    security: .init(
                        description:
                            "Authorization: Bearer <token> issued by the hub; the same access rules as the hub's REST API"
                    ),
                    resource: [
                        resource(
                            "ServiceRequest",
                            "An exam as ordered by the clinic; id is the exam id with '_' written '-'."),
                        resource(
                            "Task", "The remote reading of an exam; businessStatus is the hub's reading step.",
                            extra: [businessStatusParameter]),
                        resource(
                            "DiagnosticReport",
                            "A version of an exam's report, id <exam>-<version>, or a registry result not from an exam, "
                                + "id res-<...>. Without status a search returns the latest version of each exam; with "
                                + "status, every version whose status matches. Registry results are found by patient. "
                                + "The conclusion is never part of what is recognized.",
                            extra: [codeParameter]),
                        .init(
                            type: "Observation",
                            documentation:
                                "One lab value of a registry result, id <result>-<index> (index from 0). Searched by "
                                + "patient (required), code and status; a patient's matches come in one page.",
                            interaction: interactions,
                            searchParam: [searchParameters[0], searchParameters[2], codeParameter]),
                        resource(
                            "ImagingStudy",
                            "The DICOM study of an exam's attachments, id the exam's; its endpoint is the hub's "
                                + "DICOMweb (WADO-RS) base.",
                            extra: [codeParameter]),
                        .init(
                            type: "Patient",
                            documentation:
                                "A person of the hub's patient index, id psn-<...>, with every identifier linked to "
                                + "them and the demographics of their latest record. Searched as IHE PDQm does: by "
                                + "identifier, or by family (and given), birthdate and gender, matched whole.",
                            interaction: interactions,
                            searchParam: [
                                .init(
                                    name: "identifier",
                                    definition: "http://hl7.org/fhir/SearchParameter/Patient-identifier",
                                    type: "token",
                                    documentation: "system|value, e.g. urn:oid:2.16.156.10011.1.3|<resident ID>"),
                                .init(name: "family", type: "string", documentation: "The family name, whole"),
                                .init(name: "given", type: "string", documentation: "The given name, whole"),
                                .init(name: "birthdate", type: "date", documentation: "YYYY-MM-DD"),
                                .init(name: "gender", type: "token", documentation: "male, female, other, unknown"),
                            ],
                            operation: [
                                .init(
                                    name: "ihe-pix",
                                    definition: "https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix",
                                    documentation:
                                        "IHE PIXm: sourceIdentifier=system|value, targetSystem (repeatable) the domains "
                                        + "wanted; answers Parameters with targetIdentifier and targetId")
                            ]),
                    ])
            ])
    }
}
