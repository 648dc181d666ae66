import Crypto
import DICOM
import Foundation
import HTTPTypes
import HubCore
import HubServer
import HubStore
import TestSupport
import Testing

/// pydicom's sample files, written by other DICOM software.
enum SampleFiles {
    static let directory: String? = {
        guard
            let (status, data) = try? ChildProcess.run(
                "python3",
                [
                    "-c",
                    "import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), 'data', 'test_files'))",
                ], stderr: .null),
            status == 0
        else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    static func data(_ name: String) throws -> Data {
        let directory = try #require(directory, "\(OutsideTools.missing("pydicom"))")
        return try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name))
    }
}

/// A `multipart/related; type="application/dicom"` body, and the parts of one.
enum Multipart {
    static func body(
        _ parts: [Data], boundary: String = "hub-test-boundary", type: String = "application/dicom"
    )
        -> Data
    {
        var body = Data()
        for part in parts {
            body += Data("--\(boundary)\r\nContent-Type: \(type)\r\n\r\n".utf8)
            body += part
            body += Data("\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\n".utf8)
        return body
    }

    static let contentType = "multipart/related; type=\"application/dicom\"; boundary=hub-test-boundary"

    /// The parts' contents of a multipart answer, by its Content-Type's boundary.
    static func parts(_ body: Data, contentType: String) throws -> [Data] {
        let boundary = try #require(
            contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("boundary=") }?.dropFirst("boundary=".count))
        let delimiter = Data("--\(boundary)".utf8)
        var parts: [Data] = []
        var rest = body[...]
        while let start = rest.range(of: delimiter) {
            let after = rest[start.upperBound...]
            if after.starts(with: Data("--".utf8)) { break }
            guard let headersEnd = after.range(of: Data("\r\n\r\n".utf8)) else { break }
            let content = after[headersEnd.upperBound...]
            guard let next = content.range(of: Data("\r\n--\(boundary)".utf8)) else { break }
            parts.append(Data(content[..<next.lowerBound]))
            rest = content[next.lowerBound...].dropFirst(2)
        }
        return parts
    }
}

@Suite struct DICOMwebTests {
    /// The same DICOM JSON value, read from an answer: `Value[0]` of a tag.
    static func value(_ object: [String: Any], _ tag: String) -> Any? {
        ((object[tag] as? [String: Any])?["Value"] as? [Any])?.first
    }

