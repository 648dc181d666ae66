import Foundation
import Testing

@testable import DICOM

@Suite struct JSONTests {
    typealias E = DICOMWriter.Element

    func encode(_ extra: [E], includeBulkData: Bool = false, base: String? = nil) throws -> [String: [String: Any]] {
        let elements = [.string(.specificCharacterSet, .CS, "ISO_IR 192")] + extra
        let file = try DICOMFile.parse(try DICOMWriter.write(elements))
        let text = DICOMJSON.encode(file.dataset, includeBulkData: includeBulkData, bulkDataBaseURI: base)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: [String: Any]], "not a DICOM JSON object: \(text)")
    }

    @Test func personNameGroups() throws {
        let json = try encode([
            .string(.patientName, .PN, "Zhang^San=张^三"),
            .string(DICOMTag(0x0008, 0x0090), .PN, ""),
        ])
        let value = try #require(json["00100010"]?["Value"] as? [[String: String]])
        #expect(json["00100010"]?["vr"] as? String == "PN")
        #expect(value == [["Alphabetic": "Zhang^San", "Ideographic": "张^三"]])
        #expect(json["00080090"]?["Value"] == nil)  // empty: vr only (PS3.18 F.2.5)
    }

    @Test func numbersAreNumbers() throws {
        let json = try encode([
            E(.rows, .US, .uint16s([512, 7])),
            .string(DICOMTag(0x0018, 0x0050), .DS, "1.5\\-2\\3e2"),
            .string(.instanceNumber, .IS, " 42"),
            E(DICOMTag(0x0018, 0x9087), .FD, .float64s([0.25])),
            E(DICOMTag(0x0028, 0x0009), .AT, .uint16s([0x0018, 0x1063])),
        ])
        #expect(json["00280010"]?["Value"] as? [Int] == [512, 7])
        #expect(json["00180050"]?["Value"] as? [Double] == [1.5, -2, 300])
        #expect(json["00200013"]?["Value"] as? [Int] == [42])
        #expect(json["00189087"]?["Value"] as? [Double] == [0.25])
        #expect(json["00280009"]?["Value"] as? [String] == ["00181063"])
    }

    @Test func stringsSplitAndEmptyValuesAreNull() throws {
        let json = try encode([
            .string(DICOMTag(0x0008, 0x0008), .CS, "ORIGINAL\\\\AXIAL "),
            .string(DICOMTag(0x0020, 0x4000), .LT, "line one\\still one"),
        ])
        let values = try #require(json["00080008"]?["Value"] as? [Any])
        #expect(values.count == 3 && values[0] as? String == "ORIGINAL" && values[1] is NSNull)
        #expect(json["00204000"]?["Value"] as? [String] == ["line one\\still one"])
    }

    @Test func bulkDataHandling() throws {
        let blob = E(DICOMTag(0x0009, 0x1010), .OB, .bytes([1, 2, 3, 4, 5, 6]))
        let pixels = E(.pixelData, .OW, .bytes([UInt8](repeating: 9, count: 64)))
        let omitted = try encode([blob, pixels])
        #expect(omitted["00091010"]?.keys.sorted() == ["vr"])
        #expect(omitted["7FE00010"]?.keys.sorted() == ["vr"])

        let uris = try encode([blob, pixels], base: "https://pacs.example/studies/1/bulk")
        #expect(uris["7FE00010"]?["BulkDataURI"] as? String == "https://pacs.example/studies/1/bulk/7FE00010")

        let inline = try encode([blob, pixels], includeBulkData: true)
        #expect(inline["00091010"]?["InlineBinary"] as? String == Data([1, 2, 3, 4, 5, 6]).base64EncodedString())
        #expect(
            inline["7FE00010"]?["InlineBinary"] as? String
                == Data([UInt8](repeating: 9, count: 64)).base64EncodedString())
    }

    @Test func sequencesNestAndGroupLengthsAreDropped() throws {
        let json = try encode([
            E(
                DICOMTag(0x0008, 0x1140), .SQ,
                .sequence(
                    [[.string(DICOMTag(0x0008, 0x1155), .UI, "1.2.3")], []],
                    undefinedLength: true)),
            E(DICOMTag(0x0040, 0x0275), .SQ, .sequence([], undefinedLength: false)),
            E(DICOMTag(0x0009, 0x0000), .UL, .uint32s([0])),
        ])
        let items = try #require(json["00081140"]?["Value"] as? [[String: [String: Any]]])
        #expect(items.count == 2)
        #expect(items[0]["00081155"]?["Value"] as? [String] == ["1.2.3"])
        #expect(items[1].isEmpty)
        #expect(json["00400275"]?["vr"] as? String == "SQ" && json["00400275"]?["Value"] == nil)
        #expect(json["00090000"] == nil)
    }

    @Test func escaping() {
        #expect(DICOMJSON.quoted("a\"b\\c\n\u{1}") == "\"a\\\"b\\\\c\\n\\u0001\"")
        for n in 0..<10 {
            let bytes = (0..<n).map { UInt8($0 * 37 & 0xFF) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
        }
    }
}
