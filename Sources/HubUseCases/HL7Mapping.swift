import HL7
import HubCore

/// The patient of a PID segment: every identifier of PID-3 the hub knows the kind of, the name, birth date and sex.
///
/// An identifier's kind is its identifier type code (CX-5, HL7 table 0203):
/// - `NNCHN`, `NN`, `NI`: the resident ID (`cn-resident-id`), checked fully;
/// - `SN`, `MC`: the medical-insurance number (`cn-medical-insurance`);
/// - `HC`: the electronic health card (`cn-health-card`);
/// - `MR`: the sending institution's medical record number (`mrn:<institution>`), when its assigning authority (CX-4)
///   names the sender (its facility, MSH-4, or its institution's id). A record number without one, or one another
///   authority assigned, is left out: a regional laboratory sends the record numbers of many hospitals, and the same
///   number of two of them would otherwise be one patient.
/// Identifiers of other types (`PI`, `PT`, `AN`, `VN`: numbers of a system, a visit or an account, not of the person)
/// are left out; a PID-3 with none the hub knows refuses the message.
enum HL7Patient {
    /// Who sent the message: whose record numbers an `MR` without another assigning authority is.
    struct Sender {
        var institutionId: String
        var facility: String
    }

    static let systems: [String: String] = [
        "NNCHN": PatientIdentifier.residentID, "NN": PatientIdentifier.residentID, "NI": PatientIdentifier.residentID,
        "SN": PatientIdentifier.medicalInsurance, "MC": PatientIdentifier.medicalInsurance,
        "HC": IdentifierRules.healthCard,
    ]
    static let recordNumber = "MR"

    /// Administrative sex (HL7 table 0001) as the hub codes it, and the code the hub writes for each.
    static let sexes: [String: Sex] = [
        "M": .male, "F": .female, "O": .other, "A": .other, "U": .unknown, "N": .unknown,
    ]
    static let sexCodes: [Sex: String] = [.male: "M", .female: "F", .other: "O", .unknown: "U"]

    /// The patient of the `sequence`th PID of a message.
    static func read(_ pid: HL7Segment, sequence: Int = 1, sender: Sender, utcOffsetMinutes: Int) throws -> Patient {
        var patient = try identifiers(pid[3], segment: "PID", sequence: sequence, field: 3, sender: sender)
        var problems: [HL7Inbound.Problem] = []
        if let name = personName(pid[5]) { patient.name = name }
        if let text = pid.value(7) {
            if let date = HL7Time.date(text) {
                patient.birthDate = date
            } else {
                problems.append(
                    HL7Inbound.Problem(
                        code: .dataTypeError,
                        location: HL7ErrorLocation(segmentID: "PID", segmentSequence: sequence, field: 7),
                        message: "PID-7: '\(text)' is not a birth date (YYYYMMDD)"))
            }
        }
        if let code = pid.value(8) {
            patient.sex = sexes[code]
            if patient.sex == nil {
                problems.append(
                    HL7Inbound.Problem(
                        code: .tableValueNotFound,
                        location: HL7ErrorLocation(segmentID: "PID", segmentSequence: sequence, field: 8),
                        message: "PID-8: '\(code)' is not an administrative sex (M, F, O, U, A, N)"))
            }
        }
        if !problems.isEmpty { throw HL7Inbound.Problems(all: problems) }
        return patient
    }

