import DICOM
import DIMSE
import Foundation
import HubCore
import HubServer
import TestSupport
import Testing

/// C-GET and C-MOVE with dcmtk's getscu and movescu as the workstation. A C-MOVE's destination is a second hub's
/// DIMSE door: dcmtk's storescp cannot be bound to loopback alone, and a destination must listen only there.
@Suite struct DIMSERetrieveTests {
    static let study = "1.2.826.0.1.3680043.10.77"

    /// Two CT slices of the exam stored through the door by the clinic's modality.
    static func storeSlices(_ setup: DIMSEDoorTests.Setup, in folder: URL) async throws -> [Data] {
        let slices = try ["\(study).1.1", "\(study).1.2"].enumerated().map { index, sop in
            try DIMSEDoorTests.ctSlice(setup, sop: sop, pixels: UInt8(0x20 + index), in: folder)
        }
        let store = try await DCMTK.run(
            "storescu",
            ["-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port)] + slices.map(\.path))
        try #require(store.status == 0, "\(store.output)")
        return slices.map(\.bytes)
    }

    /// getscu for one study at study level, into a new folder `name` under `folder`.
    static func getscu(
        _ calling: String, study: String, port: Int, into folder: URL, _ name: String, options: [String] = []
    ) async throws -> (status: Int32, output: String, folder: URL) {
        let into = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: into, withIntermediateDirectories: true)
        let (status, output) = try await DCMTK.run(
            "getscu",
            ["-v", "-S"] + options + [
                "-aet", calling, "-aec", "ALLIANCEHUB", "-od", into.path, "-k", "QueryRetrieveLevel=STUDY", "-k",
                "StudyInstanceUID=\(study)", "127.0.0.1", String(port),
            ])
        return (status, output, into)
    }

    /// The data sets getscu wrote into `folder`, by SOP Instance UID.
    static func received(in folder: URL) throws -> [String: DICOMFile] {
        var files: [String: DICOMFile] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let file = try DICOMFile.parse(try Data(contentsOf: folder.appendingPathComponent(name)))
            files[file.summary.sopInstanceUID ?? name] = file
        }
        return files
    }

