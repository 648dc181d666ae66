import HubCore
import HubStorage

/// Links the identifiers a record gives for its patient in the master patient index, in the record's own transaction:
/// the identifiers of one record are one person, and a record that shares an identifier with a person adds its other
/// identifiers to that person (or joins two persons into one).
///
/// Safety before completeness: a wrong link shows a clinician another person's results. So a record is not linked
/// when the person it would make holds two resident IDs, or keys a person separated before; the index opens a
/// conflict for a person to decide, and every search still finds the record under the identifiers it gave. Name,
/// birth date and sex never link: a new person who shares them with another raises a suggestion. Nor do placeholder
/// values (`IdentifierRules.isPlaceholder`), and a person never grows past `IdentifierRules.maximumPerPerson`.
///
/// Audit: joining two persons (`person.merge`), adding identifiers to a person (`person.link`) and a conflict
/// (`person.conflict`) are audited; a new person made from one record is not, since the record's own audit names it
/// and its identifiers name their source.
struct PatientLinker: Sendable {
    let keys: PatientKeys
    static let suggestionsPerPerson = 10

    /// What linking a record did.
    enum Outcome: Equatable {
        /// Every identifier already belonged to one person.
        case unchanged
        case linked(personId: String)
        case conflict(reviewId: String)
    }

    @discardableResult
    func link(
        _ patient: Patient, source: String, caller: Caller, in db: any StoreWriter, now: Timestamp
    ) throws -> Outcome {
        try link(patient, keyed: keys.keyed(patient), source: source, caller: caller, in: db, now: now)
    }

    /// `link`, with the patient's identifiers already keyed (`PatientKeys.keyed`).
    @discardableResult
    private func link(
        _ patient: Patient, keyed members: [(key: String, identifier: PatientIdentifier)], source: String,
        caller: Caller, in db: any StoreWriter, now: Timestamp
    ) throws -> Outcome {
        // A value systems fill in for an unknown identifier links nothing.
        let members = members.filter { !IdentifierRules.isPlaceholder($0.identifier.value) }
        guard !members.isEmpty else { return .unchanged }
        let owners = try db.persons(ofKeys: members.map(\.key))
        let persons = Array(Set(owners.values)).sorted()
        if persons.count == 1 && owners.count == members.count { return .unchanged }
        let newMembers = members.filter { owners[$0.key] == nil }
        var joined: [(key: String, identifier: PatientIdentifier)] = newMembers
        for person in persons {
            joined += try db.personMembers(id: person).map { ($0.key, $0.identifier.identifier) }
        }
        if let reason = try conflict(joining: joined, persons: persons, in: db) {
            return .conflict(
                reviewId: try openConflict(
                    reason, persons: persons, newMembers: newMembers, source: source, caller: caller, in: db,
                    now: now))
        }
        let target = persons.first ?? Person.newID(at: now)
        for other in persons.dropFirst() {
            try db.mergePerson(other, into: target)
            try db.appendAudit(
                caller.audit("person.merge", "person", target, detail: "merged=\(other) source=\(source)"), at: now)
        }
        for member in newMembers {
            try db.link(
                key: member.key, LinkedIdentifier(member.identifier, linkedAt: now, source: source),
                personId: target)
        }
        if !persons.isEmpty && !newMembers.isEmpty {
            try db.appendAudit(
                caller.audit(
                    "person.link", "person", target,
                    detail: "systems=\(newMembers.map(\.identifier.system).joined(separator: ",")) source=\(source)"),
                at: now)
        }
        if persons.isEmpty { try suggestMatches(for: target, patient, source: source, in: db, now: now) }
        return .linked(personId: target)
    }

    /// Stores a new result and links its patient's identifiers: what every way of registering a result does (the API,
    /// a bulk load, an HL7 message). `source` names the record that links them (the result, by default).
    func insert(
        _ result: StorableResult, source: String? = nil, caller: Caller, in db: any StoreWriter, now: Timestamp
    ) throws {
        try db.insert(result)
        let keyed = result.keyedIdentifiers.isEmpty ? keys.keyed(result.record.patient) : result.keyedIdentifiers
        try link(
            result.record.patient, keyed: keyed, source: source ?? "result:\(result.record.id)", caller: caller,
            in: db, now: now)
    }

    /// Why these identifiers cannot be one person, or nil.
    private func conflict(
        joining joined: [(key: String, identifier: PatientIdentifier)], persons: [String], in db: any StoreWriter
    ) throws -> String? {
        for system in IdentifierRules.onePerPerson.sorted() {
            let values = Set(joined.filter { $0.identifier.system == system }.map(\.identifier.value))
            if values.count > 1 { return "the record would give one person \(values.count) \(system) identifiers" }
        }
        if joined.count > IdentifierRules.maximumPerPerson {
            return "the record would give one person more than \(IdentifierRules.maximumPerPerson) identifiers"
        }
        if persons.count > 1, try db.anySeparation(among: joined.map(\.key)) {
            return "the record links identifiers a person said belong to different people"
        }
        return nil
    }

    /// Puts two persons before a person, for `reason`: a conflict review (an open one on them is reused); its id.
    func askAbout(
        _ persons: [String], _ reason: String, source: String, caller: Caller, in db: any StoreWriter, now: Timestamp
    ) throws -> String {
        try openConflict(reason, persons: persons, newMembers: [], source: source, caller: caller, in: db, now: now)
    }

    /// Keeps the record's new identifiers together in a person of their own, and asks a person about the two
    /// persons in question.
    private func openConflict(
        _ reason: String, persons: [String], newMembers: [(key: String, identifier: PatientIdentifier)],
        source: String, caller: Caller, in db: any StoreWriter, now: Timestamp
    ) throws -> String {
        var pair = Array(persons.prefix(2))
        if !newMembers.isEmpty {
            let own = Person.newID(at: now)
            for member in newMembers {
                try db.link(
                    key: member.key, LinkedIdentifier(member.identifier, linkedAt: now, source: source), personId: own)
            }
            if pair.count < 2 { pair.append(own) }
        }
        if let open = try db.openPersonReview(kind: .conflict, personIds: pair) { return open.id }
        let review = PersonReview(
            id: GeneratedID.make("prv", at: now), kind: .conflict, personIds: pair.sorted(), reason: reason,
            source: source, createdAt: now)
        try db.insert(review)
        try db.appendAudit(
            caller.audit(
                "person.conflict", "person_review", review.id,
                detail: "persons=\(review.personIds.joined(separator: ",")) source=\(source)"),
            at: now)
        return review.id
    }

    /// Notes a new person's name, birth date and sex, and suggests every other person who has the same.
    private func suggestMatches(
        for person: String, _ patient: Patient, source: String, in db: any StoreWriter, now: Timestamp
    ) throws {
        guard let demographic = keys.demographicKey(for: patient) else { return }
        // A common name with a common birth date may be shared by many: a person is asked about a few at most.
        for other in try db.persons(demographicKey: demographic).prefix(Self.suggestionsPerPerson) where other != person
        {
            let pair = [other, person].sorted()
            guard try db.openPersonReview(kind: .suggestion, personIds: pair) == nil,
                try !db.personsKeptApart(pair)
            else { continue }
            try db.insert(
                PersonReview(
                    id: GeneratedID.make("prv", at: now), kind: .suggestion, personIds: pair,
                    reason: "same name, birth date and sex", source: source, createdAt: now))
        }
        try db.addDemographicKey(demographic, personId: person)
    }
}
