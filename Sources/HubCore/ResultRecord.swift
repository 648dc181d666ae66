/// The recognition metadata of a result, derived at registration and never set by hand.
public struct RecognitionMetadata: Sendable, Codable, Equatable {
    /// The catalog version in force on the performed date.
    public var catalogVersion: String?
    /// Whether the item was in that catalog.
    public var inCatalog: Bool
    public var scope: RecognitionScope?
    public var mark: String?
    public var validityDays: Int?
    /// The performing center's qualification for the item on the performed date, as it was then.
    public var qualification: Qualification?
    /// Where the performing institution sits, for scope decisions.
    public var region: String?
    public var alliances: [String]

    public init(
        catalogVersion: String?, inCatalog: Bool, scope: RecognitionScope?, mark: String?, validityDays: Int?,
        qualification: Qualification?, region: String?, alliances: [String]
    ) {
        self.catalogVersion = catalogVersion
        self.inCatalog = inCatalog
        self.scope = scope
        self.mark = mark
        self.validityDays = validityDays
        self.qualification = qualification
        self.region = region
        self.alliances = alliances
    }

    enum CodingKeys: String, CodingKey {
        case scope, mark, qualification, region, alliances
        case catalogVersion = "catalog_version"
        case inCatalog = "in_catalog"
        case validityDays = "validity_days"
    }
}

/// A result in the registry: the images and data other institutions may recognize, and the conclusion, which is
/// kept apart and never recognized.
public struct ResultRecord: Sendable, Codable, Equatable {
    public var id: String
    public var patient: Patient
    public var itemCode: String
    public var itemName: String?
    public var category: ItemCategory?
    public var institutionId: String
    public var centerId: String?
    public var examId: String?
    public var performedAt: Timestamp
    public var reportStatus: ReportStatus
    public var reportVersion: Int
    public var findings: String?
    public var conclusion: String?
    public var values: [LabValue]
    public var attachments: [String]
    public var recognition: RecognitionMetadata
    public var createdAt: Timestamp

    public init(
        id: String, patient: Patient, itemCode: String, itemName: String?, category: ItemCategory?,
        institutionId: String, centerId: String?, examId: String?, performedAt: Timestamp, reportStatus: ReportStatus,
        reportVersion: Int, findings: String?, conclusion: String?, values: [LabValue], attachments: [String],
        recognition: RecognitionMetadata, createdAt: Timestamp
    ) {
        self.id = id
        self.patient = patient
        self.itemCode = itemCode
        self.itemName = itemName
        self.category = category
        self.institutionId = institutionId
        self.centerId = centerId
        self.examId = examId
        self.performedAt = performedAt
        self.reportStatus = reportStatus
        self.reportVersion = reportVersion
        self.findings = findings
        self.conclusion = conclusion
        self.values = values
        self.attachments = attachments
        self.recognition = recognition
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, patient, category, findings, conclusion, values, attachments, recognition
        case itemCode = "item_code"
        case itemName = "item_name"
        case institutionId = "institution_id"
        case centerId = "center_id"
        case examId = "exam_id"
        case performedAt = "performed_at"
        case reportStatus = "report_status"
        case reportVersion = "report_version"
        case createdAt = "created_at"
    }

    /// Derives the recognition metadata from the catalog in force and the performing center, at performed time.
    public static func recognition(
        item code: String, catalog: CatalogIndex?, center: Center?, host: Institution, performedOn date: CivilDate
    ) -> RecognitionMetadata {
        let item = catalog?.item(code)
        return RecognitionMetadata(
            catalogVersion: catalog?.version.version, inCatalog: item != nil, scope: item?.scope, mark: item?.mark,
            validityDays: item?.validityDays,
            qualification: item.flatMap { center?.qualification(for: $0.code, on: date) }, region: host.region.value,
            alliances: host.alliances)
    }
}

// The stored document of a result, written by hand: registering results in bulk spent more time in `JSONEncoder`
// than in anything else. Members in key order; `ResultDocumentTests` holds the bytes equal to `JSONEncoder`'s.
extension ResultRecord: JSONWritable {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.member("attachments", attachments)
            json.member("category", category)
            json.member("center_id", centerId)
            json.member("conclusion", conclusion)
            json.member("created_at", described: createdAt)
            json.member("exam_id", examId)
            json.member("findings", findings)
            json.member("id", id)
            json.member("institution_id", institutionId)
            json.member("item_code", itemCode)
            json.member("item_name", itemName)
            json.member("patient", patient)
            json.member("performed_at", described: performedAt)
            json.member("recognition", recognition)
            json.member("report_status", reportStatus)
            json.member("report_version", reportVersion)
            json.member("values", values)
        }
    }
}

