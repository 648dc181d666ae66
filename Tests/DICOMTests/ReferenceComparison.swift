import Foundation
import Testing

@testable import DICOM

/// Checks our parse of one file against pydicom's dump of the same file.
enum ReferenceComparison {
    static func check(path: String, against ref: [String: Any]) throws {
        let bytes = try #require(TestSupport.read(path), "cannot read \(path)")
        let name = (path as NSString).lastPathComponent

        if let error = ref["error"] as? String {
            // pydicom refuses it without force=True: no preamble/DICM or no meta.
            #expect(throws: DICOMError.self, "pydicom said: \(error)") { try DICOMFile.parse(bytes) }
            return
        }
        guard let ts = ref["TransferSyntaxUID"] as? String else {
            let error = #expect(throws: DICOMError.self) { try DICOMFile.parse(bytes) }
            #expect(error?.code == DICOMError.missingMeta)
            return
        }
        // Fixtures that are cut short on purpose: the *_truncated files, and
        // DICOMDIR-nooffset, whose last item declares 248 bytes but has 224.
        if name.contains("truncated") || name == "DICOMDIR-nooffset" {
            let error = #expect(throws: DICOMError.self) { try DICOMFile.parse(bytes) }
            #expect([DICOMError.truncated, DICOMError.lengthPastEnd].contains(error?.code ?? ""))
            return
        }
        let file = try DICOMFile.parse(bytes)
        let s = file.summary
        #expect(s.transferSyntaxUID == ts)
        let strings: [(String, String?)] = [
            ("SOPClassUID", s.sopClassUID), ("SOPInstanceUID", s.sopInstanceUID),
            ("StudyInstanceUID", s.studyInstanceUID), ("SeriesInstanceUID", s.seriesInstanceUID),
            ("PatientID", s.patientID), ("PatientName", s.patientName), ("PatientBirthDate", s.patientBirthDate),
            ("PatientSex", s.patientSex), ("StudyDate", s.studyDate), ("StudyTime", s.studyTime),
            ("AccessionNumber", s.accessionNumber), ("Modality", s.modality),
            ("StudyDescription", s.studyDescription), ("InstitutionName", s.institutionName),
        ]
        for (keyword, ours) in strings {
            var expected = ref[keyword] as? String
            if keyword == "SOPClassUID" || keyword == "SOPInstanceUID" {
                // The summary falls back to the meta group's Media Storage UIDs (DICOMDIR has no others).
                expected = expected ?? ref["MediaStorage" + keyword] as? String
            }
            if keyword.hasSuffix("UID") && expected == "" { expected = nil }  // empty UIDs summarise as nil
            if keyword == "PatientName", var name = expected {
                while name.hasSuffix("=") { name.removeLast() }
                expected = name
            }
            #expect(ours == expected, "\(keyword)")
        }
        let ints: [(String, Int?)] = [
            ("Rows", s.rows), ("Columns", s.columns), ("NumberOfFrames", s.numberOfFrames),
            ("SeriesNumber", s.seriesNumber), ("InstanceNumber", s.instanceNumber),
        ]
        for (keyword, ours) in ints {
            #expect(ours == (ref[keyword] as? String).flatMap { DataSet.parseInt($0) }, "\(keyword)")
        }
        #expect(s.specificCharacterSet == ref["SpecificCharacterSet"] as? [String])
        #expect(s.isEncapsulated == (TransferSyntax(uid: ts)?.isEncapsulated ?? false))

        if let tell = ref["pixelValueTell"] as? Int, !file.transferSyntax.isDeflated {
            let range = try #require(s.pixelDataRange)
            #expect(range.lowerBound == tell)
            if let length = ref["pixelLength"] as? Int, length != 0xFFFF_FFFF { #expect(range.count == length) }
        }
        if let count = ref["fragmentCount"] as? Int {
            #expect(file.dataset[.pixelData]?.fragments?.count == count, "encapsulated item count")
        }
        compareStructure(file, ref)
        compareJSON(file, ref)
        compareECG(file, ref)
    }

    static func compareStructure(_ file: DICOMFile, _ ref: [String: Any]) {
        guard let refRows = ref["structure"] as? [[Any]] else { return }
        let ours = TestSupport.structure(file.dataset)
        var i = 0, j = 0
        while i < ours.count && j < refRows.count {
            let (depth, tag, vr, count) = ours[i]
            let r = refRows[j]
            let refDepth = r[0] as? Int ?? -1, refTag = r[1] as? String ?? "", refVR = r[2] as? String ?? ""
            guard depth == refDepth, tag == refTag else {
                Issue.record("structure differs at row \(i): ours \(ours[i]) vs pydicom \(r)")
                return
            }
            if refVR == "SQ" && vr == "UN" {
                // pydicom re-reads a defined-length UN as a sequence via its
                // dictionary; we keep it opaque. Skip pydicom's subtree.
                j += 1
                while j < refRows.count, (refRows[j][0] as? Int ?? 0) > refDepth { j += 1 }
                i += 1
                continue
            }
            if vr == "SQ" || refVR == "SQ" {
                #expect(vr == refVR && count == (r[3] as? Int ?? -2), "sequence \(tag) at depth \(depth)")
            }
            i += 1; j += 1
        }
        #expect(
            i == ours.count && j == refRows.count, "element counts differ: ours \(ours.count), pydicom \(refRows.count)"
        )
    }

    static func compareJSON(_ file: DICOMFile, _ ref: [String: Any]) {
        guard let refJSON = ref["json"] as? [String: Any] else { return }
        let text = DICOMJSON.encode(file.dataset)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            Issue.record("our DICOM JSON does not parse: \(text.prefix(300))")
            return
        }
        let diffs = TestSupport.jsonDifferences(ours: object, reference: refJSON)
        #expect(diffs.isEmpty, "DICOM JSON differs from pydicom:\n\(diffs.prefix(10).joined(separator: "\n"))")
    }

    static func compareECG(_ file: DICOMFile, _ ref: [String: Any]) {
        guard let groups = ref["ecg"] as? [[String: Any]], ECGSummary.isECG(sopClassUID: file.summary.sopClassUID ?? "")
        else {
            return
        }
        guard let ecg = file.summary.ecg else { Issue.record("no ECG summary"); return }
        #expect(ecg.groups.count == groups.count)
        for (ours, theirs) in zip(ecg.groups, groups) {
            #expect(ours.channelCount == theirs["channels"] as? Int)
            #expect(ours.sampleCount == theirs["samples"] as? Int)
            #expect(ours.samplingFrequency == theirs["frequency"] as? Double)
            #expect(ours.label == theirs["label"] as? String)
            #expect(ours.channelLabels == theirs["labels"] as? [String])
        }
    }
}
