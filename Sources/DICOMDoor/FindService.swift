import DICOM
import DIMSE
import Foundation
import HubCore
import HubStorage
import HubUseCases

/// A request that ends in a failure status (PS3.7 C), with why: what the services' answers throw.
struct DIMSEFailure: Error {
    var status: UInt16
    var comment: String
}

/// The C-FIND services: the modality worklist (PS3.4 K) and Patient and Study Root query (PS3.4 C), answered from
/// what the caller's institution may see.
struct FindService {
    let door: DIMSEDoor
    let node: DICOMNode
    let caller: Caller

    /// The most matches one C-FIND answers; a query with more is refused (A700H) and asked to be narrowed.
    static let maximumMatches = 5000

    /// The answers to `identifier` on `abstractSyntax`, each a data set's elements.
    func answers(
        to identifier: FindIdentifier, abstractSyntax: String
    ) async throws(DIMSEFailure) -> [[DICOMWriter.Element]] {
        do {
            if abstractSyntax == SOPClass.modalityWorklistFind { return try await worklist(identifier) }
            return try await query(identifier, patientRoot: abstractSyntax == SOPClass.patientRootFind)
        } catch let failure as DIMSEFailure {
            throw failure
        } catch let error as HubError {
            switch error.kind {
            case .tooLarge: throw DIMSEFailure(status: Status.outOfResources, comment: error.detail)
            case .invalid, .malformed:
                throw DIMSEFailure(status: Status.identifierDoesNotMatchSOPClass, comment: error.detail)
            case .forbidden, .unauthenticated: throw DIMSEFailure(status: Status.notAuthorized, comment: error.detail)
            default: throw DIMSEFailure(status: Status.cannotUnderstand, comment: error.detail)
            }
        } catch {
            throw DIMSEFailure(
                status: Status.cannotUnderstand, comment: "the hub could not answer the query; ask again")
        }
    }

    // MARK: Modality worklist

    private func worklist(_ identifier: FindIdentifier) async throws -> [[DICOMWriter.Element]] {
        let procedures = try await door.worklist.procedures(for: caller, target: node.aeTitle)
        let characterSet = identifier.answerCharacterSet
        return procedures.lazy.map(record).filter(identifier.matches).map {
            identifier.answer($0, characterSet: characterSet)
        }
    }

