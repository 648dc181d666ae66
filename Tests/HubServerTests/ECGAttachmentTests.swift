import Foundation
import TestSupport
import Testing

/// Runs python3 (for pydicom) off the cooperative pool and returns its standard output.
func python(_ script: String, _ arguments: [String] = []) async throws -> String {
    try await offPool {
        let (status, data) = try ChildProcess.run("python3", ["-c", script] + arguments, stderr: .null)
        guard status == 0 else {
            throw CocoaError(
                .executableLoad,
                userInfo: [NSLocalizedDescriptionKey: "python3 failed; \(OutsideTools.missing("pydicom"))?"])
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite struct ECGAttachmentTests {
    /// An ECG center in the alliance, and a clinic that sends it resting ECGs.
    func ecgAlliance(_ hub: HubClient) async throws -> String {
        try await hub.institution("wh-xiehe", level: "tertiary", region: "420102", alliances: ["wh-east"])
        try await hub.institution("hs-clinic", level: "primary", region: "420115", alliances: ["wh-east"])
        var center = hub.centerBody(id: "wh-ecg", institution: "wh-xiehe", kind: "ecg", items: ["ECG-12"])
        center["modalities"] = ["ECG"]
        center["qualifications"] = [
            [
                "type": "ecg_qc", "items": ["ECG-12"], "valid_from": "2026-01-01", "valid_to": "2027-12-31",
                "issuer": "湖北省心电质控中心",
            ]
        ]
        let created = try await hub.call(.post, "/v1/centers", token: hub.admin, json: center)
        try #require(created.status == 201, "\(created.text)")
        let (_, clinic) = try await hub.practitioner(at: "hs-clinic", title: "resident", roles: ["clinic"])
        return clinic
    }

    /// A 12-lead ECG written by other software (pydicom's sample), checked and summarised on upload.
    @Test func aDICOMTwelveLeadWaveformIsReadAsAnECG() async throws {
        let path = try await python(
            "import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), 'data', 'test_files', 'waveform_ecg.dcm'))"
        )
        let expected = try await python(
            "import pydicom, sys; w = pydicom.dcmread(sys.argv[1]).WaveformSequence[0]; print(int(w.NumberOfWaveformChannels), float(w.SamplingFrequency))",
            [path]
        ).split(separator: " ")
        try await withHub { hub in
            let clinic = try await ecgAlliance(hub)
            let exam = try await hub.call(
                .post, "/v1/exams", token: clinic,
                json: Alliance.examBody(patientID: residentID(sequence: "501"), item: "ECG-12", priority: "stat"))
            #expect(exam["center_id"] == "wh-ecg")
            let examId = try #require(exam["id"])
            let file = try Data(contentsOf: URL(fileURLWithPath: path))
            let uploaded = try await hub.call(
                .post, "/v1/exams/\(examId)/attachments", token: clinic, raw: file, contentType: "application/dicom")
            #expect(uploaded.status == 201, "\(uploaded.text)")
            let tags = uploaded.json["dicom"] as? [String: String]
            #expect(tags?["sop_class_uid"] == "1.2.840.10008.5.1.4.1.1.9.1.1", "12-lead ECG waveform storage")
            #expect(tags?["ecg_channels"] == String(expected[0]))
            #expect(Double(tags?["ecg_sampling_frequency"] ?? "") == Double(expected[1]))
            #expect(uploaded.json["patient_mismatch"] != nil, "the sample's patient is not this exam's patient")
        }
    }

    @Test func anHL7AnnotatedECGIsAcceptedAndOtherXMLIsNot() async throws {
        try await withHub { hub in
            let clinic = try await ecgAlliance(hub)
            let exam = try await hub.call(
                .post, "/v1/exams", token: clinic,
                json: Alliance.examBody(patientID: residentID(sequence: "502"), item: "ECG-12"))
            let examId = try #require(exam["id"])
            let aecg = """
                <?xml version="1.0" encoding="UTF-8"?>
                <AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:voc="urn:hl7-org:v3/voc" classCode="OBS" moodCode="EVN">
                  <id root="2.16.156.10011.2.99.1" extension="ECG-20261122-0001"/>
                  <code code="93000" codeSystem="2.16.840.1.113883.6.12" codeSystemName="CPT-4"/>
                  <effectiveTime><low value="20261122083000"/><high value="20261122083010"/></effectiveTime>
                </AnnotatedECG>
                """
            let accepted = try await hub.call(
                .post, "/v1/exams/\(examId)/attachments", token: clinic, raw: Data(aecg.utf8),
                contentType: "application/hl7-aecg+xml")
            #expect(accepted.status == 201, "\(accepted.text)")
            #expect(accepted["kind"] == "ecg-aecg")
            let other = try await hub.call(
                .post, "/v1/exams/\(examId)/attachments", token: clinic,
                raw: Data("<?xml version=\"1.0\"?><ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>".utf8),
                contentType: "application/xml")
            #expect(other.status == 422)
            #expect(other["code"] == "invalid_ecg")
        }
    }
}
