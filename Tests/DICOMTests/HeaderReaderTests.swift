import Foundation
import Testing

@testable import DICOM

@Suite struct HeaderReaderTests {
    static let pixelBytes = 64 << 20

    @Test func largePixelDataIsNotRead() throws {
        let elements =
            GeneratedFiles.identity(modality: "CT") + GeneratedFiles.image(rows: 4096, columns: 8192) + [
                .string(.patientName, .PN, "Big^File"),
                DICOMWriter.Element(.pixelData, .OW, .bytes([UInt8](repeating: 0, count: Self.pixelBytes))),
            ]
        let bytes = try DICOMWriter.write(elements)
        let path = try GeneratedFiles.write(bytes, name: "large.dcm")
        defer { try? FileManager.default.removeItem(atPath: path) }

        let header = try DICOMFile.parseHeader(fileAt: path)
        #expect(header.bytesRead <= 256 << 10, "read \(header.bytesRead) of \(bytes.count) bytes")
        print("parseHeader read \(header.bytesRead) of \(bytes.count) bytes")
        #expect(header.isHeaderOnly)
        #expect(header.dataset[.pixelData] == nil)
        let range = try #require(header.summary.pixelDataRange)
        #expect(range.count == Self.pixelBytes && range.upperBound == bytes.count)
        #expect(header.summary.rows == 4096 && header.summary.columns == 8192)
        #expect(header.summary.patientName == "Big^File")

        var full = try DICOMFile.parse(bytes).summary
        full.pixelDataRange = range
        #expect(header.summary == full)
    }

    @Test func encapsulatedPixelDataIsMeasuredFromItemHeaders() throws {
        let fragments = (0..<200).map { [UInt8](repeating: UInt8($0 & 0xFF), count: 4096 + $0 * 2) }
        let elements =
            GeneratedFiles.identity() + GeneratedFiles.image(rows: 64, columns: 64) + [
                .string(.numberOfFrames, .IS, "200"),
                DICOMWriter.Element(.pixelData, .OB, .encapsulated(fragments: fragments)),
            ]
        let bytes = try DICOMWriter.write(elements, syntax: .encapsulated(transferSyntaxUID: "1.2.840.10008.1.2.4.90"))
        let path = try GeneratedFiles.write(bytes, name: "frames.dcm")
        let header = try DICOMFile.parseHeader(fileAt: path)
        let full = try DICOMFile.parse(bytes)
        #expect(header.summary == full.summary)
        #expect(header.bytesRead <= (64 << 10) + 202 * 8)  // first read + one 8-byte header per item
    }

    @Test func truncatedPixelDataIsReported() throws {
        let elements =
            GeneratedFiles.identity() + [
                DICOMWriter.Element(.pixelData, .OW, .bytes([UInt8](repeating: 1, count: 100_000)))
            ]
        let bytes = try DICOMWriter.write(elements)
        let path = try GeneratedFiles.write(Array(bytes.dropLast(10)), name: "cut.dcm")
        let error = #expect(throws: DICOMError.self) { try DICOMFile.parseHeader(fileAt: path) }
        #expect(error?.code == DICOMError.lengthPastEnd)
    }

    @Test func headerLargerThanMaxBytes() throws {
        let elements =
            GeneratedFiles.identity() + [
                DICOMWriter.Element(DICOMTag(0x0009, 0x1001), .OB, .bytes([UInt8](repeating: 7, count: 300_000))),
                DICOMWriter.Element(.pixelData, .OW, .bytes([0, 0])),
            ]
        let path = try GeneratedFiles.write(try DICOMWriter.write(elements), name: "fat-header.dcm")
        let error = #expect(throws: DICOMError.self) { try DICOMFile.parseHeader(fileAt: path, maxBytes: 100_000) }
        #expect(error?.code == DICOMError.headerTooLarge)
        #expect(try DICOMFile.parseHeader(fileAt: path, maxBytes: 1 << 20).summary.pixelDataRange?.count == 2)
    }

    @Test func missingFile() {
        let error = #expect(throws: DICOMError.self) { try DICOMFile.parseHeader(fileAt: "/nonexistent/x.dcm") }
        #expect(error?.code == DICOMError.ioError)
    }

    /// On every pydicom file the header summary equals the full one, apart
    /// from the pixel range which the full parse may not know for deflate.
    @Test func agreesWithFullParseOnPydicomFiles() throws {
        try #require(Pydicom.unavailableReason == nil, "\(Pydicom.unavailableReason ?? "")")
        var compared = 0
        for path in Pydicom.bundledFiles {
            guard let bytes = TestSupport.read(path), let full = try? DICOMFile.parse(bytes) else { continue }
            let header = try DICOMFile.parseHeader(fileAt: path)
            #expect(header.summary == full.summary, "\(path)")
            #expect(header.bytesRead <= max(bytes.count, 64 << 10))
            compared += 1
        }
        #expect(compared > 100)
    }
}
