import HubCore
import HubStorage

/// Who the patient index says a patient is, for other systems: the cross-reference of identifiers (IHE PIX: an
/// identifier in, every identifier of the same person in the domains asked for out) and the demographics query
/// (IHE PDQ: the persons an identifier, or a name with birth date and sex, names). Both over HL7 v2 (QBP^Q23,
/// QBP^Q22) and FHIR (`$ihe-pix`, `Patient?`).
///
/// A demographics query matches the index's keyed name, birth date and sex exactly (names compared without white space
/// and case, as the index keeps them): a part of a name, or a name without a birth date, finds no one. The hub holds
/// no searchable list of names, and a partial match would offer a clinician the records of strangers.
///
/// A person's demographics are those of the latest record of theirs that gives them (a result, an exam); a person
/// known only from an ADT message has none.
public struct PatientQueries: Sendable {
    let database: any Storage
    let patientKeys: PatientKeys
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        patientKeys = env.patientKeys
        clock = env.clock
    }

    /// A person with their demographics.
    public struct Found: Sendable, Equatable {
        public var person: Person
        public var name: String? = nil
        public var birthDate: CivilDate? = nil
        public var sex: Sex? = nil
    }

    /// Who asks: those who read the index (`PatientIndex.readers`), and a hospital system of a member (its HL7
    /// application).
    static let askers: [Role] = PatientIndex.readers + [.clinic, .reader]

    /// The person `identifier` belongs to, with their identifiers in `systems` (every one when nil), or nil when the
    /// hub knows no one by it. Audited as `person.pix`.
    public func crossReference(
        _ identifier: PatientIdentifier, systems: Set<String>?, caller: Caller, in db: any StoreWriter, now: Timestamp
    ) throws -> Found? {
        try caller.authenticated().requireAny(of: Self.askers)
        let key = patientKeys.key(for: identifier)
        try db.appendAudit(
            caller.audit(
                "person.pix", "person", identifier.system, patientKey: key,
                detail: "systems=\(systems.map { $0.sorted().joined(separator: ",") } ?? "*")"),
            at: now)
        guard !IdentifierRules.isPlaceholder(identifier.value), let id = try db.persons(ofKeys: [key])[key],
            var found = try found(id, db, demographics: false)
        else { return nil }
        if let systems { found.person.identifiers.removeAll { !systems.contains($0.system) } }
        return found
    }

    /// The persons an identifier names (one at most), or whose name, birth date and sex are `demographics`'. Audited
    /// as `person.pdq`.
    public func find(
        identifier: PatientIdentifier?, demographics: Patient?, caller: Caller, in db: any StoreWriter,
        now: Timestamp
    ) throws -> [Found] {
        try caller.authenticated().requireAny(of: Self.askers)
        var ids: [String] = []
        var patientKey: String?
        if let identifier {
            let key = patientKeys.key(for: identifier)
            patientKey = key
            if !IdentifierRules.isPlaceholder(identifier.value), let id = try db.persons(ofKeys: [key])[key] {
                ids.append(id)
            }
        }
        if let demographics, let key = patientKeys.demographicKey(for: demographics) {
            let matching = Set(try db.persons(demographicKey: key))
            ids = identifier == nil ? matching.sorted() : ids.filter(matching.contains)
        }
        let found = try ids.compactMap { try self.found($0, db) }
        try db.appendAudit(
            caller.audit(
                "person.pdq", "persons", identifier?.system ?? "demographics", patientKey: patientKey,
                detail: "count=\(found.count)"),
            at: now)
        return found
    }

    /// A person with the demographics of their latest record that names them (unless `demographics` is false: a
    /// cross-reference answers identifiers only, and need not read the person's records).
    func found(_ id: String, _ db: any StoreReader, demographics: Bool = true) throws -> Found? {
        guard let person = try PatientIndex.person(id, db) else { return nil }
        guard demographics else { return Found(person: person) }
        let keys = person.identifiers.map { patientKeys.key(for: $0.identifier) }
        let match = try PatientMatch(db, patientKeys: patientKeys, keys: keys)
        var latest: (at: Timestamp, patient: Patient)?
        for result in try db.results(patientKeys: match.keys) where match.matches(result.patient) {
            if result.patient.name != nil, latest.map({ result.performedAt > $0.at }) ?? true {
                latest = (result.performedAt, result.patient)
            }
        }
        for exam in try db.exams(
            clinicId: nil, centerIds: nil, step: nil, patientKeys: match.keys, after: nil, limit: 50
        ).items where match.matches(exam.patient) {
            if exam.patient.name != nil, latest.map({ exam.milestones.submittedAt > $0.at }) ?? true {
                latest = (exam.milestones.submittedAt, exam.patient)
            }
        }
        return Found(
            person: person, name: latest?.patient.name, birthDate: latest?.patient.birthDate,
            sex: latest?.patient.sex)
    }
}

extension PatientQueries {
    /// Whether the hub knows an identifier system as a domain of patients: a national one, or the record numbers of
    /// a registered institution.
    static func isKnown(system: String, _ db: any StoreReader) throws -> Bool {
        if IdentifierRules.strongSystems.contains(system) { return true }
        guard system.hasPrefix("mrn:") else { return false }
        return try db.cachedInstitution(id: String(system.dropFirst(4))) != nil
    }

    /// What a cross-reference query asks that the hub cannot answer.
    public enum Unanswerable: Error, Equatable {
        /// The identifier's system is not a domain the hub knows.
        case unknownSource(String)
        /// A domain asked for is not one the hub knows.
        case unknownTarget(String)
    }

    /// `crossReference` in a transaction of its own, for the FHIR form (`$ihe-pix`): the identifier's domain and
    /// those asked for are checked first (`Unanswerable`).
    public func crossReference(
        _ identifier: PatientIdentifier, systems: Set<String>?, for caller: Caller
    ) async throws -> Found? {
        try caller.authenticated().requireAny(of: Self.askers)
        let now = clock()
        return try await database.write { db in
            guard try Self.isKnown(system: identifier.system, db) else {
                throw Unanswerable.unknownSource(identifier.system)
            }
            for system in (systems ?? []).sorted() where try !Self.isKnown(system: system, db) {
                throw Unanswerable.unknownTarget(system)
            }
            return try crossReference(identifier, systems: systems, caller: caller, in: db, now: now)
        }
    }

    /// `find` in a transaction of its own, for the FHIR form (`Patient?`).
    public func find(
        identifier: PatientIdentifier?, demographics: Patient?, for caller: Caller
    ) async throws -> [Found] {
        try caller.authenticated().requireAny(of: Self.askers)
        let now = clock()
        return try await database.write { db in
            try find(identifier: identifier, demographics: demographics, caller: caller, in: db, now: now)
        }
    }

    /// One person with their demographics, by the index's id; audited as `person.read`.
    public func person(id: String, for caller: Caller) async throws -> Found {
        try caller.authenticated().requireAny(of: Self.askers)
        let now = clock()
        return try await database.write { db in
            guard let found = try found(id, db) else { throw HubError.notFound("Patient", id) }
            try db.appendAudit(caller.audit("person.read", "person", id), at: now)
            return found
        }
    }
}
