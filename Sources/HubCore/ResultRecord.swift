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
