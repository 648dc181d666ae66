import DICOM
import DIMSE
import Foundation
import HubCore
import HubServer
import HubUseCases
import TestSupport
import Testing

/// The C-FIND services with dcmtk's findscu as the modality and the workstation: the modality worklist (`-W`) and
/// the Study and Patient Root queries (`-S`, `-P`).
@Suite struct DIMSEFindTests {
    /// The answers of one findscu run, read back from the files `--extract` writes.
    struct Answers {
        var status: Int32
        var output: String
        var datasets: [DataSet]
    }

    static func findscu(
        _ model: String, calling: String, port: Int, keys: [String], extraArguments: [String] = []
    ) async throws -> Answers {
        let folder = try DIMSEDoorTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var arguments = [model, "-v", "-X", "-od", folder.path, "-aet", calling, "-aec", "ALLIANCEHUB"]
        arguments += extraArguments
        for key in keys { arguments += ["-k", key] }
        arguments += ["127.0.0.1", String(port)]
        let (status, output) = try await DCMTK.run("findscu", arguments)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("rsp") }
            .sorted()
        let datasets = try files.map { name in
            try DICOMFile.parse(try Data(contentsOf: folder.appendingPathComponent(name))).dataset
        }
        return Answers(status: status, output: output, datasets: datasets)
    }

    /// The worklist keys a modality typically asks for, with the scheduled step's modality to match.
    static func worklistKeys(modality: String = "CT", extra: [String] = []) -> [String] {
        [
            "SpecificCharacterSet=ISO_IR 192", "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate",
            "PatientSex", "AccessionNumber", "StudyInstanceUID", "RequestedProcedureDescription",
            "RequestedProcedureID", "ScheduledProcedureStepSequence[0].Modality=\(modality)",
            "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
        ] + extra
    }

    @Test func theWorklistHoldsTheClinicsExamsThatWaitForImages() async throws {
        try await DIMSEDoorTests.withDoor { hub, setup in
            let answers = try await Self.findscu("-W", calling: "HS_CT_1", port: setup.port, keys: Self.worklistKeys())
            #expect(answers.status == 0, "\(answers.output)")
            try #require(answers.datasets.count == 1, "\(answers.output)")
            let entry = answers.datasets[0]
            #expect(entry.string(.accessionNumber) == setup.accession)
            #expect(entry.string(.patientID) == setup.patientID)
            #expect(entry.string(.issuerOfPatientID) == "cn-resident-id")
            #expect(entry.string(.patientName) == "张三")
            #expect(entry.string(.patientBirthDate) == "19800101")
            #expect(entry.string(.patientSex) == "M")
            #expect(entry.string(.requestedProcedureID) == setup.accession)
            #expect(entry.strings(.specificCharacterSet) == ["ISO_IR 192"])
            #expect(entry.string(.studyInstanceUID) == ModalityWorklist.studyInstanceUID(examId: setup.examId))
            let step = try #require(entry.sequence(.scheduledProcedureStepSequence)?.first)
            #expect(step.string(.modality) == "CT")
            #expect(step.string(.scheduledStationAETitle) == "HS_CT_1")
            #expect(step.string(.scheduledProcedureStepID) == setup.accession)
            // Scheduled for the day it was submitted, in the hub's civil time (UTC+8 by default).
            let today = Timestamp.now().adding(milliseconds: 480 * 60_000).civilDate()
            #expect(step.string(.scheduledProcedureStepStartDate) == today.description.filter { $0 != "-" })
            #expect(step.string(.scheduledProcedureStepStartTime)?.count == 6)

            // Matching: another modality, another name, a day range in the future, another station find nothing.
            let mr = try await Self.findscu(
                "-W", calling: "HS_CT_1", port: setup.port, keys: Self.worklistKeys(modality: "MR"))
            #expect(mr.status == 0 && mr.datasets.isEmpty, "\(mr.output)")
            let byName = try await Self.findscu(
                "-W", calling: "HS_CT_1", port: setup.port, keys: Self.worklistKeys(extra: ["PatientName=张*"]))
            #expect(byName.datasets.count == 1, "\(byName.output)")
            let otherName = try await Self.findscu(
                "-W", calling: "HS_CT_1", port: setup.port, keys: Self.worklistKeys(extra: ["PatientName=李*"]))
            #expect(otherName.datasets.isEmpty, "\(otherName.output)")
            let later = try await Self.findscu(
                "-W", calling: "HS_CT_1", port: setup.port,
                keys: Self.worklistKeys() + [
                    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20991231-"
                ])
            #expect(later.datasets.isEmpty, "\(later.output)")
            let thisWeek = try await Self.findscu(
                "-W", calling: "HS_CT_1", port: setup.port,
                keys: Self.worklistKeys() + [
                    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate="
                        + "\(today.adding(days: -3).description.filter { $0 != "-" })-"
                        + "\(today.adding(days: 3).description.filter { $0 != "-" })"
                ])
            #expect(thisWeek.datasets.count == 1, "\(thisWeek.output)")
            let otherStation = try await Self.findscu(
                "-W", calling: "HS_CT_1", port: setup.port,
                keys: Self.worklistKeys() + ["ScheduledProcedureStepSequence[0].ScheduledStationAETitle=HS_MR_9"])
            #expect(otherStation.datasets.isEmpty, "\(otherStation.output)")

            // Asked in the Chinese national character set, the answer is written in it.
            let gb = try await Self.findscu(
                "-W", calling: "HS_CT_1", port: setup.port,
                keys: ["SpecificCharacterSet=GB18030"] + Self.worklistKeys().dropFirst())
            let gbEntry = try #require(gb.datasets.first, "\(gb.output)")
            #expect(gbEntry.strings(.specificCharacterSet) == ["GB18030"])
            #expect(Array(try #require(gbEntry.bytes(.patientName)).prefix(4)) == [0xD5, 0xC5, 0xC8, 0xFD])
            #expect(gbEntry.string(.patientName) == "张三")

            // Every query is in the audit log, under the clinic.
            let (_, auditor) = try await hub.practitioner(at: "wh-xiehe", roles: ["auditor"])
            let audit = try await hub.get("/v1/audit?limit=200", token: auditor)
            let queries = audit.items.filter { $0["action"] as? String == "dimse.worklist" }
            #expect(queries.count == 8, "\(audit.text)")
            #expect(queries.allSatisfy { ($0["institution_id"] as? String) == "hs-clinic" })

            // Once its images are stored the exam leaves the worklist.
            let folder = try DIMSEDoorTests.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let slice = try DIMSEDoorTests.ctSlice(setup, sop: "1.2.826.0.1.3680043.10.78.1.1", in: folder)
            let store = try await DCMTK.run(
                "storescu", ["-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port), slice.path])
            #expect(store.status == 0, "\(store.output)")
            let after = try await Self.findscu("-W", calling: "HS_CT_1", port: setup.port, keys: Self.worklistKeys())
            #expect(after.status == 0 && after.datasets.isEmpty, "\(after.output)")
        }
    }

    @Test func theWorklistIsTheClinicsOwnAndNotAWorkstations() async throws {
        try await DIMSEDoorTests.withDoor { hub, setup in
            try await hub.institution("yz-clinic", level: "primary", region: "321002", alliances: ["wh-east"])
            for (institution, title, kind) in [
                ("yz-clinic", "YZ_US_1", "modality"), ("wh-xiehe", "WH_READ_1", "workstation"),
            ] {
                try await DIMSEDoorTests.registerNode(hub, at: institution, title, port: 11112, kind: kind)
            }
            // Another clinic's modality is answered, with none of this clinic's exams.
            let other = try await Self.findscu(
                "-W", calling: "YZ_US_1", port: setup.port, keys: Self.worklistKeys(modality: "*"))
            #expect(other.status == 0, "\(other.output)")
            #expect(other.datasets.isEmpty, "\(other.output)")
            // A reading workstation gets no worklist context: the query cannot even be sent.
            let workstation = try await Self.findscu(
                "-W", calling: "WH_READ_1", port: setup.port, keys: Self.worklistKeys())
            #expect(workstation.status != 0, "\(workstation.output)")
            #expect(workstation.datasets.isEmpty)
            // The clinic's own modality sees its exam with a wildcard modality.
            let own = try await Self.findscu(
                "-W", calling: "HS_CT_1", port: setup.port, keys: Self.worklistKeys(modality: "*"))
            #expect(own.datasets.count == 1, "\(own.output)")
        }
    }

    @Test func studyAndPatientRootQueriesAnswerWhatDICOMwebShows() async throws {
        try await DIMSEDoorTests.withDoor { hub, setup in
            let folder = try DIMSEDoorTests.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let slices = try ["1.2.826.0.1.3680043.10.77.1.1", "1.2.826.0.1.3680043.10.77.1.2"].map {
                try DIMSEDoorTests.ctSlice(setup, sop: $0, in: folder).path
            }
            let store = try await DCMTK.run(
                "storescu", ["-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port)] + slices)
            #expect(store.status == 0, "\(store.output)")
            let study = "1.2.826.0.1.3680043.10.77"

            // Study level, matched on the patient.
            let studies = try await Self.findscu(
                "-S", calling: "HS_CT_1", port: setup.port,
                keys: [
                    "QueryRetrieveLevel=STUDY", "PatientID=\(setup.patientID)", "StudyInstanceUID", "PatientName",
                    "AccessionNumber", "ModalitiesInStudy", "NumberOfStudyRelatedInstances",
                    "NumberOfStudyRelatedSeries", "StudyDate",
                ])
            #expect(studies.status == 0, "\(studies.output)")
            let found = try #require(studies.datasets.first, "\(studies.output)")
            #expect(studies.datasets.count == 1)
            #expect(found.string(.studyInstanceUID) == study)
            #expect(found.string(.accessionNumber) == setup.accession)
            #expect(found.string(.patientName) == "张^三")
            #expect(found.string(.modalitiesInStudy) == "CT")
            #expect(found.int(.numberOfStudyRelatedInstances) == 2)
            #expect(found.int(.numberOfStudyRelatedSeries) == 1)
            #expect(found.string(.queryRetrieveLevel) == "STUDY")
            #expect(found.string(.retrieveAETitle) == "ALLIANCEHUB")
            // A date range that excludes the study finds nothing; one that includes it finds it.
            let before = try await Self.findscu(
                "-S", calling: "HS_CT_1", port: setup.port,
                keys: ["QueryRetrieveLevel=STUDY", "StudyDate=19900101-20001231", "StudyInstanceUID"])
            #expect(before.status == 0 && before.datasets.isEmpty, "\(before.output)")
            let around = try await Self.findscu(
                "-S", calling: "HS_CT_1", port: setup.port,
                keys: ["QueryRetrieveLevel=STUDY", "StudyDate=20261201-20261231", "StudyInstanceUID"])
            #expect(around.datasets.count == 1, "\(around.output)")

            // Series and image levels within the study.
            let series = try await Self.findscu(
                "-S", calling: "HS_CT_1", port: setup.port,
                keys: [
                    "QueryRetrieveLevel=SERIES", "StudyInstanceUID=\(study)", "SeriesInstanceUID", "Modality",
                    "NumberOfSeriesRelatedInstances",
                ])
            #expect(series.datasets.map { $0.string(.seriesInstanceUID) } == ["\(study).1"], "\(series.output)")
            #expect(series.datasets.first?.int(.numberOfSeriesRelatedInstances) == 2)
            let images = try await Self.findscu(
                "-S", calling: "HS_CT_1", port: setup.port,
                keys: [
                    "QueryRetrieveLevel=IMAGE", "StudyInstanceUID=\(study)", "SeriesInstanceUID=\(study).1",
                    "SOPInstanceUID", "SOPClassUID",
                ])
            #expect(
                Set(images.datasets.compactMap { $0.string(.sopInstanceUID) })
                    == ["\(study).1.1", "\(study).1.2"], "\(images.output)")
            #expect(images.datasets.allSatisfy { $0.string(.sopClassUID) == "1.2.840.10008.5.1.4.1.1.2" })

            // Patient Root at patient level: one patient, one study.
            let patients = try await Self.findscu(
                "-P", calling: "HS_CT_1", port: setup.port,
                keys: ["QueryRetrieveLevel=PATIENT", "PatientID", "PatientName=张*", "NumberOfPatientRelatedStudies"])
            let patient = try #require(patients.datasets.first, "\(patients.output)")
            #expect(patients.datasets.count == 1)
            #expect(patient.string(.patientID) == setup.patientID)
            #expect(patient.int(.numberOfPatientRelatedStudies) == 1)

            // A level the model does not have is refused: Identifier Does Not Match SOP Class (A900H).
            let wrong = try await Self.findscu(
                "-S", calling: "HS_CT_1", port: setup.port, keys: ["QueryRetrieveLevel=PATIENT", "PatientID"])
            #expect(wrong.datasets.isEmpty)
            // dcmtk names A900H after C-STORE's meaning of it.
            #expect(wrong.output.contains("DataSetDoesNotMatchSOPClass"), "\(wrong.output)")

            // The reading center's workstation sees the study of the exam routed to it; another hospital's does not.
            try await hub.institution("yz-hospital", level: "secondary", region: "321002", alliances: ["wh-east"])
            for (institution, title) in [("wh-xiehe", "WH_READ_1"), ("yz-hospital", "YZ_READ_1")] {
                try await DIMSEDoorTests.registerNode(hub, at: institution, title, port: 11112, kind: "workstation")
            }
            let keys = ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "AccessionNumber"]
            let reader = try await Self.findscu("-S", calling: "WH_READ_1", port: setup.port, keys: keys)
            #expect(reader.datasets.map { $0.string(.studyInstanceUID) } == [study], "\(reader.output)")
            let stranger = try await Self.findscu("-S", calling: "YZ_READ_1", port: setup.port, keys: keys)
            #expect(stranger.status == 0, "\(stranger.output)")
            #expect(stranger.datasets.isEmpty, "\(stranger.output)")

            let (_, auditor) = try await hub.practitioner(at: "wh-xiehe", roles: ["auditor"])
            let audit = try await hub.get("/v1/audit?limit=200", token: auditor)
            #expect(audit.items.filter { $0["action"] as? String == "dicom.search" }.count >= 8, "\(audit.text)")
        }
    }
}
