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
extension ResultRecord {
    /// The record as `HubJSON` encodes it.
    public var jsonDocument: String {
        var json = JSONText(capacity: 1024)
        write(to: &json)
        return json.text
    }

    public func write(to json: inout JSONText) {
        json.object { json in
            json.key("attachments")
            json.array(attachments)
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
            json.key("patient")
            patient.write(to: &json)
            json.member("performed_at", described: performedAt)
            json.key("recognition")
            recognition.write(to: &json)
            json.member("report_status", reportStatus)
            json.member("report_version", reportVersion)
            json.key("values")
            json.array { json in for value in values { value.write(to: &json) } }
        }
    }
}

extension RecognitionMetadata {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.key("alliances")
            json.array(alliances)
            json.member("catalog_version", catalogVersion)
            json.key("in_catalog")
            json.bool(inCatalog)
            json.member("mark", mark)
            if let qualification {
                json.key("qualification")
                qualification.write(to: &json)
            }
            json.member("region", region)
            json.member("scope", scope)
            json.member("validity_days", validityDays)
        }
    }
}

extension Qualification {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.member("certificate", certificate)
            json.member("issuer", issuer)
            json.key("items")
            json.array(items)
            json.member("type", type)
            json.member("valid_from", described: validFrom)
            json.member("valid_to", described: validTo)
        }
    }
}

extension Patient {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.member("birth_date", described: birthDate)
            json.key("identifiers")
            json.array { json in for identifier in identifiers { identifier.write(to: &json) } }
            json.member("name", name)
            json.member("sex", sex)
        }
    }
}

extension PatientIdentifier {
    public func write(to json: inout JSONText) {
        json.object { json in
            json.member("system", system)
            json.member("value", value)
        }
    }
}

extension LabValue {
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
