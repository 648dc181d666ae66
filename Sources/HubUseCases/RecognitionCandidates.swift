import HubCore
import HubStorage

/// The prior results of a patient for an item, as a recognition check judges them and as a peer's query is answered:
/// found by every keyed identifier of the patient and by the item's catalog code (equivalent codes count as the same
/// item), each with the level of the institution that performed it (from the registry's cache).
struct RecognitionCandidates: Sendable {
    let database: any Storage
    let patientKeys: PatientKeys

    init(_ env: HubEnvironment) {
        database = env.database
        patientKeys = env.patientKeys
    }

    /// Each result once, with its performer's level. `generation` is the registry cache's, taken before the read
    /// `db` belongs to began.
    func results(
        _ db: any StoreReader, patient identifiers: [PatientIdentifier], codes: [String]
    ) throws -> [(result: ResultRecord, performerLevel: InstitutionLevel?)] {
        let keys = identifiers.map(patientKeys.key(for:))
        var seen = Set<String>()
        var levels: [String: InstitutionLevel?] = [:]
        var found: [(ResultRecord, InstitutionLevel?)] = []
        for code in codes {
            for result in try db.candidates(patientKeys: keys, itemCode: code)
            where seen.insert(result.id).inserted {
                if levels[result.institutionId] == nil {
                    levels[result.institutionId] =
                        try db.cachedInstitution(id: result.institutionId)?.level
                }
                found.append((result, levels[result.institutionId] ?? nil))
            }
        }
        return found
    }
}
