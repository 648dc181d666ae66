import Foundation
import HL7
import HubCore
import HubStorage

/// IHE's patient queries over HL7 v2, answered on the same connection as an ACK would be:
/// - PIX query (ITI-9, QBP^Q23 → RSP^K23): QPD-3 an identifier, QPD-4 the domains wanted (every one when empty);
///   the answer's PID-3 lists the person's identifiers in those domains, the one asked about left out.
/// - PDQ query (ITI-21, QBP^Q22 → RSP^K22): QPD-3 a list of `@PID.<field>^<value>` pairs, an identifier
///   (`@PID.3.1`, with its domain `@PID.3.4.1` or type `@PID.3.5`) or the name (`@PID.5.1.1` family, `@PID.5.2`
///   given), birth date (`@PID.7.1`) and sex (`@PID.8`), matched exactly (`PatientQueries`); a PID per person found.
///
/// QAK-2 says OK, NF (no one, or no identifier in the domains wanted) or AE, with an ERR naming the field of QPD
/// that the hub cannot read (an unknown domain, an identifier it cannot check).
extension HL7Inbound {
    /// One QBP^Q23 or QBP^Q22; its RSP. Nothing is stored but the audit record.
    func query(_ message: HL7Message, sender: HL7Application, caller: Caller, now: Timestamp) async throws -> [UInt8] {
        let pdq = message.event == "Q22"
        let header = HL7MessageHeader(message)
        let qpd = try Self.required(message, "QPD")
        let from = HL7Patient.Sender(sender)
        let queries = patientQueries
        // Read in the transaction that answers it: a domain may name an institution, which must be registered.
        let (refused, found, asked) = try await database.write {
            db -> ([Problem], [PatientQueries.Found]?, PatientIdentifier?) in
            let registered = { (id: String) in (try? db.cachedInstitution(id: id)) != nil }
            do {
                if pdq {
                    let (identifier, patient) = try HL7Domains.demographicsQuery(
                        qpd[3], sender: from, registered: registered)
                    return (
                        [],
                        try queries.find(
                            identifier: identifier, demographics: patient, caller: caller, in: db, now: now),
                        nil
                    )
                }
                let (identifier, systems) = try HL7Domains.crossReferenceQuery(
                    qpd, sender: from, registered: registered)
                return (
                    [],
                    try queries.crossReference(identifier, systems: systems, caller: caller, in: db, now: now).map {
                        [$0]
                    } ?? [],
                    identifier
                )
            } catch let more as Problems {
                return (more.all, nil, nil)
            }
        }
        var problems = refused
        if !pdq, found?.isEmpty == true {
            // PIX: an identifier of a known domain that the hub knows no one by is AE, naming it (ITI-9's case 3).
            problems.append(
                Problem(
                    code: .unknownKeyIdentifier, location: HL7ErrorLocation(segmentID: "QPD", field: 3),
                    message: "QPD-3: the hub knows no one by this identifier"))
        }
        var answered = acknowledgement(header, problems.isEmpty ? .accept : .error, problems, now: now).message
        answered.segments[0][9] = HL7Field(components: ["RSP", pdq ? "K22" : "K23", pdq ? "RSP_K21" : "RSP_K23"])
        var pids: [HL7Segment] = []
        var status = "AE"
        if problems.isEmpty, var persons = found {
            if let asked {
                // PIX: the identifiers other than the one asked about; none in the domains wanted is NF.
                persons = persons.map { found in
                    var found = found
                    found.person.identifiers.removeAll { $0.identifier == asked }
                    return found
                }.filter { !$0.person.identifiers.isEmpty }
            }
            status = persons.isEmpty ? "NF" : "OK"
            pids = persons.enumerated().map { index, found in
                HL7Domains.pid(
                    found.person.identifiers.map(\.identifier),
                    demographics: pdq
                        ? Patient(identifiers: [], name: found.name, sex: found.sex, birthDate: found.birthDate) : nil,
                    setID: index + 1)
            }
        }
        var qak = HL7Segment(id: "QAK")
        qak[1] = qpd[2]
        qak[2] = HL7Field(status)
        qak[3] = qpd[1]
        if pdq, let found {
            (qak[4], qak[5], qak[6]) = (HL7Field("\(found.count)"), HL7Field("\(found.count)"), HL7Field("0"))
        }
        answered.segments += [qak, qpd] + pids
        if let bytes = try? answered.encoded() { return bytes }
        return acknowledge(
            header, .error,
            [
                Problem(
                    code: .applicationInternalError,
                    message: "the answer cannot be written in the message's character set")
            ],
            now: now)
    }
}