    static func json(_ reply: Reply) -> [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: reply.body) as? [[String: Any]]) ?? []
    }

    static let ctSmall = "CT_small.dcm"  // explicit VR little endian
    static let pending = [
        "MR_small_implicit.dcm",  // implicit VR little endian
        "image_dfl.dcm",  // deflated explicit VR little endian
        "JPEG2000.dcm",  // encapsulated JPEG 2000
        "SC_rgb_jpeg_dcmtk.dcm",  // encapsulated JPEG baseline, written by DCMTK
        "rtdose.dcm",  // multi-frame (15 frames)
        "waveform_ecg.dcm",  // 12-lead ECG waveform
        "test-SR.dcm",  // structured report
    ]

    @Test func realFilesAreStoredSearchedAndRetrievedByteForByte() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            // The clinic's own record number of the patient is the files' PatientID.
            var body = Alliance.examBody(patientID: residentID())
            body["patient"] = [
                "identifiers": [
                    ["system": "cn-resident-id", "value": residentID()], ["system": "mrn:hs-clinic", "value": "1CT1"],
                ],
                "name": "张三",
            ]
            let submitted = try await hub.call(.post, "/v1/exams", token: people.clinicToken, json: body)
            let examId = try #require(submitted["id"], "\(submitted.text)")
            let ct = try SampleFiles.data(Self.ctSmall)

            // Into the exam by its id; the instance becomes one of its attachments.
            let first = try await hub.call(
                .post, "/dicomweb/studies?exam_id=\(examId)", token: people.clinicToken, raw: Multipart.body([ct]),
                contentType: Multipart.contentType)
            #expect(first.status == 200, "\(first.text)")
            #expect(first.headers[.contentType] == "application/dicom+json")
            let referenced = try #require((first.json["00081199"] as? [String: Any])?["Value"] as? [[String: Any]])
            #expect(referenced.count == 1)
            #expect(
                Self.value(referenced[0], "00081155") as? String == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322")
            let attachments = try await hub.get("/v1/exams/\(examId)/attachments", token: people.residentToken)
            #expect(attachments.items.count == 1)
            #expect((attachments.items.first?["dicom"] as? [String: String])?["modality"] == "CT")
            #expect(attachments.items.first?["patient_mismatch"] == nil)

            // Every other transfer syntax, a multi-frame image, an ECG and an SR in one request: pending studies.
            let files = try Self.pending.map(SampleFiles.data)
            let rest = try await hub.call(
                .post, "/dicomweb/studies", token: people.clinicToken, raw: Multipart.body(files),
                contentType: Multipart.contentType)
            #expect(rest.status == 200, "\(rest.text)")
            #expect(((rest.json["00081199"] as? [String: Any])?["Value"] as? [Any])?.count == files.count)
            // Storing the same instances again changes nothing.
            let again = try await hub.call(
                .post, "/dicomweb/studies", token: people.clinicToken, raw: Multipart.body(files),
                contentType: Multipart.contentType)
            #expect(again.status == 200, "\(again.text)")
            let count = try await hub.database.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dicom_instances") ?? 0
            }
            #expect(count == files.count + 1)
            // Instances up to InlineBlobs.limit are kept in the database with their index rows, larger ones as files.
            let all = [ct] + files
            #expect(all.contains { $0.count > InlineBlobs.limit } && all.contains { $0.count <= InlineBlobs.limit })
            for (name, data) in zip([Self.ctSmall] + Self.pending, all) {
                let sha = SHA256.hash(data: data).withUnsafeBytes(Hex.encode)
                let inline = try await hub.database.read { try InlineBlobs.bytes($0, sha256: sha) }
                let file = FileManager.default.contents(atPath: hub.env.blobs.path(for: sha))
                if data.count <= InlineBlobs.limit {
                    #expect(inline == Array(data) && file == nil, "\(name) is kept in the database")
                } else {
                    #expect(inline == nil && file == data, "\(name) is a file")
                }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: hub.env.blobs.root + "/tmp").isEmpty)
            // The exam's attachment, downloaded, is the instance kept in the database.
            let ctSHA = SHA256.hash(data: ct).withUnsafeBytes(Hex.encode)
            let download = try await hub.get("/v1/exams/\(examId)/attachments/\(ctSHA)", token: people.residentToken)
            #expect(download.status == 200)
            #expect(download.body == ct)

            // QIDO-RS, as the clinic that stored them.
            let byPatient = try await hub.get("/dicomweb/studies?PatientID=1CT1", token: people.clinicToken)
            #expect(byPatient.status == 200)
            let study = try #require(Self.json(byPatient).first)
            #expect(Self.value(study, "0020000D") as? String == "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322")
            #expect(Self.value(study, "00080061") as? String == "CT")
            #expect(Self.value(study, "00201208") as? Int == 1)
            let byName = try await hub.get("/dicomweb/studies?PatientName=Compressed*", token: people.clinicToken)
            #expect(Self.json(byName).count >= 1)
            #expect(
                Self.json(byName).allSatisfy {
                    (((($0["00100010"] as? [String: Any])?["Value"] as? [[String: Any]])?.first?["Alphabetic"]
                        as? String) ?? "").hasPrefix("Compressed")
                })
            let studies = try await hub.get("/dicomweb/studies?limit=100", token: people.clinicToken)
            let allStudies = Set(Self.json(studies).compactMap { Self.value($0, "0020000D") as? String })
            #expect(allStudies.count == Self.json(studies).count)
            let paged = try await hub.get("/dicomweb/studies?limit=2&offset=1", token: people.clinicToken)
            #expect(Self.json(paged).count == 2)
            let dated = try await hub.get("/dicomweb/studies?StudyDate=20040101-20040131", token: people.clinicToken)
            #expect(Self.json(dated).allSatisfy { ($0["00080020"] as? [String: Any]) != nil })
            #expect(Self.json(dated).contains { Self.value($0, "00080020") as? String == "20040119" })
            let ecgSeries = try await hub.get("/dicomweb/series?Modality=ECG", token: people.clinicToken)
            #expect(Self.json(ecgSeries).count == 1)
            let srInstances = try await hub.get(
                "/dicomweb/instances?SOPClassUID=1.2.840.10008.5.1.4.1.1.88.33&includefield=all",
                token: people.clinicToken)
            #expect(Self.json(srInstances).count == 1)
            #expect(Self.json(srInstances).first?["0040A730"] != nil, "includefield=all returns the content")
            let none = try await hub.get("/dicomweb/studies?PatientID=nobody", token: people.clinicToken)
            #expect(none.status == 204)
            // One search written two ways, and asked again (its compiled statement kept): the same answer each time.
            let studyUID = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
            var answers: [Reply] = []
            for query in [
                "PatientID=1CT1&StudyInstanceUID=\(studyUID)", "StudyInstanceUID=\(studyUID)&PatientID=1CT1",
                "PatientID=1CT1&StudyInstanceUID=\(studyUID)",
            ] {
                let answer = try await hub.get("/dicomweb/studies?\(query)", token: people.clinicToken)
                #expect(answer.status == 200)
                answers.append(answer)
            }
            #expect(Set(answers.map(\.text)).count == 1)
            #expect(Self.json(try #require(answers.first)).count == 1)
            let bad = try await hub.get("/dicomweb/studies?Colour=red", token: people.clinicToken)
            #expect(bad.status == 422)
            #expect(bad.text.contains("Colour"))

            // WADO-RS: the bytes come back as stored, for every file.
            for (name, data) in zip([Self.ctSmall] + Self.pending, [ct] + files) {
                let studyUID = try #require(
                    try await Self.studyUID(of: data, hub: hub, token: people.clinicToken), "\(name)")
                let retrieved = try await hub.get("/dicomweb/studies/\(studyUID)", token: people.clinicToken)
                #expect(retrieved.status == 200, "\(name): \(retrieved.text.prefix(300))")
                let parts = try Multipart.parts(retrieved.body, contentType: retrieved.headers[.contentType] ?? "")
                #expect(parts.contains(data), "\(name) comes back byte for byte")
            }
            let metadata = try await hub.get(
                "/dicomweb/studies/1.3.6.1.4.1.5962.1.2.1.20040119072730.12322/metadata", token: people.clinicToken)
            #expect(metadata.headers[.contentType] == "application/dicom+json")
            #expect(Self.value(try #require(Self.json(metadata).first), "00100020") as? String == "1CT1")
            let transcode = try await hub.call(
                .get, "/dicomweb/studies/1.3.6.1.4.1.5962.1.2.1.20040119072730.12322", token: people.clinicToken,
                headers: ["Accept": "application/octet-stream"])
            #expect(transcode.status == 406)

            // The reading center sees the study of its exam, not the clinic's pending ones; the pending study is
            // attached by the clinic, and then it does.
            let asReader = try await hub.get("/dicomweb/studies", token: people.residentToken)
            #expect(Self.json(asReader).count == 1)
            let ecgStudy = "1.3.76.13.65829.2.20130125082826.1072139.2"
            #expect(try await hub.get("/dicomweb/studies/\(ecgStudy)", token: people.residentToken).status == 404)
            let attached = try await hub.call(
                .post, "/v1/exams/\(examId)/studies", token: people.clinicToken,
                json: ["study_instance_uid": ecgStudy])
            #expect(attached.status == 200, "\(attached.text)")
            #expect(attached.items.count == 2)
            let ecg = try await hub.get("/dicomweb/studies/\(ecgStudy)", token: people.residentToken)
            #expect(try Multipart.parts(ecg.body, contentType: ecg.headers[.contentType] ?? "") == [files[5]])
            // A pending study kept in the database is attached the same way, its header read from there.
            let srStudy = try #require(try await Self.studyUID(of: files[6], hub: hub, token: people.clinicToken))
            let withSR = try await hub.call(
                .post, "/v1/exams/\(examId)/studies", token: people.clinicToken, json: ["study_instance_uid": srStudy])
            #expect(withSR.status == 200, "\(withSR.text)")
            #expect(withSR.items.count == 3)
            #expect(withSR.items.contains { ($0["dicom"] as? [String: String])?["modality"] == "SR" })
            // Another institution's staff see nothing; no token, no answer.
            try await hub.institution("other-clinic", level: "primary", region: "420115")
            let (_, other) = try await hub.practitioner(at: "other-clinic", roles: ["clinic"])
            #expect(try await hub.get("/dicomweb/studies", token: other).status == 204)
            #expect(try await hub.get("/dicomweb/studies").status == 401)
        }
    }

    /// The Study Instance UID of a stored file, found through QIDO by its SOP Instance UID's bytes.
    static func studyUID(of data: Data, hub: HubClient, token: String) async throws -> String? {
        let instances = try await hub.get("/dicomweb/instances?limit=1000", token: token)
        for instance in json(instances) {
            guard let sop = value(instance, "00080018") as? String, data.range(of: Data(sop.utf8)) != nil else {
                continue
            }
            return value(instance, "0020000D") as? String
        }
        return nil
    }

    @Test func partialFailuresConflictsAndWrongMediaTypesGetTheirStatus() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let implicit = try SampleFiles.data("MR_small_implicit.dcm")
            let bigEndian = try SampleFiles.data("MR_small_bigendian.dcm")  // same SOP Instance UID, other bytes
            let expb = try SampleFiles.data("rtdose_expb.dcm")  // explicit VR big endian, multi-frame
            let stored = try await hub.call(
                .post, "/dicomweb/studies", token: people.clinicToken, raw: Multipart.body([bigEndian, expb]),
                contentType: Multipart.contentType)
            #expect(stored.status == 200, "\(stored.text)")
            // One good part and one that is not DICOM: 202, the failure listed with its reason.
            let mixed = try await hub.call(
                .post, "/dicomweb/studies", token: people.clinicToken,
                raw: Multipart.body([try SampleFiles.data("CT_small.dcm"), Data("not dicom at all".utf8)]),
                contentType: Multipart.contentType)
            #expect(mixed.status == 202, "\(mixed.text)")
            let failed = try #require((mixed.json["00081198"] as? [String: Any])?["Value"] as? [[String: Any]])
            #expect(failed.count == 1)
            #expect(Self.value(failed[0], "00081197") as? Int == 0xC000)
            // A different instance under a stored SOP Instance UID: nothing stored, 409, reason 0x0111.
            let duplicate = try await hub.call(
                .post, "/dicomweb/studies", token: people.clinicToken, raw: Multipart.body([implicit]),
                contentType: Multipart.contentType)
            #expect(duplicate.status == 409, "\(duplicate.text)")
            let reason = ((duplicate.json["00081198"] as? [String: Any])?["Value"] as? [[String: Any]])?.first
            #expect(reason.flatMap { Self.value($0, "00081197") as? Int } == 0x0111)
            let refusedSHA = SHA256.hash(data: implicit).withUnsafeBytes(Hex.encode)
            #expect(try await hub.database.read { try InlineBlobs.bytes($0, sha256: refusedSHA) } == nil)
            #expect(!FileManager.default.fileExists(atPath: hub.env.blobs.path(for: refusedSHA)))
            // An instance of a new study claiming a series stored under another study is refused, and leaves no
            // study behind.
            func instance(study: String, series: String, sop: String) throws -> Data {
                Data(
                    try DICOMWriter.write([
                        .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2"), .string(.sopInstanceUID, .UI, sop),
                        .string(.studyInstanceUID, .UI, study), .string(.seriesInstanceUID, .UI, series),
                        .string(.modality, .CS, "CT"), .string(.patientID, .LO, "HS-0042"),
                    ]))
            }
            let first = try await hub.call(
                .post, "/dicomweb/studies", token: people.clinicToken,
                raw: Multipart.body([try instance(study: "1.2.3.100", series: "1.2.3.100.1", sop: "1.2.3.100.1.1")]),
                contentType: Multipart.contentType)
            #expect(first.status == 200, "\(first.text)")
            let stray = try await hub.call(
                .post, "/dicomweb/studies", token: people.clinicToken,
                raw: Multipart.body([try instance(study: "1.2.3.200", series: "1.2.3.100.1", sop: "1.2.3.200.1.1")]),
                contentType: Multipart.contentType)
            #expect(stray.status == 409, "\(stray.text)")
            #expect(
                try await hub.get("/dicomweb/studies?StudyInstanceUID=1.2.3.200", token: people.clinicToken).status
                    == 204)
            // The study in the URL must be the instances' study.
            let wrongStudy = try await hub.call(
                .post, "/dicomweb/studies/1.2.3.4", token: people.clinicToken,
                raw: Multipart.body([try SampleFiles.data("image_dfl.dcm")]), contentType: Multipart.contentType)
            #expect(wrongStudy.status == 409)
            // Not multipart/related of DICOM: 415.
            let json = try await hub.call(
                .post, "/dicomweb/studies", token: people.clinicToken, raw: bigEndian,
                contentType: "application/dicom")
            #expect(json.status == 415)
            // Readers do not store.
            let reader = try await hub.call(
                .post, "/dicomweb/studies", token: people.residentToken, raw: Multipart.body([expb]),
                contentType: Multipart.contentType)
            #expect(reader.status == 403)
            // A big-endian multi-frame file comes back as stored.
            let all = try await hub.get("/dicomweb/instances?limit=100", token: people.clinicToken)
            let rtdose = try #require(Self.json(all).first { Self.value($0, "00080060") as? String == "RTDOSE" })
            let url = try #require(Self.value(rtdose, "00081190") as? String)
            let path = try #require(url.range(of: "/dicomweb/")).lowerBound
            let instance = try await hub.get(String(url[path...]), token: people.clinicToken)
            #expect(
                try Multipart.parts(instance.body, contentType: instance.headers[.contentType] ?? "") == [expb])
        }
    }

    /// One request of many small instances keeps no more than `InlineBlobs.requestBudget` of them in memory (and in
    /// its transaction): the rest become files, and every one is stored and comes back byte for byte.
    @Test func aRequestOfManySmallInstancesKeepsOnlyItsBudgetInMemory() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let pixels = InlineBlobs.limit - 1024
            let count = InlineBlobs.requestBudget / pixels + 8
            let instances = try (0..<count).map { index in
                Data(
                    try DICOMWriter.write([
                        .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.7"),
                        .string(.sopInstanceUID, .UI, "1.2.826.0.1.3680043.10.7.1.\(index)"),
                        .string(.studyInstanceUID, .UI, "1.2.826.0.1.3680043.10.7"),
                        .string(.seriesInstanceUID, .UI, "1.2.826.0.1.3680043.10.7.1"),
                        .string(.modality, .CS, "US"), .string(.patientID, .LO, "HS-0042"),
                        DICOMWriter.Element(
                            DICOMTag(0x7FE0, 0x0010), .OB, .bytes((0..<pixels).map { UInt8(($0 + index) % 251) })),
                    ]))
            }
            #expect(instances.allSatisfy { $0.count <= InlineBlobs.limit })
            // Some 16 MiB in one request: under a loaded machine the hub may take longer than the test client waits.
            let stored = try await hub.throughCurl { curl in
                try await curl.call(
                    .post, "/dicomweb/studies", token: people.clinicToken, raw: Multipart.body(instances),
                    contentType: Multipart.contentType)
            }
            #expect(stored.status == 200, "\(stored.text.prefix(300))")
            let (inline, inlineBytes) = try await hub.database.read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blob_data") ?? 0,
                    try Int.fetchOne(db, sql: "SELECT SUM(LENGTH(bytes)) FROM blob_data") ?? 0
                )
            }
            #expect(inline > 0 && inline < count)
            #expect(inlineBytes <= InlineBlobs.requestBudget)
            let files = instances.filter {
                FileManager.default.fileExists(
                    atPath: hub.env.blobs.path(for: SHA256.hash(data: $0).withUnsafeBytes(Hex.encode)))
            }
            #expect(files.count == count - inline, "the instances past the budget are files")
            let retrieved = try await hub.throughCurl { curl in
                try await curl.get("/dicomweb/studies/1.2.826.0.1.3680043.10.7", token: people.clinicToken)
            }
            let parts = try Multipart.parts(retrieved.body, contentType: retrieved.headers[.contentType] ?? "")
            #expect(Set(parts) == Set(instances))
        }
    }

    /// Behind the TLS-terminating proxy (`X-Forwarded-Proto: https`), the Retrieve URLs of STOW-RS and QIDO-RS
    /// answers are https, as FHIR's links are; reached directly, http.
    @Test func retrieveURLsTakeTheSchemeTheClientReachedTheHubWith() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let instance = Data(
                try DICOMWriter.write([
                    .string(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.7"),
                    .string(.sopInstanceUID, .UI, "1.2.826.0.1.3680043.10.8.1.1"),
                    .string(.studyInstanceUID, .UI, "1.2.826.0.1.3680043.10.8"),
                    .string(.seriesInstanceUID, .UI, "1.2.826.0.1.3680043.10.8.1"),
                    .string(.modality, .CS, "OT"), .string(.patientID, .LO, "HS-0042"),
                ]))
            let proxied = ["X-Forwarded-Proto": "https"]
            let stored = try await hub.call(
                .post, "/dicomweb/studies", token: people.clinicToken, raw: Multipart.body([instance]),
                contentType: Multipart.contentType, headers: proxied)
            #expect(stored.status == 200, "\(stored.text)")
            let study = try #require(Self.value(stored.json, "00081190") as? String)
            #expect(
                study.hasPrefix("https://") && study.hasSuffix("/dicomweb/studies/1.2.826.0.1.3680043.10.8"), "\(study)"
            )
            let found = try await hub.call(
                .get, "/dicomweb/instances?StudyInstanceUID=1.2.826.0.1.3680043.10.8", token: people.clinicToken,
                headers: proxied)
            let url = try #require(Self.json(found).first.flatMap { Self.value($0, "00081190") as? String })
            #expect(url.hasPrefix("https://"), "\(url)")
            let direct = try await hub.get(
                "/dicomweb/instances?StudyInstanceUID=1.2.826.0.1.3680043.10.8", token: people.clinicToken)
            let plain = try #require(Self.json(direct).first.flatMap { Self.value($0, "00081190") as? String })
            #expect(plain.hasPrefix("http://") && plain.contains("/dicomweb/studies/"), "\(plain)")
            // The same instance, fetched through the URL the answer gave.
            let path = try #require(plain.range(of: "/dicomweb/")).lowerBound
            let back = try await hub.get(String(plain[path...]), token: people.clinicToken)
            #expect(try Multipart.parts(back.body, contentType: back.headers[.contentType] ?? "") == [instance])
        }
    }

    @Test func aStandardDICOMwebClientStoresSearchesAndRetrieves() async throws {
        try await withHub { hub in
            let people = try await Alliance.make(hub)
            let url = "http://127.0.0.1:\(try #require(hub.client.port))/dicomweb"
            let script = """
                import sys, os, pydicom
                from dicomweb_client.api import DICOMwebClient
                url, token, directory = sys.argv[1], sys.argv[2], sys.argv[3]
                client = DICOMwebClient(url=url, headers={"Authorization": "Bearer " + token})
                datasets = [pydicom.dcmread(os.path.join(directory, name)) for name in ("CT_small.dcm", "waveform_ecg.dcm")]
                answer = client.store_instances(datasets=datasets)
                stored = [item.ReferencedSOPInstanceUID for item in answer.ReferencedSOPSequence]
                studies = client.search_for_studies(search_filters={"PatientID": "1CT1"})
                series = client.search_for_series(study_instance_uid=datasets[0].StudyInstanceUID)
                back = client.retrieve_instance(
                    study_instance_uid=datasets[1].StudyInstanceUID, series_instance_uid=datasets[1].SeriesInstanceUID,
                    sop_instance_uid=datasets[1].SOPInstanceUID)
                metadata = client.retrieve_study_metadata(study_instance_uid=datasets[0].StudyInstanceUID)
                print(len(stored), len(studies), len(series), back.SOPInstanceUID == datasets[1].SOPInstanceUID,
                      back.WaveformSequence[0].WaveformData == datasets[1].WaveformSequence[0].WaveformData,
                      metadata[0]["00100020"]["Value"][0])
                """
            let output = try await python(script, [url, people.clinicToken, try #require(SampleFiles.directory)])
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "2 1 1 True True 1CT1", "\(output)")
        }
    }
}
