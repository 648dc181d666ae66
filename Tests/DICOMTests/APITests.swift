import Foundation
import Testing

@testable import DICOM

@Suite struct APITests {
    func sample() throws -> [UInt8] {
        try DICOMWriter.write(GeneratedFiles.rich(undefinedLengths: true))
    }

    @Test func acceptsArraysDataAndRawBuffers() throws {
        let bytes = try sample()
        let fromArray = try DICOMFile.parse(bytes)
        let fromData = try DICOMFile.parse(Data(bytes))
        let fromBuffer = try bytes.withUnsafeBytes { try DICOMFile.parse($0) }
        let fromSlice = try DICOMFile.parse(bytes[...])
        #expect(fromArray.summary == fromData.summary)
        #expect(fromArray.summary == fromBuffer.summary)
        #expect(fromArray.summary == fromSlice.summary)
    }

    @Test func summaryIsCodable() throws {
        let summary = try DICOMFile.parse(try sample()).summary
        let data = try JSONEncoder().encode(summary)
        #expect(try JSONDecoder().decode(DICOMSummary.self, from: data) == summary)
    }

    @Test func genericElementAccess() throws {
        let file = try DICOMFile.parse(try sample())
        let ds = file.dataset
        let rows = try #require(ds[.rows])
        #expect(rows.vr == .US && rows.length == 2)
        #expect(ds.int(.rows) == 4 && ds.ints(.rows) == [4])
        #expect(Array(try #require(ds.bytes(.rows))) == [4, 0])
        #expect(ds.uid(.sopInstanceUID) == "2.25.1234567890123456789")
        #expect(ds.double(DICOMTag(0x0018, 0x0050)) == 1.25)
        #expect(ds.string(.modality) == "OT")
        #expect(ds.sequence(DICOMTag(0x0008, 0x1140))?.count == 2)
        #expect(ds.tags == ds.tags.sorted())
        #expect(file.meta.uid(.transferSyntaxUID) == TransferSyntax.explicitVRLittleEndian)
        #expect(
            file.summary.pixelDataRange.map { Array(file.dataset.buffer[$0]) } == [UInt8](repeating: 0x55, count: 8))
    }

    @Test func personNameComponents() {
        let pn = PersonName("Zhang^San^^Dr=张^三=")
        #expect(pn.alphabeticComponents == ["Zhang", "San", "", "Dr"])
        #expect(pn.ideographicComponents == ["张", "三"])
        #expect(pn.phonetic == "")
        #expect(pn.familyName == "Zhang")
        #expect(PersonName("=王^小东").familyName == "王")
    }

    @Test func errorsNameTheProblem() {
        let error = #expect(throws: DICOMError.self) { try DICOMFile.parse([UInt8](repeating: 0, count: 200)) }
        #expect(error?.code == "not_dicom")
        #expect(error?.offset == 128)
        #expect(error?.description.contains("DICM") == true)
    }

    @Test func transferSyntaxClassification() {
        let cases: [(String, Bool, Bool, Bool, Bool)] = [  // uid, explicit, little, deflated, encapsulated
            ("1.2.840.10008.1.2", false, true, false, false),
            ("1.2.840.10008.1.2.1", true, true, false, false),
            ("1.2.840.10008.1.2.2", true, false, false, false),
            ("1.2.840.10008.1.2.1.99", true, true, true, false),
            ("1.2.840.10008.1.2.4.50", true, true, false, true),
            ("1.2.840.10008.1.2.4.57", true, true, false, true),
            ("1.2.840.10008.1.2.4.80", true, true, false, true),
            ("1.2.840.10008.1.2.4.91", true, true, false, true),
            ("1.2.840.10008.1.2.4.201", true, true, false, true),
            ("1.2.840.10008.1.2.5", true, true, false, true),
            ("1.2.840.10008.1.2.4.50\0", true, true, false, true),
        ]
        for (uid, explicit, little, deflated, encapsulated) in cases {
            let ts = TransferSyntax(uid: uid)
            #expect(ts?.isExplicitVR == explicit && ts?.isLittleEndian == little, "\(uid)")
            #expect(ts?.isDeflated == deflated && ts?.isEncapsulated == encapsulated, "\(uid)")
        }
        #expect(TransferSyntax(uid: "1.2.840.113619.5.2") == nil)
        #expect(TransferSyntax(uid: "1.2.840.10008.1.2.4.") == nil)
    }
}
