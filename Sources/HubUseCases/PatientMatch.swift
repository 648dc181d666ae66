import HubCore
import HubStorage

/// Where a search for a patient looks, and which records it finds are the patient's: those filed under an identifier
/// the search gave, and those filed under an identifier the patient index links to one of them.
///
/// The search looks through a person only when the person agrees with what it gave: a person who holds a resident ID
/// (an identifier of which a person has one) other than the one the search gave is someone else who shares a weaker
/// identifier with the patient (a reused or mistyped record number), and their records are not searched, not even
/// those filed under the identifier the search shares with them.
///
/// A record is the patient's unless it says otherwise: one that carries a resident ID other than the one the search
/// gave, or, found only through a link, one the search did not reach, is someone else's record that shares an
/// identifier with them, and it is left out.
struct PatientMatch {
    let patientKeys: PatientKeys
    /// The keys of the identifiers the search gave, but those the index holds for a person who contradicts it.
    let given: Set<String>
    /// Those and every key linked to them, given ones first: what the store is asked for.
    let keys: [String]
    private let searched: Set<String>
    /// The keys of the identifiers of which a person has one that the search gave or reached through the person it
    /// gave, by system.
    private let expected: [String: Set<String>]

    init(_ db: any StoreReader, patientKeys: PatientKeys, identifiers: [PatientIdentifier]) throws {
        let keyed = identifiers.map { ($0, patientKeys.key(for: $0)) }
        try self.init(
            db, patientKeys: patientKeys, keys: keyed.map(\.1),
            onePerPerson: keyed.filter { IdentifierRules.onePerPerson.contains($0.0.system) }.map {
                ($0.0.system, $0.1)
            })
    }

    init(_ db: any StoreReader, patientKeys: PatientKeys, keys given: [String]) throws {
        try self.init(db, patientKeys: patientKeys, keys: given, onePerPerson: [])
    }

    /// `onePerPerson`: the given identifiers of which a person has one, by system and key (those the index holds are
    /// known by their key alone).
    private init(
        _ db: any StoreReader, patientKeys: PatientKeys, keys given: [String],
        onePerPerson: [(system: String, key: String)]
    ) throws {
        self.patientKeys = patientKeys
        let givenKeys = Set(given)
        let members = try db.linkedMembers(ofKeys: given)
        var expected: [String: Set<String>] = [:]
        for (system, key) in onePerPerson { expected[system, default: []].insert(key) }
        for member in members
        where givenKeys.contains(member.key) && IdentifierRules.onePerPerson.contains(member.system) {
            expected[member.system, default: []].insert(member.key)
        }
        // Asked by weaker identifiers that all belong to one person: that person's resident ID is the patient's, and
        // a record filed under a shared record number with another resident ID is someone else's.
        let reached = Set(members.filter { givenKeys.contains($0.key) }.map(\.personId))
        if expected.isEmpty, reached.count == 1 {
            for member in members
            where reached.contains(member.personId) && IdentifierRules.onePerPerson.contains(member.system) {
                expected[member.system, default: []].insert(member.key)
            }
        }
        let contradicting = Set(
            members.filter { member in expected[member.system].map { !$0.contains(member.key) } ?? false }.map(
                \.personId))
        // A given identifier that the index holds for someone who contradicts the search (a record number of the one
        // searched for that the hospital gave to another): what is filed under it is theirs, not the patient's.
        let trusted = givenKeys.subtracting(
            members.filter { contradicting.contains($0.personId) && expected[$0.system] == nil }.map(\.key))
        self.given = trusted
        var keys = given.filter(trusted.contains)
        var seen = givenKeys
        for member in members where !contradicting.contains(member.personId) && seen.insert(member.key).inserted {
            keys.append(member.key)
        }
        self.keys = keys
        searched = Set(keys)
        self.expected = expected
    }

    /// The identifier of `patient` the search found them under, or nil when the record is not the searched patient's.
    func foundBy(_ patient: Patient) -> FoundBy? {
        // A placeholder value (a record number of 0 for anyone unknown) finds no one.
        let keyed = patient.identifiers.filter { !IdentifierRules.isPlaceholder($0.value) }.map {
            ($0, patientKeys.key(for: $0))
        }
        // Someone else's record that shares a weaker identifier with the patient: it names another resident ID.
        let otherPerson = keyed.contains { identifier, key in
            expected[identifier.system].map { !$0.contains(key) } ?? false
        }
        if otherPerson { return nil }
        if let direct = keyed.first(where: { given.contains($0.1) }) {
            return FoundBy(identifier: direct.0, linked: false)
        }
        guard let linked = keyed.first(where: { searched.contains($0.1) }) else { return nil }
        let contradicted = keyed.contains {
            IdentifierRules.onePerPerson.contains($0.0.system) && !searched.contains($0.1)
        }
        return contradicted ? nil : FoundBy(identifier: linked.0, linked: true)
    }

    func matches(_ patient: Patient) -> Bool { foundBy(patient) != nil }
}
