import HubCore
import HubStorage

/// Registers results for one institution; what every line would otherwise read again (the host, the catalog in force,
/// the institution's centers) is read once per batch.
final class ResultRegistrar {
    let catalog: CatalogInForce
    let patientKeys: PatientKeys
    let db: any StoreReader
    let host: Institution
    let now: Timestamp
    private let catalogToday: CatalogIndex?
    private var catalogsByDate: [CivilDate: CatalogIndex?] = [:]
    private var centersByItem: [String: [Center]] = [:]

    init(
        catalog: CatalogInForce, patientKeys: PatientKeys, db: any StoreReader, caller: Principal, now: Timestamp
    ) throws {
        guard let institutionId = caller.institutionId, let host = try db.institution(id: institutionId)
        else {
            throw HubError.forbidden("results are registered by the staff of the performing institution")
        }
        self.catalog = catalog
        self.patientKeys = patientKeys
        self.db = db
        self.host = host
        self.now = now
        self.catalogToday = try catalog.index(db, at: now)
    }

    /// The item of the catalog in force a code names: a catalog code, or a code the catalog lists as equivalent.
    func catalogItem(_ code: String) -> CatalogItem? { catalogToday?.item(code) }

    /// Validates one result and makes its record, without storing it: `db` may be a reader's.
    func prepare(_ input: Results.Input) throws -> StorableResult {
        var v = Validator()
        let patient = v.require(input.patient, "patient")
        patient?.validate(&v)
        let code = v.text(input.itemCode, "item_code", maxLength: 64)
        let performedAt = v.require(input.performedAt, "performed_at")
        if let performedAt {
            if performedAt > now.adding(milliseconds: 5 * 60_000) { v.fail("performed_at", "is in the future") }
            if performedAt < Timestamp(rfc3339: "1990-01-01T00:00:00Z")! { v.fail("performed_at", "is before 1990") }
        }
        let item = code.flatMap { catalogToday?.item($0) }
        if let code, item == nil { v.fail("item_code", "'\(code)' is not in the catalog in force") }
        for (i, value) in (input.values ?? []).enumerated() where value.value.trimmingWhitespace().isEmpty {
            v.fail("values[\(i)].value", "must not be empty")
        }
        if item?.kind == .lab && (input.values ?? []).isEmpty { v.fail("values", "a lab result carries its values") }
        _ = v.text(input.conclusion, "conclusion", required: false, maxLength: 5000, multiline: true)
        _ = v.text(input.findings, "findings", required: false, maxLength: 20_000, multiline: true)
        try v.check()
        let performedOn = catalog.today(at: performedAt!)
        var center: Center?
        if let centerId = input.centerId {
            guard let named = try db.center(id: centerId), named.institutionId == host.id else {
                throw HubError.validation("center_id", "'\(centerId)' is not a center of institution \(host.id)")
            }
            center = named
        } else {
            // The institution's own center for the item, preferring one qualified on the performed date.
            if centersByItem[item!.code] == nil {
                centersByItem[item!.code] = try db.centers(
                    item: item!.code, institutionId: host.id, after: nil, limit: 50
                ).items
            }
            let own = centersByItem[item!.code]!
            center = own.first { $0.qualification(for: item!.code, on: performedOn) != nil } ?? own.first
        }
        if catalogsByDate[performedOn] == nil {
            catalogsByDate[performedOn] = try catalog.catalog.inForce(db, on: performedOn)
        }
        let result = ResultRecord(
            id: GeneratedID.make("res", at: now), patient: patient!, itemCode: item!.code, itemName: item!.name,
            category: item!.category, institutionId: host.id, centerId: center?.id, examId: nil,
            performedAt: performedAt!, reportStatus: input.reportStatus ?? .final, reportVersion: 1,
            findings: input.findings, conclusion: input.conclusion, values: input.values ?? [],
            attachments: input.attachments ?? [],
            recognition: ResultRecord.recognition(
                item: item!.code, catalog: catalogsByDate[performedOn] ?? nil, center: center, host: host,
                performedOn: performedOn),
            createdAt: now)
        return StorableResult(result, keys: patientKeys)
    }
}