    /// The identifiers of a CX list (PID-3, MRG-1), each checked; the problems name the repetition.
    static func identifiers(
        _ list: HL7Field, segment: String, sequence: Int = 1, field: Int, sender: Sender
    ) throws -> Patient {
        var identifiers: [PatientIdentifier] = []
        var repetitionOf: [Int] = []
        var problems: [HL7Inbound.Problem] = []
        for (index, repetition) in list.repetitions.enumerated() {
            guard let value = repetition.value(component: 1) else { continue }
            let type = repetition.value(component: 5) ?? ""
            let system: String
            if let known = systems[type] {
                system = known
            } else if type == recordNumber, sender.assigned(repetition[4]) {
                system = "mrn:\(sender.institutionId)"
            } else {
                continue
            }
            let identifier = PatientIdentifier(system: system, value: value)
            if let problem = identifier.problem {
                problems.append(
                    HL7Inbound.Problem(
                        code: .dataTypeError,
                        location: HL7ErrorLocation(
                            segmentID: segment, segmentSequence: sequence, field: field, fieldRepetition: index + 1),
                        message: "\(segment)-\(field)[\(index + 1)]: \(problem)"))
                continue
            }
            if !identifiers.contains(identifier) {
                identifiers.append(identifier)
                repetitionOf.append(index + 1)
            }
        }
        let patient = Patient(identifiers: identifiers)
        var v = Validator()
        patient.validate(&v)
        if case .failure(let error) = Result(catching: { try v.check() }), let error = error as? HubError {
            for problem in error.fields {
                let repetition = Self.index(in: problem.field).map { repetitionOf[$0] }
                let location = HL7ErrorLocation(
                    segmentID: segment, segmentSequence: sequence, field: field, fieldRepetition: repetition)
                problems.append(
                    HL7Inbound.Problem(
                        code: identifiers.isEmpty ? .requiredFieldMissing : .dataTypeError,
                        location: location,
                        message: identifiers.isEmpty
                            ? "\(location.label): no identifier the hub accepts (a CX-5 of NNCHN, NN, NI, SN, MC or HC, or MR with the sender as its CX-4)"
                            : "\(location.label): \(problem.detail)"))
            }
        }
        if !problems.isEmpty { throw HL7Inbound.Problems(all: problems) }
        return patient
    }

    /// `identifiers[3]` → 3.
    static func index(in field: String) -> Int? {
        guard let open = field.lastIndex(of: "["), let close = field.lastIndex(of: "]"), open < close else {
            return nil
        }
        return Int(field[field.index(after: open)..<close])
    }

    /// The first name of an XPN list: family name then given name, without a space between Chinese names.
    static func personName(_ field: HL7Field) -> String? {
        let repetition = field[repetition: 1]
        return Patient.name(family: repetition[1].value(subcomponent: 1), given: repetition.value(component: 2))
    }
}

extension HL7Patient.Sender {
    init(_ application: HL7Application) {
        self.init(institutionId: application.institutionId, facility: application.facility)
    }

    /// True when a CX-4 (assigning authority, HD) names the sender: its namespace or universal id is the sender's
    /// facility or institution id.
    func assigned(_ authority: HL7Component) -> Bool {
        let names = [authority.value(subcomponent: 1), authority.value(subcomponent: 2)].compactMap { $0 }
        return names.contains { $0 == facility || $0 == institutionId }
    }
}

/// One OBR with its OBX lines, and the results it makes: one result with every observation as a value when OBR-4
/// names a catalog item (a panel, or an item measured once), else one result per OBX whose OBX-3 names one.
struct HL7ResultOrder {
    var obr: HL7Segment
    var sequence: Int
    var orc: HL7Segment?
    var observations: [(segment: HL7Segment, sequence: Int)]
    /// The PID this order belongs to (its place in the message), for the problems of the patient.
    var pidSequence = 1

    /// What an OBX's result status (OBX-11, else the order's OBR-25) asks for its line.
    enum LineStatus: Equatable {
        /// A value to register with this status (F, C, P, R).
        case value(ReportStatus, corrects: Bool)
        /// The value sent before was wrong (W) or is deleted (D): the result is withdrawn.
        case withdrawn
        /// The result cannot be obtained (X): nothing to register, and a result sent before for it is withdrawn.
        case notObtained
        /// Nothing yet (I pending, O ordered, N not asked): the line carries no value and changes nothing.
        case noValue
    }

    /// One result to register, or to withdraw, and where in the message each of its parts came from.
    struct Planned {
        var input: Results.Input
        /// The order number (filler, else placer), which a later correction names.
        var order: String?
        /// True for a corrected result (C): it replaces the result the order registered for the item.
        var corrects: Bool
        /// True when the lines withdraw the result the order registered for the item (W, D, X) and bring no value.
        var withdraws: Bool
        /// True when there may be nothing to withdraw (X: a result that could not be obtained was maybe never sent).
        var withdrawalOptional = false
        var statusLocation: HL7ErrorLocation
        var itemLocation: HL7ErrorLocation
        var timeLocation: HL7ErrorLocation
        var patientLocation: HL7ErrorLocation
        /// The OBX of each value, by the value's index.
        var observationOfValue: [Int]