/// The identifier domains of HL7 v2 messages the hub answers in (CX-4, the assigning authority, and CX-5, the type):
/// - the resident ID: `CN-RESIDENT` (`2.16.156.10011.1.3`), type `NNCHN`;
/// - the medical-insurance number: `CNHSA`, type `SN`;
/// - the electronic health card: `CN-HEALTH-CARD`, type `HC`;
/// - a hospital's record number: the institution's id as the hub registered it, type `MR` (the sender's own facility
///   name stands for its institution too).
enum HL7Domains {
    static let residentDomain = "CN-RESIDENT"
    static let residentOID = "2.16.156.10011.1.3"
    static let insuranceDomain = "CNHSA"
    static let healthCardDomain = "CN-HEALTH-CARD"

    /// The identifier as a CX: value, CX-4 and CX-5.
    static func cx(_ identifier: PatientIdentifier) -> HL7Repetition {
        let (authority, type): (HL7Component, String) =
            switch identifier.system {
            case PatientIdentifier.residentID:
                (HL7Component(subcomponents: [residentDomain, residentOID, "ISO"]), "NNCHN")
            case PatientIdentifier.medicalInsurance: (HL7Component(insuranceDomain), "SN")
            case IdentifierRules.healthCard: (HL7Component(healthCardDomain), "HC")
            default:
                (HL7Component(String(identifier.system.dropFirst(identifier.system.hasPrefix("mrn:") ? 4 : 0))), "MR")
            }
        return HL7Repetition(components: [
            HL7Component(identifier.value), HL7Component(), HL7Component(), authority, HL7Component(type),
        ])
    }

    /// The hub's system for a domain named by its CX-4 (namespace or universal id), else its CX-5; nil when it names
    /// none the hub knows.
    static func system(
        authority: HL7Component, type: String?, sender: HL7Patient.Sender, registered: (String) -> Bool
    ) -> String? {
        let names = [authority.value(subcomponent: 1), authority.value(subcomponent: 2)].compactMap { $0 }
        for name in names {
            switch name.uppercased() {
            case residentDomain, residentOID: return PatientIdentifier.residentID
            case insuranceDomain: return PatientIdentifier.medicalInsurance
            case healthCardDomain: return IdentifierRules.healthCard
            default: break
            }
            if name == sender.facility { return "mrn:\(sender.institutionId)" }
            if ResourceID.isValid(name), registered(name) { return "mrn:\(name)" }
        }
        guard names.isEmpty, let type else { return nil }
        return HL7Patient.systems[type]
    }

    /// The identifier a query names in a domain the hub knows, or nil with the problem (`unknown` when the domain is
    /// not one it knows).
    static func checked(
        _ value: String, system: String?, unknown: HL7Inbound.Problem, problems: inout [HL7Inbound.Problem]
    ) -> PatientIdentifier? {
        guard let system else {
            problems.append(unknown)
            return nil
        }
        let identifier = PatientIdentifier(system: system, value: value)
        guard let problem = identifier.problem else { return identifier }
        problems.append(
            .init(
                code: .dataTypeError, location: HL7ErrorLocation(segmentID: "QPD", field: 3),
                message: "QPD-3: \(problem)"))
        return nil
    }

    /// QPD-3 and QPD-4 of a PIX query: the identifier asked about and the systems wanted (nil for every one).
    static func crossReferenceQuery(
        _ qpd: HL7Segment, sender: HL7Patient.Sender, registered: (String) -> Bool
    ) throws -> (PatientIdentifier, Set<String>?) {
        var problems: [HL7Inbound.Problem] = []
        let asked = qpd[3][repetition: 1]
        let location = HL7ErrorLocation(segmentID: "QPD", field: 3)
        var identifier: PatientIdentifier?
        if let value = asked.value(component: 1) {
            identifier = checked(
                value,
                system: system(
                    authority: asked[4], type: asked.value(component: 5), sender: sender, registered: registered),
                unknown: HL7Inbound.Problem(
                    code: .unknownKeyIdentifier,
                    location: HL7ErrorLocation(segmentID: "QPD", field: 3, component: 4),
                    message: "QPD-3: the identifier's domain is not one the hub knows"),
                problems: &problems)
        } else {
            problems.append(
                .init(code: .requiredFieldMissing, location: location, message: "QPD-3: the identifier is required"))
        }
        var systems: Set<String>?
        for (index, domain) in qpd[4].repetitions.enumerated() where !domain.components.isEmpty {
            guard
                let system = system(
                    authority: domain[4], type: domain.value(component: 5), sender: sender, registered: registered)
            else {
                problems.append(
                    .init(
                        code: .unknownKeyIdentifier,
                        location: HL7ErrorLocation(segmentID: "QPD", field: 4, fieldRepetition: index + 1),
                        message: "QPD-4[\(index + 1)]: the domain is not one the hub knows"))
                continue
            }
            systems = (systems ?? []).union([system])
        }
        if !problems.isEmpty { throw HL7Inbound.Problems(all: problems) }
        return (identifier!, systems)
    }

