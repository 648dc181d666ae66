import Foundation
import Testing

@testable import DICOM

@Suite struct WriterTests {
    /// Our writer's output must read back identically in pydicom.
    @Test(arguments: [DICOMWriter.Syntax.explicitVRLittleEndian, .implicitVRLittleEndian], [true, false])
    func pydicomReadsWhatWeWrite(syntax: DICOMWriter.Syntax, undefinedLengths: Bool) async throws {
        try #require(Pydicom.unavailableReason == nil, "\(Pydicom.unavailableReason ?? "")")
        let bytes = try DICOMWriter.write(GeneratedFiles.rich(undefinedLengths: undefinedLengths), syntax: syntax)
        let path = try GeneratedFiles.write(bytes, name: "rich-\(syntax.uid)-\(undefinedLengths).dcm")
        let ref = try #require(await Pydicom.dump([path])[path])
        #expect(ref["error"] == nil)
        #expect(ref["TransferSyntaxUID"] as? String == syntax.uid)
        try ReferenceComparison.check(path: path, against: ref)

        let file = try DICOMFile.parse(bytes)
        let groupLength = try #require(file.meta.int(.fileMetaInformationGroupLength))
        #expect(file.datasetOffset == 132 + 12 + groupLength, "(0002,0000) must count every later meta byte")
        #expect(file.summary.seriesNumber == 3 && file.summary.instanceNumber == 7)
        #expect(file.dataset.double(DICOMTag(0x0018, 0x9087)) == 1000.5)
        let seq = try #require(file.dataset[DICOMTag(0x0008, 0x1140)])
        #expect(seq.items?.count == 2 && seq.hasUndefinedLength == undefinedLengths)
        #expect(seq.items?.first?.sequence(DICOMTag(0x0040, 0xA043))?.first?.string(.codeMeaning) == "Chest")
    }

    @Test func encapsulatedFragmentsRoundTrip() async throws {
        try #require(Pydicom.unavailableReason == nil, "\(Pydicom.unavailableReason ?? "")")
        let fragments: [[UInt8]] = [[0xFF, 0xD8, 0xFF, 0xD9], [1, 2, 3], Array(repeating: 0xFE, count: 17)]
        let elements =
            GeneratedFiles.identity() + GeneratedFiles.image(rows: 8, columns: 8) + [
                .string(.numberOfFrames, .IS, "3"),
                DICOMWriter.Element(.pixelData, .OB, .encapsulated(fragments: fragments)),
            ]
        let bytes = try DICOMWriter.write(
            elements, syntax: .encapsulated(transferSyntaxUID: TransferSyntax.jpegBaseline))
        let path = try GeneratedFiles.write(bytes, name: "encapsulated.dcm")
        let ref = try #require(await Pydicom.dump([path])[path])
        try ReferenceComparison.check(path: path, against: ref)
        let file = try DICOMFile.parse(bytes)
        let pixels = try #require(file.dataset[.pixelData]?.fragments)
        #expect(pixels.count == 4 && pixels[0].isEmpty)
        #expect(Array(bytes[pixels[1]]) == fragments[0])
        #expect(pixels[2].count == 4)  // odd fragment padded to even length
        #expect(file.summary.isEncapsulated && file.summary.numberOfFrames == 3)
    }

    @Test func shortVRValueTooLongIsRefused() {
        let long = String(repeating: "x", count: 70_000)
        #expect(throws: DICOMError.self) {
            try DICOMWriter.write([.string(DICOMTag(0x0008, 0x1030), .LO, long)])
        }
    }
}