        /// The problems a validation error of the registry names, at the places of the message they came from.
        func problems(for error: HubError) -> [HL7Inbound.Problem] {
            let fields = error.fields.isEmpty ? [HubError.FieldProblem(field: "", detail: error.detail)] : error.fields
            return fields.map { problem in
                let location: HL7ErrorLocation?
                var code = HL7ErrorCode.dataTypeError
                if problem.field.hasPrefix("patient") {
                    location = patientLocation
                } else if problem.field == "item_code" {
                    location = itemLocation
                    code = .tableValueNotFound
                } else if problem.field == "performed_at" {
                    location = timeLocation
                } else if problem.field.hasPrefix("values"), let index = HL7Patient.index(in: problem.field),
                    index < observationOfValue.count
                {
                    location = HL7ErrorLocation(segmentID: "OBX", segmentSequence: observationOfValue[index], field: 5)
                } else if problem.field == "values", let first = observationOfValue.first {
                    location = HL7ErrorLocation(segmentID: "OBX", segmentSequence: first, field: 5)
                    code = .requiredFieldMissing
                } else {
                    location = nil
                }
                return HL7Inbound.Problem(
                    code: code, location: location,
                    message: "\(location?.label ?? "message"): \(problem.detail)")
            }
        }
    }

    var order: String? {
        for (segment, field) in [(obr, 3), (obr, 2), (orc, 3), (orc, 2)] {
            if let id = segment?.value(field) {
                return segment?.value(field, component: 2).map { "\(id)^\($0)" } ?? id
            }
        }
        return nil
    }

    /// The status of each line: its OBX-11, else the order's OBR-25; nil, with a problem, when neither is one the hub
    /// reads.
    func lineStatus(
        _ line: (segment: HL7Segment, sequence: Int), problems: inout [HL7Inbound.Problem]
    ) -> (LineStatus, HL7ErrorLocation)? {
        let own = line.segment.value(11)
        let location =
            own != nil
            ? HL7ErrorLocation(segmentID: "OBX", segmentSequence: line.sequence, field: 11)
            : HL7ErrorLocation(segmentID: "OBR", segmentSequence: sequence, field: 25)
        switch own ?? obr.value(25) {
        case "F": return (.value(.final, corrects: false), location)
        case "C": return (.value(.corrected, corrects: true), location)
        case "P", "R": return (.value(.preliminary, corrects: false), location)
        case "W", "D": return (.withdrawn, location)
        case "X": return (.notObtained, location)
        case "I", "O", "N": return (.noValue, location)
        case nil:
            problems.append(
                HL7Inbound.Problem(
                    code: .requiredFieldMissing,
                    location: HL7ErrorLocation(segmentID: "OBX", segmentSequence: line.sequence, field: 11),
                    message:
                        "OBX(\(line.sequence))-11: the result status (F, C, P, R, W, D or X) is required, here or in OBR-25"
                ))
        case let other?:
            problems.append(
                HL7Inbound.Problem(
                    code: .tableValueNotFound, location: location,
                    message:
                        "\(location.label): result status '\(other)' is not one the hub registers (F, C, P, R, W, D, X, I, O, N)"
                ))
        }
        return nil
    }

