import HubConfig
import HubCore
import HubStorage

/// The records the read-only views (FHIR R4) are made of: exams and registry results, with the REST API's access
/// rules. A read is allowed exactly when `GET /v1/exams/{id}` (or `GET /v1/results/{id}`) is, and a search covers what
/// `GET /v1/exams` lists (clinic staff: their institution's exams; readers and verifiers: the exams of their
/// institution's centers), leaving out any exam the caller may not see. Every read and search appends an audit record
/// in the same transaction.
public struct ClinicalRecords: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let patientKeys: PatientKeys
    let access = ExamAccess()
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        patientKeys = env.patientKeys
        clock = env.clock
    }

    /// What a view may read beside the record it renders, inside the read's transaction.
    public struct Reader {
        let db: any StoreReader
        let catalog: CatalogInForce

        /// The exam's attachments.
        public func attachments(of exam: Exam) throws -> [Attachment] {
            try db.attachments(examId: exam.id)
        }

        /// The registry result of an exam (registered when its report was verified), if any.
        public func result(of exam: Exam) throws -> ResultRecord? {
            try exam.resultId.flatMap { try db.result(id: $0) }
        }

        /// The LOINC code of a result's catalog item, in the catalog in force on the performed date.
        public func itemLOINC(of result: ResultRecord) throws -> String? {
            try catalog.index(db, at: result.performedAt)?.item(result.itemCode)?.loinc
        }

        /// The item codes a `code` search names: the code itself and, when it is an item code or an equivalent code
        /// (such as a LOINC code) of the catalog in force, that item's code.
        func itemCodes(_ code: String?, at now: Timestamp) throws -> Set<String>? {
            guard let code else { return nil }
            var codes: Set<String> = [code]
            if let item = try catalog.index(db, at: now)?.item(code) { codes.insert(item.code) }
            return codes
        }
    }

    /// What a search asks for.
    public struct Search: Sendable {
        /// The patient, by an identifier of the hub's systems.
        public var patient: PatientIdentifier?
        public var accession: String?
        /// An identifier of another system was asked for: nothing matches.
        public var foreignIdentifier = false
        public var statuses: Set<String>?
        public var businessStatuses: Set<String>?
        /// `code`: an item code or an equivalent code (LOINC); `itemCodes` are the item codes it names.
        public var code: String?
        public internal(set) var itemCodes: Set<String>?
        public var count = 50
        public var cursor: String?

        public init() {}
    }

    /// Registry results are read by clinicians and by the staff who produce or receive them; checked before a
    /// request's parameters are read, and again by each read.
    public func authorizeResultReading(_ caller: Caller) throws(HubError) {
        try caller.authenticated().requireAny(of: Results.readers)
    }

    /// Exams are searched by the staff of an institution; checked before a request's parameters are read, and again
    /// by the search.
    public func authorizeSearch(_ caller: Caller) throws(HubError) {
        guard try caller.authenticated().institutionId != nil else {
            throw HubError.forbidden("exams are searched by the staff of an institution")
        }
    }

    /// One exam's view, rendered by `render` (which answers the view and its id, for the audit record): a 404 when
    /// there is no such exam, a 403 when the caller may not see it.
    public func exam<View: Sendable>(
        _ examId: String?, notFound: HubError, for caller: Caller, type: String,
        _ render: @escaping @Sendable (Exam, Reader) throws -> (View, id: String)
    ) async throws -> View {
        let principal = try caller.authenticated()
        guard let examId else { throw notFound }
        let now = clock()
        let (access, catalog, patientKeys) = (access, catalog, patientKeys)
        return try await database.write { db in
            guard let exam = try db.exam(id: examId) else { throw notFound }
            _ = try access.side(of: principal, for: exam, db)
            let (view, id) = try render(exam, Reader(db: db, catalog: catalog))
            try db.appendAudit(
                caller.audit(
                    "fhir.read", "exam", exam.id, patientKey: patientKeys.keys(for: exam.patient).first,
                    detail: "\(type)/\(id)"), at: now)
            return view
        }
    }

    /// One registry result's view, with the access rule of `GET /v1/results/{id}`: a 403 for a caller without a
    /// role that reads results, a 404 when there is no such result.
    public func result<View: Sendable>(
        _ resultId: String?, notFound: HubError, for caller: Caller, type: String,
        _ render: @escaping @Sendable (ResultRecord, Reader) throws -> (View, id: String)
    ) async throws -> View {
        try caller.authenticated().requireAny(of: Results.readers)
        guard let resultId else { throw notFound }
        let now = clock()
        let (catalog, patientKeys) = (catalog, patientKeys)
        return try await database.write { db in
            guard let result = try db.result(id: resultId) else { throw notFound }
            let (view, id) = try render(result, Reader(db: db, catalog: catalog))
            try db.appendAudit(
                caller.audit(
                    "fhir.read", "result", result.id, patientKey: patientKeys.keys(for: result.patient).first,
                    detail: "\(type)/\(id)"), at: now)
            return view
        }
    }

    /// Every view `render` makes of the results of the search's patient (required), in one page.
    public func patientResults<View: Sendable>(
        _ search: Search, for caller: Caller, type: String,
        _ render: @escaping @Sendable (ResultRecord, Search, Reader) throws -> [View]
    ) async throws -> [View] {
        let principal = try caller.authenticated()
        try principal.requireAny(of: Results.readers)
        guard let patient = search.patient else {
            throw HubError.validation("patient", "is required: system|value, or a bare resident ID")
        }
        let key = patientKeys.key(for: patient)
        let now = clock()
        let catalog = catalog
        return try await database.write { db -> [View] in
            let reader = Reader(db: db, catalog: catalog)
            var search = search
            search.itemCodes = try reader.itemCodes(search.code, at: now)
            var found: [View] = []
            let match = try PatientMatch(db, patientKeys: patientKeys, keys: [key])
            for result in try db.results(patientKeys: match.keys) where match.matches(result.patient) {
                found += try render(result, search, reader)
            }
            try db.appendAudit(
                caller.audit(
                    "fhir.search", type, principal.institutionId ?? "-", patientKey: key,
                    detail: "count=\(found.count)"),
                at: now)
            return found
        }
    }

    /// The views of the exams a search finds (and, with `results`, of the patient's registry results that came from
    /// no exam, all on the first page), a page of at most `count` exams' views, and the cursor of the next page.
    public func search<View: Sendable>(
        _ search: Search, for caller: Caller, type: String,
        results: (@Sendable ([ResultRecord], Search) -> [View])? = nil,
        _ render: @escaping @Sendable (Exam, Search, Reader) throws -> [View]
    ) async throws -> (views: [View], next: String?) {
        let principal = try caller.authenticated()
        guard let institutionId = principal.institutionId else {
            throw HubError.forbidden("exams are searched by the staff of an institution")
        }
        let now = clock()
        let readsResults = results != nil && !principal.roles.isDisjoint(with: Results.readers)
        let patientKey = search.patient.map(patientKeys.key(for:))
        let (access, catalog, patientKeys) = (access, catalog, patientKeys)
        return try await database.write { db -> ([View], String?) in
            let reader = Reader(db: db, catalog: catalog)
            var query = search
            query.itemCodes = try reader.itemCodes(query.code, at: now)
            var clinicId: String?
            var centerIds: [String]?
            var scanExams = true
            if principal.roles.contains(.clinic) {
                clinicId = institutionId
            } else if !principal.roles.isDisjoint(with: [.reader, .verifier]) {
                centerIds = try db.centers(institutionId: institutionId, after: nil, limit: 500).items
                    .map(\.id)
            } else if readsResults {
                scanExams = false
            } else {
                throw HubError.forbidden("exams are searched by clinic staff, readers and verifiers")
            }
            var found: [View] = []
            // A patient's registry results (those not from an exam) come first, all on the first page.
            if readsResults, let results, let key = patientKey, query.cursor == nil, query.accession == nil,
                !query.foreignIdentifier
            {
                let match = try PatientMatch(db, patientKeys: patientKeys, keys: [key])
                found += results(try db.results(patientKeys: match.keys).filter { match.matches($0.patient) }, query)
            }
            var lastIncluded: String?
            var more = false
            /// Adds the exam's matching views; false once the page is full and another match exists.
            func consider(_ exam: Exam) throws -> Bool {
                let views = try render(exam, query, reader)
                if views.isEmpty { return true }
                do {
                    _ = try access.side(of: principal, for: exam, db)
                } catch let error as HubError where error.kind == .forbidden {
                    return true
                }
                if found.count >= query.count {
                    more = true
                    return false
                }
                found += views
                lastIncluded = exam.id
                return true
            }
            if !scanExams {
                // Only registry results: the caller reads no exams.
            } else if let accession = query.accession {
                if !query.foreignIdentifier, let exam = try db.exam(accessionNumber: accession),
                    try patientKey.map({
                        try PatientMatch(db, patientKeys: patientKeys, keys: [$0]).matches(exam.patient)
                    }) ?? true,
                    query.cursor.flatMap(Cursor.decode).map({ exam.id > $0 }) ?? true
                {
                    _ = try consider(exam)
                }
            } else {
                var cursor = query.cursor
                let match = try patientKey.map { try PatientMatch(db, patientKeys: patientKeys, keys: [$0]) }
                scan: while true {
                    let page = try db.exams(
                        clinicId: clinicId, centerIds: centerIds, patientKeys: match?.keys,
                        after: cursor, limit: 500)
                    for exam in page.items where match?.matches(exam.patient) ?? true {
                        if try !consider(exam) { break scan }
                    }
                    guard let next = page.next else { break }
                    cursor = next
                }
            }
            try db.appendAudit(
                caller.audit(
                    "fhir.search", type, institutionId, patientKey: patientKey, detail: "count=\(found.count)"),
                at: now)
            return (found, more ? lastIncluded.map(Cursor.encode) : nil)
        }
    }
}
