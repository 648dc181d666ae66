import DICOM
import DIMSE
import Foundation
import HubCore
import HubServer
import HubStore
import TestSupport
import Testing

/// A free TCP port on loopback, for a door whose configuration needs a number (`dicom.port` 0 turns it off).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    try #require(bound == 0)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// dcmtk's tools, as a modality or workstation would run them; `TCP_NODELAY=1` so that each message is sent at once.
enum DCMTK {
    static func run(_ tool: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        var environment = OutsideTools.defaultEnvironment
        environment["TCP_NODELAY"] = "1"
        let path = try #require(
            ["/usr/bin/\(tool)", "/usr/local/bin/\(tool)"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "\(OutsideTools.missing(tool + " (dcmtk)"))")
        let (status, output) = try await ChildProcess.run(path, arguments, environment: environment)
        return (status, String(decoding: output, as: UTF8.self))
    }
}

@Suite struct DIMSEDoorTests {
    /// A hub with its DIMSE door on a free port, a clinic with a CT modality registered, and an exam waiting for
    /// images.
    struct Setup {
        var port: Int
        var people: Alliance
        var examId: String
        var accession: String
        var patientID: String
    }

    static func withDoor(
        aeTitle: String = "ALLIANCEHUB", _ body: @Sendable (HubClient, Setup) async throws -> Void
    ) async throws {
        var hub = try TestHub()
        defer { hub.remove() }
        hub.config.dicomPort = try freeLoopbackPort()
        hub.config.dicomAETitle = aeTitle
        try await hub.run { hub in
            let people = try await Alliance.make(hub)
            let patientID = residentID()
            let exam = try await hub.call(
                .post, "/v1/exams", token: people.clinicToken, json: Alliance.examBody(patientID: patientID))
            try #require(exam.status == 201, "\(exam.text)")
            let node = try await hub.call(
                .post, "/v1/institutions/hs-clinic/dicom-nodes", token: hub.admin,
                json: ["ae_title": "HS_CT_1", "host": "127.0.0.1", "port": 11112, "kind": "modality"])
            try #require(node.status == 201, "\(node.text)")
            let port = try await hub.hub.dicom.port()
            try await body(
                hub,
                Setup(
                    port: port, people: people, examId: try #require(exam["id"]),
                    accession: try #require(exam["accession_number"]), patientID: patientID))
        }
    }

    /// A CT slice of the exam's patient and accession number, in a temporary file for storescu.
    static func ctSlice(
        _ setup: Setup, sop: String, pixels: UInt8 = 0x20, in directory: URL
    ) throws -> (path: String, bytes: Data) {
        let elements: [DICOMWriter.Element] = [
            .string(.specificCharacterSet, .CS, "ISO_IR 192"),
            .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2"), .string(.sopInstanceUID, .UI, sop),
            .string(.studyDate, .DA, "20261207"), .string(.accessionNumber, .SH, setup.accession),
            .string(.modality, .CS, "CT"), .string(.patientName, .PN, "张^三"),
            .string(.patientID, .LO, setup.patientID),
            .string(.studyInstanceUID, .UI, "1.2.826.0.1.3680043.10.77"),
            .string(.seriesInstanceUID, .UI, "1.2.826.0.1.3680043.10.77.1"),
            DICOMWriter.Element(DICOMTag(0x0028, 0x0010), .US, .uint16s([4])),
            DICOMWriter.Element(DICOMTag(0x0028, 0x0011), .US, .uint16s([4])),
            DICOMWriter.Element(DICOMTag(0x7FE0, 0x0010), .OW, .bytes(Array(repeating: pixels, count: 32))),
        ]
        let bytes = Data(try DICOMWriter.write(elements))
        let path = directory.appendingPathComponent(sop + ".dcm").path
        try bytes.write(to: URL(fileURLWithPath: path))
        return (path, bytes)
    }

    /// Registers a DICOM node of `institution` at loopback.
    static func registerNode(
        _ hub: HubClient, at institution: String, _ aeTitle: String, port: Int, kind: String
    ) async throws {
        let node = try await hub.call(
            .post, "/v1/institutions/\(institution)/dicom-nodes", token: hub.admin,
            json: ["ae_title": aeTitle, "host": "127.0.0.1", "port": port, "kind": kind])
        try #require(node.status == 201, "\(node.text)")
    }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dimse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func echoscuIsAnsweredForARegisteredNodeAndRefusedForAnyOther() async throws {
        try await Self.withDoor { hub, setup in
            let echo = try await DCMTK.run(
                "echoscu", ["-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port)])
            #expect(echo.status == 0, "\(echo.output)")
            // An AE title nobody registered.
            let stranger = try await DCMTK.run(
                "echoscu", ["-aet", "STRANGER", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port)])
            #expect(stranger.status != 0)
            #expect(stranger.output.contains("Calling AE Title Not Recognized"), "\(stranger.output)")
            // The hub called by another name.
            let called = try await DCMTK.run(
                "echoscu", ["-aet", "HS_CT_1", "-aec", "OTHERHUB", "127.0.0.1", String(setup.port)])
            #expect(called.status != 0)
            #expect(called.output.contains("Called AE Title Not Recognized"), "\(called.output)")
            // A node registered at another address than the one the association comes from.
            let elsewhere = try await hub.call(
                .post, "/v1/institutions/hs-clinic/dicom-nodes", token: hub.admin,
                json: ["ae_title": "HS_DR_2", "host": "10.20.30.40", "port": 104, "kind": "modality"])
            #expect(elsewhere.status == 201, "\(elsewhere.text)")
            let moved = try await DCMTK.run(
                "echoscu", ["-aet", "HS_DR_2", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port)])
            #expect(moved.status != 0)
            #expect(moved.output.contains("Calling AE Title Not Recognized"), "\(moved.output)")
            // A node whose institution is suspended is refused too.
            let suspended = try await hub.call(
                .patch, "/v1/institutions/hs-clinic", token: hub.admin, json: ["status": "suspended"])
            #expect(suspended.status == 200, "\(suspended.text)")
            let afterSuspension = try await DCMTK.run(
                "echoscu", ["-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port)])
            #expect(afterSuspension.status != 0, "\(afterSuspension.output)")
        }
    }

    @Test func storescuFilesTheInstanceInTheExamOfItsAccessionNumber() async throws {
        try await Self.withDoor { hub, setup in
            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let first = try Self.ctSlice(setup, sop: "1.2.826.0.1.3680043.10.77.1.1", in: folder)
            let second = try Self.ctSlice(setup, sop: "1.2.826.0.1.3680043.10.77.1.2", pixels: 0x30, in: folder)
            let store = try await DCMTK.run(
                "storescu",
                ["-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port), first.path, second.path])
            #expect(store.status == 0, "\(store.output)")
            // Both are the exam's attachments now, and DICOMweb serves them.
            let attachments = try await hub.get(
                "/v1/exams/\(setup.examId)/attachments", token: setup.people.clinicToken)
            #expect(attachments.status == 200, "\(attachments.text)")
            #expect(attachments.items.count == 2, "\(attachments.text)")
            let found = try await hub.get(
                "/dicomweb/studies/1.2.826.0.1.3680043.10.77/instances", token: setup.people.clinicToken)
            #expect(found.status == 200, "\(found.text)")
            #expect(DICOMwebTests.json(found).count == 2)
            let retrieved = try await hub.get(
                "/dicomweb/studies/1.2.826.0.1.3680043.10.77/series/1.2.826.0.1.3680043.10.77.1/instances/"
                    + "1.2.826.0.1.3680043.10.77.1.2", token: setup.people.clinicToken)
            let part = try #require(
                try Multipart.parts(retrieved.body, contentType: retrieved.headers[.contentType] ?? "").first)
            // The same data set as sent, under a file meta header naming the sender.
            let file = try DICOMFile.parse([UInt8](part))
            #expect(file.summary.sopInstanceUID == "1.2.826.0.1.3680043.10.77.1.2")
            #expect(file.summary.accessionNumber == setup.accession)
            #expect(String(decoding: part, as: UTF8.self).contains("HS_CT_1"))
            #expect(part.suffix(32) == second.bytes.suffix(32))
            // The audit log names the door and the node.
            let (_, auditor) = try await hub.practitioner(at: "wh-xiehe", roles: ["auditor"])
            let audit = try await hub.get("/v1/audit?limit=100", token: auditor)
            let stores = audit.items.filter { $0["action"] as? String == "dimse.store" }
            #expect(stores.count == 2, "\(audit.text)")
            #expect(stores.allSatisfy { ($0["institution_id"] as? String) == "hs-clinic" })
        }
    }

    @Test func aDuplicateWithOtherBytesAndAWorkstationsStoreAreRefused() async throws {
        try await Self.withDoor { hub, setup in
            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let sop = "1.2.826.0.1.3680043.10.77.1.9"
            let original = try Self.ctSlice(setup, sop: sop, in: folder)
            let arguments = ["-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port)]
            #expect(try await DCMTK.run("storescu", arguments + [original.path]).status == 0)
            // The same bytes again: nothing to do, success.
            #expect(try await DCMTK.run("storescu", arguments + [original.path]).status == 0)
            // Other bytes under the same SOP Instance UID: Duplicate SOP Instance (0111H).
            let other = try Self.ctSlice(setup, sop: sop, pixels: 0x55, in: try Self.temporaryFolder())
            let duplicate = try await DCMTK.run("storescu", ["-v"] + arguments + [other.path])
            #expect(duplicate.output.contains("0x111"), "\(duplicate.output)")
            // A workstation stores nothing: no storage context is accepted.
            let workstation = try await hub.call(
                .post, "/v1/institutions/wh-xiehe/dicom-nodes", token: hub.admin,
                json: ["ae_title": "WH_READ_1", "host": "127.0.0.1", "port": 11113, "kind": "workstation"])
            #expect(workstation.status == 201, "\(workstation.text)")
            let refused = try await DCMTK.run(
                "storescu",
                ["-aet", "WH_READ_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port), original.path])
            #expect(refused.status != 0, "\(refused.output)")
            let echo = try await DCMTK.run(
                "echoscu", ["-aet", "WH_READ_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port)])
            #expect(echo.status == 0, "\(echo.output)")
        }
    }

    @Test func compressedAndBigEndianFilesAreStoredAsSent() async throws {
        try await Self.withDoor { hub, setup in
            // pydicom's sample files, written by other software, each proposed in its own transfer syntax (storescu's
            // option for it), so that nothing is converted on the way.
            let files = [
                ("JPEG2000.dcm", "-xw"), ("SC_rgb_rle.dcm", "-xr"), ("JPEG-lossy.dcm", "-xx"),
                ("MR_small_bigendian.dcm", "-xb"), ("SC_rgb_jpeg_dcmtk.dcm", "-xy"),
            ]
            let directory = try #require(SampleFiles.directory, "\(OutsideTools.missing("pydicom"))")
            for (name, option) in files {
                let path = directory + "/" + name
                let store = try await DCMTK.run(
                    "storescu",
                    ["-v", option, "-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port), path])
                #expect(store.status == 0, "\(name): \(store.output)")
                for line in store.output.split(separator: "\n") where line.contains("Converting transfer syntax:") {
                    let marker = try #require(line.range(of: "Converting transfer syntax:"))
                    let sides = line[marker.upperBound...].components(separatedBy: " -> ")
                    #expect(
                        sides.count == 2
                            && sides[0].trimmingCharacters(in: .whitespaces)
                                == sides[1].trimmingCharacters(in: .whitespaces),
                        "\(line)")
                }
                let sent = try Data(contentsOf: URL(fileURLWithPath: path))
                let summary = try DICOMFile.parseHeader([UInt8](sent)).summary
                let sop = try #require(summary.sopInstanceUID)
                let study = try #require(summary.studyInstanceUID)
                let series = try #require(summary.seriesInstanceUID)
                let retrieved = try await hub.get(
                    "/dicomweb/studies/\(study)/series/\(series)/instances/\(sop)", token: setup.people.clinicToken)
                #expect(retrieved.status == 200, "\(name): \(retrieved.text)")
                let part = try #require(
                    try Multipart.parts(retrieved.body, contentType: retrieved.headers[.contentType] ?? "").first)
                // Stored as sent: the same transfer syntax, and the same pixel data bytes at the end of the file.
                #expect(try DICOMFile.parseHeader([UInt8](part)).summary.transferSyntaxUID == summary.transferSyntaxUID)
                #expect(part.suffix(512) == sent.suffix(512), "\(name)")
            }
            // A JPEG-LS file without Study and Series Instance UIDs: Cannot Understand (C000H), nothing stored.
            let incomplete = try await DCMTK.run(
                "storescu",
                [
                    "-v", "-xu", "-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port),
                    directory + "/JPEGLSNearLossless_16.dcm",
                ])
            #expect(incomplete.output.contains("CannotUnderstand"), "\(incomplete.output)")
            let held = try await hub.get("/dicomweb/instances?limit=100", token: setup.people.clinicToken)
            #expect(DICOMwebTests.json(held).count == files.count)
        }
    }

    @Test func garbageAndAbsurdLengthsAreAbortedAndTheDoorStaysUp() async throws {
        try await Self.withDoor { _, setup in
            // A PDU announcing 4 GB, an unknown PDU type, a P-DATA-TF before any association, a cut-short request.
            let attempts: [[UInt8]] = [
                [0x04, 0, 0xFF, 0xFF, 0xFF, 0xFF],
                [0x09, 0, 0, 0, 0, 2, 0, 0],
                PDU.data([PDV(contextID: 1, isCommand: true, isLast: true, bytes: [0])]).encoded(),
                Array(
                    PDU.associateRequest(
                        AssociateRequest(
                            calledAETitle: "ALLIANCEHUB", callingAETitle: "HS_CT_1", presentationContexts: [],
                            userInformation: UserInformation(maximumLength: 0, implementationClassUID: "1.2"))
                    ).encoded().prefix(40)),
            ]
            for (index, bytes) in attempts.enumerated() {
                let answer = try await RawConnection.exchange(
                    port: setup.port, send: bytes, finish: index == 3)
                if index < 3 {
                    // A-ABORT from the provider, then the connection closes.
                    #expect(answer.first == PDU.Kind.abort.rawValue, "attempt \(index): \(answer)")
                }
            }
            let echo = try await DCMTK.run(
                "echoscu", ["-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port)])
            #expect(echo.status == 0, "\(echo.output)")
        }
    }

    @Test func aSilentConnectionIsClosedByTheIdleTimer() async throws {
        var hub = try TestHub()
        defer { hub.remove() }
        hub.config.dicomPort = try freeLoopbackPort()
        hub.config.dicomIdleTimeoutMilliseconds = 300
        try await hub.run { hub in
            let port = try await hub.hub.dicom.port()
            let start = ContinuousClock.now
            let answer = try await RawConnection.exchange(port: port, send: [], finish: false)
            #expect(answer.isEmpty)
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    @Test func nodesAreRegisteredByTheirInstitutionsIntegrationAdministratorAndCheckedField() async throws {
        let hub = try TestHub()
        defer { hub.remove() }
        try await hub.run { hub in
            let people = try await Alliance.make(hub)
            let (_, integration) = try await hub.practitioner(at: "hs-clinic", roles: ["integration_admin"])
            let path = "/v1/institutions/hs-clinic/dicom-nodes"
            let body: [String: Any] = [
                "ae_title": " HS_US_1 ", "host": "192.168.10.21", "port": 104, "kind": "modality",
            ]
            #expect(try await hub.call(.post, path, token: people.clinicToken, json: body).status == 403)
            let created = try await hub.call(.post, path, token: integration, json: body)
            #expect(created.status == 201, "\(created.text)")
            #expect(created["ae_title"] == "HS_US_1")
            let id = try #require(created["id"])
            // The AE title is the hub's to give once.
            let again = try await hub.call(
                .post, "/v1/institutions/wh-xiehe/dicom-nodes", token: hub.admin,
                json: ["ae_title": "HS_US_1", "host": "10.0.0.9", "port": 104, "kind": "pacs"])
            #expect(again.status == 409, "\(again.text)")
            #expect(again.text.contains("ae_title"))
            // Every field is checked and named.
            let bad = try await hub.call(
                .post, path, token: hub.admin,
                json: ["ae_title": "A\\B", "host": "bad host!", "port": 70000, "kind": "scanner"])
            #expect(bad.status == 422 || bad.status == 400, "\(bad.text)")
            let missing = try await hub.call(.post, path, token: hub.admin, json: ["kind": "pacs"])
            #expect(missing.status == 422, "\(missing.text)")
            for field in ["ae_title", "host", "port"] { #expect(missing.text.contains(field), "\(missing.text)") }
            let tooLong = try await hub.call(
                .post, path, token: hub.admin,
                json: ["ae_title": "SEVENTEEN_CHARS_X", "host": "10.0.0.1", "port": 104, "kind": "pacs"])
            #expect(tooLong.status == 422, "\(tooLong.text)")
            // Read, change, list, remove.
            #expect(try await hub.get("\(path)/\(id)", token: people.clinicToken)["host"] == "192.168.10.21")
            let changed = try await hub.call(.patch, "\(path)/\(id)", token: integration, json: ["port": 11112])
            #expect(changed.status == 200, "\(changed.text)")
            #expect(changed.json["port"] as? Int == 11112)
            #expect(try await hub.get(path, token: hub.admin).items.count == 1)
            #expect(try await hub.get("/v1/institutions/wh-xiehe/dicom-nodes/\(id)", token: hub.admin).status == 404)
            #expect(try await hub.call(.delete, "\(path)/\(id)", token: integration).status == 204)
            #expect(try await hub.get("\(path)/\(id)", token: hub.admin).status == 404)
            #expect(try await hub.get("/v1/institutions/nowhere/dicom-nodes", token: hub.admin).status == 404)
            let (_, auditor) = try await hub.practitioner(at: "wh-xiehe", roles: ["auditor"])
            let audit = try await hub.get("/v1/audit?limit=100", token: auditor)
            let actions = Set(audit.items.compactMap { $0["action"] as? String })
            #expect(actions.isSuperset(of: ["dicom_node.create", "dicom_node.update", "dicom_node.delete"]))
        }
    }
}

extension RawConnection {
    /// Sends `bytes` on a new connection (then says it sends nothing more, when `finish`), and answers what the hub
    /// sends back until it closes the connection.
    static func exchange(port: Int, send bytes: [UInt8], finish: Bool) async throws -> [UInt8] {
        try await offPool {
            let connection = try RawConnection(port: port)
            defer { connection.close() }
            if !bytes.isEmpty { try connection.write(Data(bytes)) }
            if finish { connection.finishSending() }
            return connection.readUntilClosed()
        }
    }
}
