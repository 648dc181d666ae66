import Foundation
import Testing

@testable import DICOM

/// Generated files whose text bytes come from Python's codecs, so encoding
/// and decoding are done by independent implementations.
@Suite struct CharacterSetTests {
    func fileWithName(_ nameBytes: [UInt8], charset: String, extra: [DICOMWriter.Element] = []) throws -> DICOMFile {
        let elements =
            GeneratedFiles.identity() + extra + [
                .string(.specificCharacterSet, .CS, charset),
                DICOMWriter.Element(.patientName, .PN, .bytes(nameBytes)),
            ]
        return try DICOMFile.parse(try DICOMWriter.write(elements))
    }

    func encoded(_ text: String, _ codec: String) async throws -> [UInt8] {
        try #require(await Pydicom.encode(text, codec: codec), "python3 cannot encode with \(codec)")
    }

    @Test func iconvKnowsTheChineseEncodings() {
        for name in ["GB18030", "GBK", "GB2312", "EUC-KR", "EUC-JP", "ISO-8859-5"] {
            #expect(Iconv.isAvailable(name), "glibc iconv lacks \(name): gconv modules missing?")
        }
    }

    @Test(arguments: ["GB18030", "GBK"]) func gbNamesDecode(charset: String) async throws {
        // 誠 and 乗 have 0x5C ('\') as second byte, 乛 has 0x5E ('^'):
        // splitting before decoding would cut them in half.
        for name in ["张^三", "Zhang^San=张^三", "Cheng^Sheng=誠^乗乛"] {
            let bytes = try await encoded(name, charset.lowercased())
            let file = try fileWithName(bytes, charset: charset)
            #expect(file.summary.patientName == name)
            #expect(file.summary.specificCharacterSet == [charset])
        }
        let file = try fileWithName(try await encoded("Cheng^Sheng=誠^乗乛", "gbk"), charset: charset)
        let pn = try #require(file.dataset.personName(.patientName))
        #expect(pn.alphabeticComponents == ["Cheng", "Sheng"])
        #expect(pn.ideographicComponents == ["誠", "乗乛"])
    }

    @Test func gb18030MultiValuedSplitsAfterDecoding() async throws {
        let lo = try await encoded("誠\\乗", "gb18030")
        let file = try fileWithName(
            try await encoded("王", "gb18030"), charset: "GB18030",
            extra: [DICOMWriter.Element(.institutionName, .LO, .bytes(lo))])
        #expect(file.dataset.strings(.institutionName) == ["誠", "乗"])
    }

    @Test func gb18030FourByteSequences() async throws {
        let name = "𠀀^㐀"  // outside GBK: 4-byte GB18030
        let bytes = try await encoded(name, "gb18030")
        #expect(bytes.count > 6)
        #expect(try fileWithName(bytes, charset: "GB18030").summary.patientName == name)
    }

    @Test func utf8Names() throws {
        let name = "Zhang^San=张^三=ㄓㄤ^ㄙㄢ"
        let file = try fileWithName(Array(name.utf8), charset: "ISO_IR 192")
        #expect(file.summary.patientName == name)
        let pn = try #require(file.summary.patientNameComponents)
        #expect(pn.alphabetic == "Zhang^San" && pn.ideographic == "张^三" && pn.phonetic == "ㄓㄤ^ㄙㄢ")
    }

    @Test func iso2022GB2312WithEscapes() async throws {
        // PS3.5 annex K style: ESC $ ) A designates GB2312 into G1 for each
        // component; delimiters return to the initial (ASCII) state.
        let esc: [UInt8] = [0x1B, 0x24, 0x29, 0x41]
        let bytes =
            Array("Zhang^San=".utf8) + esc + (try await encoded("张", "gb2312")) + Array("^".utf8)
            + esc + (try await encoded("三", "gb2312"))
        let file = try fileWithName(bytes, charset: "\\ISO 2022 IR 58")
        #expect(file.summary.patientName == "Zhang^San=张^三")
        #expect(file.summary.specificCharacterSet == ["", "ISO 2022 IR 58"])
    }

    @Test func gb2312WithoutEscapesUsesFallback() async throws {
        let bytes = Array("Zhang^San=".utf8) + (try await encoded("张^三", "gb2312"))
        #expect(try fileWithName(bytes, charset: "\\ISO 2022 IR 58").summary.patientName == "Zhang^San=张^三")
    }

    @Test func undeclaredChineseFallsBackToGB18030() async throws {
        let elements =
            GeneratedFiles.identity() + [
                DICOMWriter.Element(.patientName, .PN, .bytes(try await encoded("李^四", "gbk")))
            ]
        let file = try DICOMFile.parse(try DICOMWriter.write(elements))
        #expect(file.summary.patientName == "李^四")
        var options = DICOMParseOptions()
        options.fallbackCharacterSet = ""
        let latin = try DICOMFile.parse(try DICOMWriter.write(elements), options: options)
        #expect(latin.summary.patientName != "李^四")  // no guess: Latin-1 mojibake, but no failure
    }

    @Test func halfWidthKatakanaWithoutCodeExtensions() async throws {
        let name = "ﾔﾏﾀﾞ^ﾀﾛｳ"
        let bytes = try await encoded(name, "shift_jis")
        #expect(try fileWithName(bytes, charset: "ISO_IR 13").summary.patientName == name)
    }

    @Test func invalidBytesNeverFail() throws {
        let garbage: [UInt8] = [0x81, 0x30, 0xFF, 0x5E, 0xC8, 0x1B, 0x24, 0x29, 0x41, 0xFF]
        for charset in ["GB18030", "GBK", "ISO_IR 192", "\\ISO 2022 IR 58", "\\ISO 2022 IR 87", "ISO_IR 100", "BOGUS"] {
            let file = try fileWithName(garbage, charset: charset)
            #expect(file.summary.patientName != nil, "\(charset)")
        }
    }
}