    /// The results of this order; the problems of its own fields (time, status, codes) refuse the message.
    func plan(
        patient: Patient, utcOffsetMinutes: Int, item: (String, String?) -> CatalogItem?
    ) throws -> [Planned] {
        var problems: [HL7Inbound.Problem] = []
        let timeLocation = HL7ErrorLocation(segmentID: "OBR", segmentSequence: sequence, field: 7)
        var performedAt: Timestamp?
        if let text = obr.value(7) {
            performedAt = HL7Time.timestamp(text, utcOffsetMinutes: utcOffsetMinutes)
            if performedAt == nil {
                problems.append(
                    HL7Inbound.Problem(
                        code: .dataTypeError, location: timeLocation,
                        message: "\(timeLocation.label): '\(text)' is not a date and time (YYYYMMDD[HHMM[SS]][+ZZZZ])"))
            }
        } else {
            problems.append(
                HL7Inbound.Problem(
                    code: .requiredFieldMissing, location: timeLocation,
                    message: "\(timeLocation.label): the observation date and time is required"))
        }
        if observations.isEmpty {
            problems.append(
                HL7Inbound.Problem(
                    code: .segmentSequenceError,
                    location: HL7ErrorLocation(segmentID: "OBR", segmentSequence: sequence),
                    message: "OBR(\(sequence)): an order carries its observations (OBX)"))
        }
        var statuses: [Int: (LineStatus, HL7ErrorLocation)] = [:]
        for line in observations {
            if let status = lineStatus(line, problems: &problems) { statuses[line.sequence] = status }
        }
        let patientLocation = HL7ErrorLocation(segmentID: "PID", segmentSequence: pidSequence, field: 3)
        let serviceLocation = HL7ErrorLocation(segmentID: "OBR", segmentSequence: sequence, field: 4)
        let panel = Self.coded(obr[4], item)
        var planned: [Planned] = []
        /// The result of `lines`: their values with the weakest status among them (a panel with one preliminary value
        /// is preliminary; one with a corrected or withdrawn value is a correction), or the withdrawal of the result
        /// when they withdraw values and bring none.
        func plan(_ item: CatalogItem, _ lines: [(segment: HL7Segment, sequence: Int)], at location: HL7ErrorLocation) {
            let known = lines.compactMap { line in statuses[line.sequence].map { (line, $0.0, $0.1) } }
            guard known.count == lines.count else { return }
            let kept = known.filter { if case .value = $0.1 { return true } else { return false } }
            let withdrawn = known.contains { $0.1 == .withdrawn }
            let notObtained = known.contains { $0.1 == .notObtained }
            if kept.isEmpty && !withdrawn && !notObtained { return }  // nothing yet
            var status = ReportStatus.final
            var corrects = withdrawn
            for (_, line, _) in kept {
                guard case .value(let lineStatus, let correcting) = line else { continue }
                if lineStatus == .preliminary { status = .preliminary }
                if correcting { corrects = true }
            }
            if corrects && status != .preliminary { status = .corrected }
            let values = kept.compactMap { Self.value(of: $0.0.segment) }
            let texts = kept.compactMap { line -> String? in
                Self.textTypes.contains(line.0.segment.value(2) ?? "") ? line.0.segment.value(5) : nil
            }
            var input = Results.Input(
                patient: patient, itemCode: item.code, performedAt: performedAt, reportStatus: status,
                centerId: nil, findings: nil, conclusion: nil, values: nil, attachments: nil)
            if item.kind == .lab {
                input.values = values
            } else {
                input.findings = texts.isEmpty ? nil : texts.joined(separator: "\n")
                input.values = values.isEmpty ? nil : values
            }
            planned.append(
                Planned(
                    input: input, order: order, corrects: corrects, withdraws: kept.isEmpty,
                    withdrawalOptional: kept.isEmpty && !withdrawn,
                    statusLocation: (kept.first ?? known.first!).2, itemLocation: location,
                    timeLocation: timeLocation, patientLocation: patientLocation,
                    observationOfValue: kept.filter { Self.value(of: $0.0.segment) != nil }.map(\.0.sequence)))
        }
        if let panel {
            plan(panel, observations, at: serviceLocation)
        } else {
            // A text observation that names no item is a note of the order (溶血, 已复查): the findings of its results.
            var notes: [String] = []
            var named = 0
            for line in observations {
                let location = HL7ErrorLocation(segmentID: "OBX", segmentSequence: line.sequence, field: 3)
                guard let found = Self.coded(line.segment[3], item) else {
                    if Self.textTypes.contains(line.segment.value(2) ?? "") {
                        if let note = line.segment.value(5) { notes.append(note) }
                        continue
                    }
                    let code = line.segment.value(3) ?? "(none)"
                    problems.append(
                        HL7Inbound.Problem(
                            code: .tableValueNotFound, location: location,
                            message:
                                "\(location.label): '\(code)' names no item of the catalog or the institution's code map, nor does \(serviceLocation.label)"
                        ))
                    continue
                }
                named += 1
                plan(found, [line], at: location)
            }
            if named == 0 && problems.isEmpty {
                problems.append(
                    HL7Inbound.Problem(
                        code: .tableValueNotFound, location: serviceLocation,
                        message:
                            "\(serviceLocation.label): '\(obr.value(4) ?? "(none)")' names no item of the catalog or the institution's code map, nor does any OBX-3"
                    ))
            }
            if !notes.isEmpty {
                for index in planned.indices where planned[index].input.findings == nil && !planned[index].withdraws {
                    planned[index].input.findings = notes.joined(separator: "\n")
                }
            }
        }
        if !problems.isEmpty { throw HL7Inbound.Problems(all: problems) }
        return planned
    }