    @Test func getscuRetrievesTheStudyOnItsOwnAssociationInTheStoredSyntax() async throws {
        try await DIMSEDoorTests.withDoor { hub, setup in
            let folder = try DIMSEDoorTests.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let sent = try await Self.storeSlices(setup, in: folder)
            let get = try await Self.getscu(
                "HS_CT_1", study: Self.study, port: setup.port, into: folder, "got")
            let into = get.folder
            #expect(get.status == 0, "\(get.output)")
            let got = try Self.received(in: into)
            #expect(Set(got.keys) == ["\(Self.study).1.1", "\(Self.study).1.2"], "\(get.output)")
            // Byte for byte the data sets that were stored.
            for (index, sop) in ["\(Self.study).1.1", "\(Self.study).1.2"].enumerated() {
                let file = try #require(got[sop])
                let original = try DICOMFile.parse(sent[index])
                #expect(
                    Array(file.dataset.buffer[file.datasetOffset...])
                        == Array(original.dataset.buffer[original.datasetOffset...]))
            }

            // A JPEG 2000 file goes back only in JPEG 2000: proposed uncompressed alone, its sub-operation fails
            // and the final status names it (B000H); proposed in its own syntax, it arrives as stored.
            let directory = try #require(SampleFiles.directory, "\(OutsideTools.missing("pydicom"))")
            let j2k = directory + "/JPEG2000.dcm"
            let stored = try await DCMTK.run(
                "storescu", ["-xw", "-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port), j2k])
            #expect(stored.status == 0, "\(stored.output)")
            let summary = try DICOMFile.parseHeader([UInt8](try Data(contentsOf: URL(fileURLWithPath: j2k)))).summary
            let j2kStudy = try #require(summary.studyInstanceUID)
            let refused = try await Self.getscu(
                "HS_CT_1", study: j2kStudy, port: setup.port, into: folder, "uncompressed")
            let uncompressed = refused.folder
            #expect(try Self.received(in: uncompressed).isEmpty, "\(refused.output)")
            #expect(refused.output.contains("Number of Failed Suboperations    : 1"), "\(refused.output)")
            let accepted = try await Self.getscu(
                "HS_CT_1", study: j2kStudy, port: setup.port, into: folder, "j2k", options: ["+xw"])
            let asStored = accepted.folder
            #expect(accepted.status == 0, "\(accepted.output)")
            let arrived = try #require(try Self.received(in: asStored).values.first, "\(accepted.output)")
            #expect(arrived.summary.transferSyntaxUID == summary.transferSyntaxUID)

            // Another hospital's workstation sees none of it: nothing is sent.
            try await hub.institution("yz-hospital", level: "secondary", region: "321002", alliances: ["wh-east"])
            try await DIMSEDoorTests.registerNode(hub, at: "yz-hospital", "YZ_READ_1", port: 11112, kind: "workstation")
            let stranger = try await Self.getscu(
                "YZ_READ_1", study: Self.study, port: setup.port, into: folder, "elsewhere")
            let elsewhere = stranger.folder
            #expect(try Self.received(in: elsewhere).isEmpty, "\(stranger.output)")

            let (_, auditor) = try await hub.practitioner(at: "wh-xiehe", roles: ["auditor"])
            let audit = try await hub.get("/v1/audit?limit=200", token: auditor)
            let retrievals = audit.items.filter { $0["action"] as? String == "dicom.retrieve" }
            #expect(retrievals.count == 4, "\(audit.text)")
        }
    }

    @Test func movescuSendsTheStudyToANodeOfItsInstitution() async throws {
        var center = try TestHub()
        defer { center.remove() }
        center.config.dicomPort = try freeLoopbackPort()
        center.config.dicomAETitle = "CENTERPACS"
        try await center.run { center in
            // The center's archive takes stores from the hub as a PACS of its institution.
            try await center.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
            let inbound = try await center.call(
                .post, "/v1/institutions/wh-xiehe/dicom-nodes", token: center.admin,
                json: ["ae_title": "ALLIANCEHUB", "host": "127.0.0.1", "port": 104, "kind": "pacs"])
            try #require(inbound.status == 201, "\(inbound.text)")
            let centerPort = try await center.hub.dicom.port()
            let (_, centerStaff) = try await center.practitioner(at: "wh-xiehe", roles: ["clinic"])

            try await DIMSEDoorTests.withDoor { hub, setup in
                let folder = try DIMSEDoorTests.temporaryFolder()
                defer { try? FileManager.default.removeItem(at: folder) }
                let sent = try await Self.storeSlices(setup, in: folder)
                for (title, port, kind) in [
                    ("WH_READ_1", 11112, "workstation"), ("CENTERPACS", centerPort, "pacs"),
                    ("WH_DOWN", try freeLoopbackPort(), "pacs"),
                ] {
                    try await DIMSEDoorTests.registerNode(hub, at: "wh-xiehe", title, port: port, kind: kind)
                }
                func move(to destination: String, level: String = "STUDY") async throws -> (Int32, String) {
                    try await DCMTK.run(
                        "movescu",
                        [
                            "-v", "-S", "-aet", "WH_READ_1", "-aem", destination, "-aec", "ALLIANCEHUB", "-k",
                            "QueryRetrieveLevel=\(level)", "-k", "StudyInstanceUID=\(Self.study)", "127.0.0.1",
                            String(setup.port),
                        ])
                }
                let (status, output) = try await move(to: "CENTERPACS")
                #expect(status == 0, "\(output)")
                #expect(output.contains("Final Move Response (Success)"), "\(output)")
                // The center's archive holds both instances, byte for byte, sent by the hub.
                for (index, sop) in ["\(Self.study).1.1", "\(Self.study).1.2"].enumerated() {
                    let retrieved = try await center.get(
                        "/dicomweb/studies/\(Self.study)/series/\(Self.study).1/instances/\(sop)", token: centerStaff)
                    #expect(retrieved.status == 200, "\(retrieved.text)")
                    let part = try #require(
                        try Multipart.parts(retrieved.body, contentType: retrieved.headers[.contentType] ?? "").first)
                    #expect(part.suffix(32) == sent[index].suffix(32))
                    #expect(String(decoding: part, as: UTF8.self).contains("ALLIANCEHUB"))
                }
                // A destination nobody registered, or one of another institution, is unknown (A801H).
                for destination in ["NOWHERE", "HS_CT_1"] {
                    let (_, refused) = try await move(to: destination)
                    #expect(refused.contains("MoveDestinationUnknown") || refused.contains("0xa801"), "\(refused)")
                }
                // A destination that does not answer: the sub-operations cannot be performed (A702H).
                let (_, down) = try await move(to: "WH_DOWN")
                #expect(down.contains("Refused: OutOfResourcesSubOperations"), "\(down)")
            }
        }
    }
}