    /// A worklist entry as the attributes of PS3.4 Table K.6-1.
    private func record(_ procedure: ScheduledProcedure) -> FindRecord {
        let exam = procedure.exam
        let local = procedure.scheduledAt.millisecondsSinceEpoch + Int64(door.settings.utcOffsetMinutes) * 60_000
        let day = Timestamp(millisecondsSinceEpoch: local).civilDate()
        let seconds = Int((local % 86_400_000 + 86_400_000) % 86_400_000 / 1000)
        let time = String(format: "%02d%02d%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        let identifiers = exam.patient.identifiers
        var record: FindRecord = [
            .patientName: .text([exam.patient.name ?? ""].filter { !$0.isEmpty }),
            .patientID: .text(identifiers.first.map { [$0.value] } ?? []),
            .issuerOfPatientID: .text(identifiers.first.map { [$0.system] } ?? []),
            .otherPatientIDsSequence: .items(
                identifiers.dropFirst().map { [.patientID: .text([$0.value]), .issuerOfPatientID: .text([$0.system])] }
            ),
            .patientBirthDate: .text(exam.patient.birthDate.map { [Self.dicomDate($0)] } ?? []),
            .patientSex: .text(exam.patient.sex.flatMap(Self.dicomSex).map { [$0] } ?? []),
            .accessionNumber: .text([exam.accessionNumber]),
            .studyInstanceUID: .text([procedure.studyInstanceUID]),
            .referringPhysicianName: .text(exam.submittedBy.name.map { [$0] } ?? []),
            .requestedProcedureID: .text([exam.accessionNumber]),
            .requestedProcedureDescription: .text([exam.itemName]),
            .requestedProcedureCodeSequence: .items([
                [
                    .codeValue: .text([exam.itemCode]), .codingSchemeDesignator: .text(["99ALLIANCEHUB"]),
                    .codeMeaning: .text([exam.itemName]),
                ]
            ]),
            .requestedProcedurePriority: .text([Self.dicomPriority(exam.priority)]),
            .reasonForTheRequestedProcedure: .text(exam.clinicalInfo.map { [$0] } ?? []),
        ]
        record[.scheduledProcedureStepSequence] = .items([
            [
                // The hub assigns no station: every modality of the clinic is offered the step.
                .scheduledStationAETitle: .text([node.aeTitle]),
                .scheduledProcedureStepStartDate: .text([Self.dicomDate(day)]),
                .scheduledProcedureStepStartTime: .text([time]),
                .modality: .text(procedure.modality.map { [$0] } ?? []),
                .scheduledProcedureStepDescription: .text([exam.itemName]),
                .scheduledProcedureStepID: .text([exam.accessionNumber]),
                .scheduledProcedureStepStatus: .text(["SCHEDULED"]),
            ]
        ])
        return record
    }

    static func dicomDate(_ date: CivilDate) -> String { date.description.filter { $0 != "-" } }

    static func dicomSex(_ sex: Sex) -> String? {
        switch sex {
        case .male: "M"
        case .female: "F"
        case .other: "O"
        case .unknown: nil
        }
    }

    /// Requested Procedure Priority (0040,1003): STAT, HIGH, ROUTINE, MEDIUM or LOW.
    static func dicomPriority(_ priority: Priority) -> String {
        switch priority {
        case .stat: "STAT"
        case .asap, .urgent: "HIGH"
        case .routine: "ROUTINE"
        }
    }

    // MARK: Query

    private func query(_ identifier: FindIdentifier, patientRoot: Bool) async throws -> [[DICOMWriter.Element]] {
        guard let levelName = identifier.value(.queryRetrieveLevel)?.uppercased() else {
            throw DIMSEFailure(
                status: Status.identifierDoesNotMatchSOPClass,
                comment: "the identifier has no Query/Retrieve Level (0008,0052)")
        }
        let level: DICOMStore.Level
        switch levelName {
        case "PATIENT" where patientRoot, "STUDY": level = .study
        case "SERIES": level = .series
        case "IMAGE": level = .instance
        default:
            throw DIMSEFailure(
                status: Status.identifierDoesNotMatchSOPClass,
                comment: "Query/Retrieve Level '\(levelName)' is not one of this information model's")
        }
        // Keys the index searches on go to it; the others are matched here, on what the answers hold.
        let searchable = DICOMStore.searchable(at: level)
        var parameters: [(name: String, value: String)] = [("limit", "1000")]
        for key in identifier.keys where !key.values.isEmpty {
            guard let keyword = DICOMQuery.keywords.first(where: { $0.value == key.tag })?.key,
                searchable.contains(keyword)
            else { continue }
            parameters.append((keyword, key.values.joined(separator: "\\")))
        }
        let query = try DICOMQuery(level: level, study: nil, series: nil, parameters: parameters)
        let rows = try await door.archive.searchAll(
            query, for: caller, target: "\(node.aeTitle) \(levelName)", maximum: Self.maximumMatches)
        let characterSet = identifier.answerCharacterSet
        let common: FindRecord = [
            .queryRetrieveLevel: .text([levelName]), .retrieveAETitle: .text([door.settings.aeTitle]),
        ]
        if levelName == "PATIENT" {
            return patients(rows).filter(identifier.matches).map {
                identifier.answer($0, extra: common, characterSet: characterSet)
            }
        }
        return rows.lazy.map { row in
            var record = FindRecord(dicomJSON: row.attributes)
            record[.studyInstanceUID] = .text([row.studyUID])
            switch level {
            case .study:
                record[.modalitiesInStudy] = .text(
                    (row.modalities ?? "").split(separator: "\\").map(String.init))
                record[.numberOfStudyRelatedSeries] = .text(["\(row.seriesCount ?? 0)"])
                record[.numberOfStudyRelatedInstances] = .text(["\(row.instanceCount ?? 0)"])
            case .series:
                record[.seriesInstanceUID] = .text(row.seriesUID.map { [$0] } ?? [])
                record[.numberOfSeriesRelatedInstances] = .text(["\(row.instanceCount ?? 0)"])
            case .instance:
                record[.seriesInstanceUID] = .text(row.seriesUID.map { [$0] } ?? [])
                record[.sopInstanceUID] = .text(row.sopInstanceUID.map { [$0] } ?? [])
            }
            return record
        }.filter(identifier.matches).map { identifier.answer($0, extra: common, characterSet: characterSet) }
    }

    /// The patients of the studies found, one record each with the patient's attributes and study count.
    private func patients(_ rows: [DICOMRow]) -> [FindRecord] {
        var order: [String] = []
        var byPatient: [String: (record: FindRecord, studies: Int)] = [:]
        for row in rows {
            let study = FindRecord(dicomJSON: row.attributes)
            guard case .text(let ids) = study[.patientID], let id = ids.first else { continue }
            if byPatient[id] == nil {
                order.append(id)
                var patient: FindRecord = [:]
                for tag in [DICOMTag.patientID, .patientName, .patientBirthDate, .patientSex, .issuerOfPatientID] {
                    patient[tag] = study[tag] ?? .text([])
                }
                byPatient[id] = (patient, 0)
            }
            byPatient[id]?.studies += 1
        }
        return order.compactMap { id in
            guard var entry = byPatient[id] else { return nil }
            entry.record[.numberOfPatientRelatedStudies] = .text(["\(entry.studies)"])
            return entry.record
        }
    }
}