extension RecognitionMetadata: JSONWritable {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.member("alliances", alliances)
            json.member("catalog_version", catalogVersion)
            json.member("in_catalog", inCatalog)
            json.member("mark", mark)
            json.member("qualification", qualification)
            json.member("region", region)
            json.member("scope", scope)
            json.member("validity_days", validityDays)
        }
    }
}

extension Qualification: JSONWritable {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.member("certificate", certificate)
            json.member("issuer", issuer)
            json.member("items", items)
            json.member("type", type)
            json.member("valid_from", described: validFrom)
            json.member("valid_to", described: validTo)
        }
    }
}

extension Patient: JSONWritable {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.member("birth_date", described: birthDate)
            json.member("identifiers", identifiers)
            json.member("name", name)
            json.member("sex", sex)
        }
    }
}

extension PatientIdentifier: JSONWritable {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.member("system", system)
            json.member("value", value)
        }
    }
}

extension LabValue: JSONWritable {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.member("code", code)
            json.member("flag", flag)
            json.member("loinc", loinc)
            json.member("reference_range", referenceRange)
            json.member("unit", unit)
            json.member("value", value)
        }
    }
}

// The stored document read back without `JSONDecoder`: each recognition check reads every candidate result. Anything
// unexpected (a member it does not know, a key twice, a value of another type) throws, and `ResultStore.decode` then
// reads the document with `JSONDecoder`.
extension ResultRecord {
    /// The record a whole stored document holds, or nil when the document is anything but what `jsonDocument` writes
    /// (give such a document to `JSONDecoder`).
    public init?(jsonDocument text: String) {
        guard let record = JSONScanner.read(text, { json throws(JSONScanner.Mismatch) in try Self(scanning: &json) })
        else { return nil }
        self = record
    }

    public init(scanning json: inout JSONScanner) throws(JSONScanner.Mismatch) {
        var id: String?
        var patient: Patient?
        var itemCode: String?
        var itemName: String?
        var category: ItemCategory?
        var institutionId: String?
        var centerId: String?
        var examId: String?
        var performedAt: Timestamp?
        var reportStatus: ReportStatus?
        var reportVersion: Int?
        var findings: String?
        var conclusion: String?
        var values: [LabValue]?
        var attachments: [String]?
        var recognition: RecognitionMetadata?
        var createdAt: Timestamp?
        try json.object { key, json throws(JSONScanner.Mismatch) in
            if key == "id" {
                id = try json.string()
            } else if key == "patient" {
                patient = try Patient(scanning: &json)
            } else if key == "item_code" {
                itemCode = try json.string()
            } else if key == "item_name" {
                itemName = try json.optionalString()
            } else if key == "category" {
                category = try json.optionalValue(ItemCategory.init(rawValue:))
            } else if key == "institution_id" {
                institutionId = try json.string()
            } else if key == "center_id" {
                centerId = try json.optionalString()
            } else if key == "exam_id" {
                examId = try json.optionalString()
            } else if key == "performed_at" {
                performedAt = try json.value { Timestamp(rfc3339: $0) }
            } else if key == "report_status" {
                reportStatus = try json.value(ReportStatus.init(rawValue:))
            } else if key == "report_version" {
                reportVersion = try json.int()
            } else if key == "findings" {
                findings = try json.optionalString()
            } else if key == "conclusion" {
                conclusion = try json.optionalString()
            } else if key == "values" {
                values = try json.array { json throws(JSONScanner.Mismatch) in try LabValue(scanning: &json) }
            } else if key == "attachments" {
                attachments = try json.array { json throws(JSONScanner.Mismatch) in try json.string() }
            } else if key == "recognition" {
                recognition = try RecognitionMetadata(scanning: &json)
            } else if key == "created_at" {
                createdAt = try json.value { Timestamp(rfc3339: $0) }
            } else {
                throw json.mismatch()
            }
        }
        guard let id, let patient, let itemCode, let institutionId, let performedAt, let reportStatus,
            let reportVersion,
            let values, let attachments, let recognition, let createdAt
        else { throw json.mismatch() }
        self.init(
            id: id, patient: patient, itemCode: itemCode, itemName: itemName, category: category,
            institutionId: institutionId, centerId: centerId, examId: examId, performedAt: performedAt,
            reportStatus: reportStatus, reportVersion: reportVersion, findings: findings, conclusion: conclusion,
            values: values, attachments: attachments, recognition: recognition, createdAt: createdAt)
    }
}