    static let textTypes: Set<String> = ["TX", "FT", "ST"]

    /// The catalog item a CE/CWE names: by its code, then by its alternate code.
    static func coded(_ field: HL7Field, _ item: (String, String?) -> CatalogItem?) -> CatalogItem? {
        let repetition = field[repetition: 1]
        for (code, system) in [(1, 3), (4, 6)] {
            if let value = repetition.value(component: code),
                let found = item(value, repetition.value(component: system))
            {
                return found
            }
        }
        return nil
    }

    /// The value an OBX carries, or nil when it carries none.
    static func value(of obx: HL7Segment) -> LabValue? {
        let type = obx.value(2) ?? ""
        let field = obx[5]
        let text: String?
        if ["CE", "CWE", "CNE"].contains(type) {
            text = field.value(component: 2) ?? field.value(component: 1)
        } else if type == "SN" {
            // Structured numeric: comparator, number, separator, number (`>^100`, `^1^:^128`).
            let parts = (1...4).compactMap { field.value(component: $0) }
            text = parts.isEmpty ? nil : parts.joined()
        } else {
            text = field.value()
        }
        guard let value = text else { return nil }
        let observed = obx[3][repetition: 1]
        let loinc =
            observed.value(component: 3) == "LN"
            ? observed.value(component: 1)
            : observed.value(component: 6) == "LN" ? observed.value(component: 4) : nil
        let flag = obx.value(8).flatMap {
            ["H", "L", "HH", "LL", "A", "N"].contains($0) ? $0 : ($0 == "AA" ? "A" : nil)
        }
        return LabValue(
            code: observed.value(component: 1), loinc: loinc, value: value,
            unit: obx.value(6) ?? obx.value(6, component: 2), referenceRange: obx.value(7), flag: flag)
    }
}

/// HL7 date and time values as the hub's times.
enum HL7Time {
    /// The calendar date a DT/DTM names (a birth date), or nil when it names no whole day.
    static func date(_ text: String) -> CivilDate? {
        guard let time = HL7DateTime.parse(text), let month = time.month, let day = time.day else { return nil }
        return CivilDate(year: time.year, month: month, day: day)
    }

    /// The instant a DTM/TS names; one without an offset is at the hub's (`hub.utc_offset_minutes`), one without a
    /// time of day at its start. Nil for a value that is not a date (a bare year or month is not a time either).
    static func timestamp(_ text: String, utcOffsetMinutes: Int) -> Timestamp? {
        guard let time = HL7DateTime.parse(text), let month = time.month, let day = time.day,
            let date = CivilDate(year: time.year, month: month, day: day)
        else { return nil }
        let seconds = (time.hour ?? 0) * 3600 + (time.minute ?? 0) * 60 + (time.second ?? 0)
        let offset = time.utcOffsetMinutes ?? utcOffsetMinutes
        return date.startTimestamp(utcOffsetMinutes: offset).adding(
            milliseconds: Int64(seconds) * 1000 + Int64(time.milliseconds ?? 0))
    }

    /// The hub's time as an HL7 DTM to the second, at the hub's offset (MSH-7 of what it sends).
    static func dateTime(_ time: Timestamp, utcOffsetMinutes: Int) -> HL7DateTime {
        let day = time.civilDate(utcOffsetMinutes: utcOffsetMinutes)
        let seconds = Int(
            (time.millisecondsSinceEpoch - day.startTimestamp(utcOffsetMinutes: utcOffsetMinutes).millisecondsSinceEpoch)
                / 1000)
        return HL7DateTime(
            year: day.year, month: day.month, day: day.day, hour: seconds / 3600, minute: seconds / 60 % 60,
            second: seconds % 60, utcOffsetMinutes: utcOffsetMinutes)!
    }
}
