import HubCore
import HubStorage

/// Where a search for a patient looks, and which records it finds are the patient's: those filed under an identifier
/// the search gave, and those filed under an identifier the patient index links to one of them.
///
/// A record found only through a link is the patient's unless it says otherwise: when it carries an identifier of
/// which a person has one (a resident ID) that is not the searched person's, it is someone else's record that shares
/// an identifier with them (a reused or mistyped record number), and it is left out.
struct PatientMatch {
    let patientKeys: PatientKeys
    /// The keys of the identifiers the search gave.
    let given: Set<String>
    /// Those and every key linked to them, given ones first: what the store is asked for.
    let keys: [String]
    private let searched: Set<String>

    init(_ db: any StoreReader, patientKeys: PatientKeys, identifiers: [PatientIdentifier]) throws {
        try self.init(db, patientKeys: patientKeys, keys: identifiers.map(patientKeys.key(for:)))
    }

    init(_ db: any StoreReader, patientKeys: PatientKeys, keys given: [String]) throws {
        self.patientKeys = patientKeys
        self.given = Set(given)
        keys = try db.linkedKeys(given)
        searched = Set(keys)
    }

    /// The identifier of `patient` the search found them under, or nil when the record is not the searched patient's.
    func foundBy(_ patient: Patient) -> FoundBy? {
        let keyed = patient.identifiers.map { ($0, patientKeys.key(for: $0)) }
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