    /// QPD-3 of a PDQ query: an identifier, or a name with birth date and sex.
    static func demographicsQuery(
        _ field: HL7Field, sender: HL7Patient.Sender, registered: (String) -> Bool
    ) throws -> (PatientIdentifier?, Patient?) {
        var values: [String: String] = [:]
        for repetition in field.repetitions {
            guard let path = repetition.value(component: 1), let value = repetition.value(component: 2) else {
                continue
            }
            values[path.uppercased()] = value
        }
        func value(_ paths: String...) -> String? { paths.lazy.compactMap { values[$0] }.first }
        var problems: [HL7Inbound.Problem] = []
        let location = HL7ErrorLocation(segmentID: "QPD", field: 3)
        var identifier: PatientIdentifier?
        if let number = value("@PID.3.1", "@PID.3") {
            let authority = HL7Component(
                subcomponents: [value("@PID.3.4.1", "@PID.3.4") ?? "", value("@PID.3.4.2") ?? ""].filter {
                    !$0.isEmpty
                })
            identifier = checked(
                number,
                system: system(authority: authority, type: value("@PID.3.5"), sender: sender, registered: registered),
                unknown: HL7Inbound.Problem(
                    code: .unknownKeyIdentifier, location: location,
                    message: "QPD-3: @PID.3.4 or @PID.3.5 names the identifier's domain, one the hub knows"),
                problems: &problems)
        }
        var patient: Patient?
        let family = value("@PID.5.1.1", "@PID.5.1", "@PID.5")
        let given = value("@PID.5.2")
        let birth = value("@PID.7.1", "@PID.7")
        if family != nil || given != nil || birth != nil {
            var query = Patient(identifiers: [], name: Patient.name(family: family, given: given))
            if let birth {
                query.birthDate = HL7Time.date(birth)
                if query.birthDate == nil {
                    problems.append(
                        .init(
                            code: .dataTypeError, location: location, message: "QPD-3: @PID.7 '\(birth)' is not a date")
                    )
                }
            }
            query.sex = value("@PID.8").flatMap { HL7Patient.sexes[$0] }
            if family == nil || query.birthDate == nil {
                problems.append(
                    .init(
                        code: .requiredFieldMissing, location: location,
                        message:
                            "QPD-3: a demographics query names the patient's name (@PID.5), birth date (@PID.7) and sex (@PID.8); the hub matches them whole"
                    ))
            }
            patient = query
        }
        if identifier == nil && patient == nil && problems.isEmpty {
            problems.append(
                .init(
                    code: .requiredFieldMissing, location: location,
                    message: "QPD-3: the query names an identifier (@PID.3.1) or the name, birth date and sex"))
        }
        if !problems.isEmpty { throw HL7Inbound.Problems(all: problems) }
        return (identifier, patient)
    }

    /// A PID: every identifier in PID-3, and the name, birth date and sex of `demographics` when given.
    static func pid(_ identifiers: [PatientIdentifier], demographics found: Patient?, setID: Int) -> HL7Segment {
        var pid = HL7Segment(id: "PID")
        pid[1] = HL7Field("\(setID)")
        pid[3] = HL7Field(repetitions: identifiers.map(cx))
        guard let found else { return pid }
        if let name = found.name { pid[5] = HL7Field(name) }
        if let birth = found.birthDate {
            pid[7] = HL7Field(String(format: "%04d%02d%02d", birth.year, birth.month, birth.day))
        }
        if let code = found.sex.flatMap({ HL7Patient.sexCodes[$0] }) { pid[8] = HL7Field(code) }
        return pid
    }
}