extension RecognitionMetadata {
    public init(scanning json: inout JSONScanner) throws(JSONScanner.Mismatch) {
        var catalogVersion: String?
        var inCatalog: Bool?
        var scope: RecognitionScope?
        var mark: String?
        var validityDays: Int?
        var qualification: Qualification?
        var region: String?
        var alliances: [String]?
        try json.object { key, json throws(JSONScanner.Mismatch) in
            if key == "alliances" {
                alliances = try json.array { json throws(JSONScanner.Mismatch) in try json.string() }
            } else if key == "catalog_version" {
                catalogVersion = try json.optionalString()
            } else if key == "in_catalog" {
                inCatalog = try json.bool()
            } else if key == "mark" {
                mark = try json.optionalString()
            } else if key == "qualification" {
                qualification = json.null() ? nil : try Qualification(scanning: &json)
            } else if key == "region" {
                region = try json.optionalString()
            } else if key == "scope" {
                scope = try json.optionalValue(RecognitionScope.init(rawValue:))
            } else if key == "validity_days" {
                validityDays = json.null() ? nil : try json.int()
            } else {
                throw json.mismatch()
            }
        }
        guard let inCatalog, let alliances else { throw json.mismatch() }
        self.init(
            catalogVersion: catalogVersion, inCatalog: inCatalog, scope: scope, mark: mark, validityDays: validityDays,
            qualification: qualification, region: region, alliances: alliances)
    }
}

extension Qualification {
    public init(scanning json: inout JSONScanner) throws(JSONScanner.Mismatch) {
        var type: QualificationType?
        var items: [String]?
        var validFrom: CivilDate?
        var validTo: CivilDate?
        var issuer: String?
        var certificate: String?
        try json.object { key, json throws(JSONScanner.Mismatch) in
            if key == "certificate" {
                certificate = try json.optionalString()
            } else if key == "issuer" {
                issuer = try json.string()
            } else if key == "items" {
                items = try json.array { json throws(JSONScanner.Mismatch) in try json.string() }
            } else if key == "type" {
                type = try json.value(QualificationType.init(rawValue:))
            } else if key == "valid_from" {
                validFrom = try json.value { CivilDate($0) }
            } else if key == "valid_to" {
                validTo = try json.value { CivilDate($0) }
            } else {
                throw json.mismatch()
            }
        }
        guard let type, let items, let validFrom, let validTo, let issuer else { throw json.mismatch() }
        self.init(
            type: type, items: items, validFrom: validFrom, validTo: validTo, issuer: issuer, certificate: certificate)
    }
}

extension Patient {
    public init(scanning json: inout JSONScanner) throws(JSONScanner.Mismatch) {
        var identifiers: [PatientIdentifier]?
        var name: String?
        var sex: Sex?
        var birthDate: CivilDate?
        try json.object { key, json throws(JSONScanner.Mismatch) in
            if key == "identifiers" {
                identifiers = try json.array { json throws(JSONScanner.Mismatch) in
                    try PatientIdentifier(scanning: &json)
                }
            } else if key == "name" {
                name = try json.optionalString()
            } else if key == "sex" {
                sex = try json.optionalValue(Sex.init(rawValue:))
            } else if key == "birth_date" {
                birthDate = try json.optionalValue { CivilDate($0) }
            } else {
                throw json.mismatch()
            }
        }
        guard let identifiers else { throw json.mismatch() }
        self.init(identifiers: identifiers, name: name, sex: sex, birthDate: birthDate)
    }
}

extension PatientIdentifier {
    public init(scanning json: inout JSONScanner) throws(JSONScanner.Mismatch) {
        var system: String?
        var value: String?
        try json.object { key, json throws(JSONScanner.Mismatch) in
            if key == "system" {
                system = try json.string()
            } else if key == "value" {
                value = try json.string()
            } else {
                throw json.mismatch()
            }
        }
        guard let system, let value else { throw json.mismatch() }
        self.init(system: system, value: value)
    }
}

extension LabValue {
    public init(scanning json: inout JSONScanner) throws(JSONScanner.Mismatch) {
        var code: String?
        var loinc: String?
        var value: String?
        var unit: String?
        var referenceRange: String?
        var flag: String?
        try json.object { key, json throws(JSONScanner.Mismatch) in
            if key == "code" {
                code = try json.optionalString()
            } else if key == "flag" {
                flag = try json.optionalString()
            } else if key == "loinc" {
                loinc = try json.optionalString()
            } else if key == "reference_range" {
                referenceRange = try json.optionalString()
            } else if key == "unit" {
                unit = try json.optionalString()
            } else if key == "value" {
                value = try json.string()
            } else {
                throw json.mismatch()
            }
        }
        guard let value else { throw json.mismatch() }
        self.init(code: code, loinc: loinc, value: value, unit: unit, referenceRange: referenceRange, flag: flag)
    }
}
