import HubCore
import HubStorage

/// The prior results of a patient for an item, as a recognition check judges them and as a peer's query is answered:
/// found by every keyed identifier of the patient, and every identifier the patient index links to them, and by the
/// item's catalog code (equivalent codes count as the same item), each with the level of the institution that
/// performed it (from the registry's cache) and the identifier it was found under.
struct RecognitionCandidates: Sendable {
    let database: any Storage
    let patientKeys: PatientKeys

    init(_ env: HubEnvironment) {
        database = env.database
        patientKeys = env.patientKeys
    }

    /// Each result once, with its performer's level and the identifier it was found under.
    func results(
        _ db: any StoreReader, patient identifiers: [PatientIdentifier], codes: [String]
    ) throws -> [(result: ResultRecord, performerLevel: InstitutionLevel?, foundBy: FoundBy?)] {
        let match = try PatientMatch(db, patientKeys: patientKeys, identifiers: identifiers)
        var seen = Set<String>()
        var levels: [String: InstitutionLevel?] = [:]
        var found: [(ResultRecord, InstitutionLevel?, FoundBy?)] = []
        for code in codes {
            for result in try db.candidates(patientKeys: match.keys, itemCode: code)
            where seen.insert(result.id).inserted {
                guard let foundBy = match.foundBy(result.patient) else { continue }
                if levels[result.institutionId] == nil {
                    levels[result.institutionId] =
                        try db.cachedInstitution(id: result.institutionId)?.level
                }
                found.append((result, levels[result.institutionId] ?? nil, foundBy))
            }
        }
        return found
    }

}
