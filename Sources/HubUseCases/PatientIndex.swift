import HubCore
import HubStorage

/// The master patient index as people use it (`/v1/persons`, `/v1/person-reviews`): who a person is across
/// institutions, and the decisions only a person may take, to split identifiers that were linked wrongly, to merge two
/// persons that are one, and to answer the index's suggestions and conflicts. Every change is audited.
public struct PatientIndex: Sendable {
    let database: any Storage
    let patientKeys: PatientKeys
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        patientKeys = env.patientKeys
        clock = env.clock
    }

    /// Who reads the index: clinicians (to see under which identifiers a patient is known), auditors and admins.
    static let readers: [Role] = [.admin, .auditor, .clinician]

    /// The person an identifier (`system|value`, or a bare resident ID) belongs to; the reading is audited. An
    /// identifier the hub has seen on no record is not found.
    public func person(identifier text: String, for caller: Caller) async throws -> Person {
        try caller.authenticated().requireAny(of: Self.readers)
        guard let identifier = PatientIdentifier(query: text) else {
            throw HubError.validation("identifier", "is required: system|value, or a bare resident ID")
        }
        if let problem = identifier.problem { throw HubError.validation("identifier", problem) }
        let key = patientKeys.key(for: identifier)
        let now = clock()
        return try await database.write { db in
            guard let id = try db.persons(ofKeys: [key])[key], let person = try Self.person(id, db) else {
                throw HubError.notFound("person with identifier", identifier.description)
            }
            try db.appendAudit(caller.audit("person.read", "person", id, patientKey: key), at: now)
            return person
        }
    }

    public func person(id: String, for caller: Caller) async throws -> Person {
        try caller.authenticated().requireAny(of: Self.readers)
        let now = clock()
        return try await database.write { db in
            guard let person = try Self.person(id, db) else { throw HubError.notFound("person", id) }
            try db.appendAudit(caller.audit("person.read", "person", id), at: now)
            return person
        }
    }

    /// Takes one identifier out of its person into a person of its own, and remembers that it belongs to someone
    /// else: automatic linking never joins them again (a record that would is a conflict for a person to decide).
    public func unlink(
        _ personId: String, identifier input: PatientIdentifier?, by caller: Caller
    ) async throws
        -> (remaining: Person, separated: Person)
    {
        try caller.authenticated().require(.admin)
        guard let identifier = input else { throw HubError.validation("identifier", "is required") }
        if let problem = identifier.problem { throw HubError.validation("identifier", problem) }
        let key = patientKeys.key(for: identifier)
        let now = clock()
        let source = "person:\(caller.principal?.actor ?? "-")"
        return try await database.write { db in
            let members = try db.personMembers(id: personId)
            guard !members.isEmpty else { throw HubError.notFound("person", personId) }
            guard members.contains(where: { $0.key == key }) else {
                throw HubError.validation("identifier", "\(identifier) is not an identifier of person \(personId)")
            }
            guard members.count > 1 else {
                throw HubError.conflict("\(identifier) is the person's only identifier", field: "identifier")
            }
            let separated = Person.newID(at: now)
            try db.relink(key: key, personId: separated, at: now, source: source)
            try db.separate([key], from: members.map(\.key).filter { $0 != key })
            try db.appendAudit(
                caller.audit(
                    "person.unlink", "person", personId, patientKey: key,
                    detail: "system=\(identifier.system) into=\(separated)"),
                at: now)
            return (try Self.person(personId, db)!, try Self.person(separated, db)!)
        }
    }

    /// Makes two persons one: `merged`'s identifiers move to `survivor`, whatever kept them apart is forgotten.
    /// Refused when the result would hold two resident IDs.
    public func merge(_ survivor: String, _ merged: String, by caller: Caller) async throws -> Person {
        try caller.authenticated().require(.admin)
        let now = clock()
        return try await database.write { db in
            try Self.merge(survivor, merged, caller: caller, in: db, now: now)
        }
    }

    static func merge(
        _ survivor: String, _ merged: String, caller: Caller, in db: any StoreWriter, now: Timestamp
    ) throws -> Person {
        guard survivor != merged else {
            throw HubError.validation("merged", "a person cannot be merged into itself")
        }
        let kept = try db.personMembers(id: survivor)
        guard !kept.isEmpty else { throw HubError.notFound("person", survivor) }
        let moved = try db.personMembers(id: merged)
        guard !moved.isEmpty else { throw HubError.notFound("person", merged) }
        for system in IdentifierRules.onePerPerson.sorted() {
            let values = Set((kept + moved).map(\.identifier).filter { $0.system == system }.map(\.value))
            if values.count > 1 {
                throw HubError.conflict("the persons hold \(values.count) different \(system) identifiers")
            }
        }
        if kept.count + moved.count > IdentifierRules.maximumPerPerson {
            throw HubError.conflict(
                "the persons hold \(kept.count + moved.count) identifiers; one person holds at most \(IdentifierRules.maximumPerPerson)"
            )
        }
        try db.mergePerson(merged, into: survivor)
        try db.clearSeparations(among: (kept + moved).map(\.key))
        try db.appendAudit(caller.audit("person.merge", "person", survivor, detail: "merged=\(merged)"), at: now)
        return try person(survivor, db)!
    }

    /// The index's open questions (or those with another status), oldest first.
    public func reviews(
        status: PersonReview.Status?, after cursor: String?, limit: Int, for caller: Caller
    ) async throws -> Page<PersonReview> {
        try caller.authenticated().require(.admin, .auditor)
        return try await database.read { db in
            try db.personReviews(status: status, after: cursor, limit: limit)
        }
    }

    /// Answers an open review: `merged` makes its two persons one (as `merge`), `separate` keeps them apart for
    /// good (their identifiers are never linked automatically, nor suggested again).
    public func decide(
        _ reviewId: String, _ decision: PersonReview.Status?, by caller: Caller
    ) async throws
        -> PersonReview
    {
        let principal = try caller.authenticated()
        try principal.require(.admin)
        guard let decision, decision != .open else {
            throw HubError.validation("decision", "is required: merged or separate")
        }
        let now = clock()
        return try await database.write { db in
            guard var review = try db.personReview(id: reviewId) else {
                throw HubError.notFound("person review", reviewId)
            }
            guard review.status == .open else {
                throw HubError.conflict("review \(reviewId) was decided already: \(review.status.rawValue)")
            }
            let (a, b) = (review.personIds[0], review.personIds[1])
            switch decision {
            case .merged:
                _ = try Self.merge(a, b, caller: caller, in: db, now: now)
            case .separate:
                try db.separate(try db.personMembers(id: a).map(\.key), from: try db.personMembers(id: b).map(\.key))
            case .open:
                break
            }
            review.status = decision
            review.decidedAt = now
            review.decidedBy = principal.actor
            try db.update(review)
            try db.appendAudit(
                caller.audit(
                    "person_review.decide", "person_review", reviewId,
                    detail: "decision=\(decision.rawValue) persons=\(a),\(b)"),
                at: now)
            return review
        }
    }

    static func person(_ id: String, _ db: any StoreReader) throws -> Person? {
        let members = try db.personMembers(id: id)
        return members.isEmpty ? nil : Person(id: id, identifiers: members.map(\.identifier))
    }

    /// Links the identifiers of the exams and results stored before the index existed, page by page, each page in a
    /// transaction of its own; the task is marked done when every page is, so an interrupted run starts again and
    /// links nothing twice (a record already linked changes nothing).
    public static func backfillIfPending(_ env: HubEnvironment) async throws -> PatientIndexBackfill.Outcome {
        var outcome = PatientIndexBackfill.Outcome()
        let task = PatientIndexBackfill.task
        guard try await env.database.read({ try $0.maintenanceTaskIsPending(task) }) else { return outcome }
        outcome.ran = true
        let linker = PatientLinker(keys: env.patientKeys)
        let caller = Caller.system
        for kind in PatientIndexBackfill.Records.allCases {
            var after = ""
            while true {
                let from = after
                let now = env.clock()
                let (last, count) = try await env.database.write(alone: true) { db -> (String?, Int) in
                    let page = try db.storedPatients(of: kind, after: from, limit: 500)
                    for record in page {
                        try linker.link(
                            record.patient, source: "\(kind.rawValue):\(record.id)", caller: caller, in: db, now: now)
                    }
                    return (page.last?.id, page.count)
                }
                outcome.records += count
                guard let last else { break }
                after = last
            }
        }
        try await env.database.write { try $0.finishMaintenanceTask(task) }
        return outcome
    }
}
