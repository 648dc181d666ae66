import Foundation
import Testing

@testable import DICOM

/// Names the pydicom file that covers each required kind of input and checks
/// the feature that makes it that kind. Field-by-field agreement with
/// pydicom for the same files is checked in `ReferenceFileTests`.
@Suite struct CategoryTests {
    struct Loaded {
        let file: DICOMFile
        let ref: [String: Any]
        func refInt(_ key: String) -> Int? { (ref[key] as? String).flatMap { DataSet.parseInt($0) } }
    }

    func load(_ name: String) throws -> Loaded {
        try #require(Pydicom.unavailableReason == nil, "\(Pydicom.unavailableReason ?? "")")
        let path = try #require(Pydicom.file(name), "\(name) is not in the installed pydicom wheel")
        let bytes = try #require(TestSupport.read(path))
        let ref = try #require(Pydicom.reference(for: path))
        let file = try DICOMFile.parse(bytes)
        #expect(file.summary.transferSyntaxUID == ref["TransferSyntaxUID"] as? String)
        return Loaded(file: file, ref: ref)
    }

    @Test func implicitVRLittleEndian() throws {
        let l = try load("MR_small_implicit.dcm")
        #expect(l.file.transferSyntax.uid == TransferSyntax.implicitVRLittleEndian)
        #expect(!l.file.dataset.encoding.explicitVR)
        #expect(l.file.summary.rows == l.refInt("Rows"))
        #expect(l.file.summary.patientName == l.ref["PatientName"] as? String)
    }

    @Test func explicitVRLittleEndian() throws {
        let l = try load("CT_small.dcm")
        #expect(l.file.dataset.encoding == Encoding(explicitVR: true, littleEndian: true))
        #expect(l.file.summary.columns == l.refInt("Columns"))
        #expect(l.file.summary.pixelDataRange?.lowerBound == l.ref["pixelValueTell"] as? Int)
    }

    @Test func explicitVRBigEndian() throws {
        for name in ["MR_small_bigendian.dcm", "ExplVR_BigEnd.dcm"] {
            let l = try load(name)
            #expect(!l.file.dataset.encoding.littleEndian)
            #expect(l.file.summary.rows == l.refInt("Rows") && l.file.summary.rows != nil, "\(name)")
            #expect(l.file.summary.columns == l.refInt("Columns"), "\(name)")
        }
    }

    @Test func deflatedExplicitVRLittleEndian() throws {
        let l = try load("image_dfl.dcm")
        #expect(l.file.transferSyntax.isDeflated)
        #expect(l.file.summary.pixelDataRange == nil)  // no file position after inflation
        let pixels = try #require(l.file.dataset[.pixelData])
        #expect(pixels.length == l.ref["pixelLength"] as? Int)
        #expect(l.file.summary.sopInstanceUID == l.ref["SOPInstanceUID"] as? String)
    }

    @Test func encapsulatedJPEGAndRLE() throws {
        for name in [
            "JPEG-lossy.dcm", "SC_rgb_jpeg_dcmtk.dcm", "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm",
            "JPEG2000.dcm", "JPEG2000-embedded-sequence-delimiter.dcm",
        ] {
            let l = try load(name)
            #expect(l.file.summary.isEncapsulated, "\(name)")
            let pixels = try #require(l.file.dataset[.pixelData])
            #expect(pixels.hasUndefinedLength, "\(name)")
            #expect(pixels.fragments?.count == l.ref["fragmentCount"] as? Int, "\(name)")
            #expect(l.file.summary.pixelDataRange?.lowerBound == l.ref["pixelValueTell"] as? Int, "\(name)")
        }
    }

    @Test func multiFrame() throws {
        for name in ["examples_ybr_color.dcm", "SC_rgb_rle_2frame.dcm", "rtdose.dcm"] {
            let l = try load(name)
            let frames = try #require(l.file.summary.numberOfFrames, "\(name)")
            #expect(frames > 1 && frames == l.refInt("NumberOfFrames"), "\(name)")
        }
    }

    @Test func undefinedLengthSequencesAndItems() throws {
        for name in ["reportsi.dcm", "liver_1frame.dcm", "nested_priv_SQ.dcm"] {
            let l = try load(name)
            var undefined = 0
            func walk(_ ds: DataSet) {
                for e in ds.elements where e.isSequence {
                    if e.hasUndefinedLength { undefined += 1 }
                    e.items?.forEach(walk)
                }
            }
            walk(l.file.dataset)
            #expect(undefined > 0, "\(name) should contain undefined-length sequences")
        }
    }

    @Test func ecgWaveform() throws {
        let l = try load("waveform_ecg.dcm")
        let ecg = try #require(l.file.summary.ecg)
        let groups = try #require(l.ref["ecg"] as? [[String: Any]])
        #expect(ecg.channelCount == groups.first?["channels"] as? Int)
        #expect(ecg.samplingFrequency == groups.first?["frequency"] as? Double)
        #expect(ecg.sampleCount == groups.first?["samples"] as? Int)
        #expect(ecg.channelLabels == groups.first?["labels"] as? [String])
        #expect(ecg.groups.allSatisfy { $0.dataRange != nil })
    }

    @Test func structuredReport() throws {
        let l = try load("test-SR.dcm")
        var maxDepth = 0
        func walk(_ ds: DataSet, _ depth: Int) {
            maxDepth = max(maxDepth, depth)
            for e in ds.elements { e.items?.forEach { walk($0, depth + 1) } }
        }
        walk(l.file.dataset, 0)
        let refDepth = (l.ref["structure"] as? [[Any]] ?? []).compactMap { $0.first as? Int }.max() ?? 0
        #expect(maxDepth == refDepth && maxDepth > 3)
        #expect(l.file.summary.modality == l.ref["Modality"] as? String)
    }

    @Test func chineseCharacterSets() throws {
        for name in ["chrX2.dcm", "chrX1.dcm"] {  // GB18030, ISO_IR 192
            let l = try load(name)
            var expected = try #require(l.ref["PatientName"] as? String)
            while expected.hasSuffix("=") { expected.removeLast() }
            #expect(l.file.summary.patientName == expected, "\(name)")
            let name = try #require(l.file.summary.patientNameComponents)
            #expect(name.ideographic.unicodeScalars.allSatisfy { $0.value > 0x7F || $0 == "^" })
        }
    }

    @Test func iso2022CharacterSets() throws {
        for name in [
            "chrH31.dcm", "chrH32.dcm", "chrI2.dcm", "chrJapMulti.dcm", "chrKoreanMulti.dcm",
            "chrRuss.dcm", "chrGreek.dcm", "chrArab.dcm", "chrHbrw.dcm", "chrFren.dcm", "chrGerm.dcm",
        ] {
            let l = try load(name)
            #expect(l.file.summary.patientName == l.ref["PatientName"] as? String, "\(name)")
        }
    }

    @Test func sequenceItemWithItsOwnCharacterSet() throws {
        let l = try load("chrSQEncoding.dcm")
        let json = DICOMJSON.encode(l.file.dataset)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let refJSON = try #require(l.ref["json"] as? [String: Any])
        #expect(TestSupport.jsonDifferences(ours: object, reference: refJSON).isEmpty)
        let item = try #require(l.file.dataset.elements.first { $0.isSequence }?.items?.first)
        #expect(item.characterSet != l.file.dataset.characterSet)
    }
}
