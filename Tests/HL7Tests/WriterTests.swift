import Testing

@testable import HL7

@Suite struct WriterTests {
    static let tricky = "a|b^c&d~e\\f\nsecond line\r\nthird line"

    /// An ORU^R01 with values holding every delimiter, line breaks and Chinese text, declaring `charset` in MSH-18.
    func trickyMessage(charset: String, delimiters: HL7EncodingCharacters = .standard) -> HL7Message {
        var builder = HL7Builder(encodingCharacters: delimiters)
        builder.append(
            HL7Segment(
                id: "MSH",
                fields: [
                    3: "LIS", 4: HL7Field(components: ["HOSP1", "1.2.156.112604.1.2.1", "ISO"]), 5: "HUB",
                    6: "ALLIANCE", 7: "20261207103000+0800", 9: HL7Field(components: ["ORU", "R01", "ORU_R01"]),
                    10: "MSG-\(charset)", 11: "P", 12: "2.5.1", 18: HL7Field(charset),
                ]))
        let resident = HL7Repetition(components: [
            "420102198001011234", "", "", HL7Component(subcomponents: ["CN-RESIDENT", "2.16.156.10011.1.1", "ISO"]),
            "NNCHN",
        ])
        let mrn = HL7Repetition(texts: ["MRN^000456", "", "", "HOSP1", "MR"])
        builder.append(
            "PID", "1", "", HL7Field(repetitions: [resident, mrn]), "",
            HL7Field(components: ["张三", "", "", "", "", "", "L"]),
            "", "19800101", "M")
        builder.append(
            "OBX", "1", "ST", HL7Field(components: ["CMT", "检验", "L"]), "", HL7Field(Self.tricky), "", "",
            .explicitNull,
            "", "", "F")
        builder.append("NTE", "1", "L", HL7Field("检验 & 张三 | ~ ^ \\"))
        return builder.message
    }

    func checkTricky(_ parsed: HL7Message, charset: HL7CharacterSet) throws {
        #expect(parsed.charset == charset)
        #expect(parsed.type == "ORU" && parsed.event == "R01" && parsed.structure == "ORU_R01")
        #expect(parsed.sendingFacility == "HOSP1")
        #expect(parsed.header?.value(4, component: 2) == "1.2.156.112604.1.2.1")
        let pid = try #require(parsed.segment(named: "PID"))
        #expect(pid.value(3) == "420102198001011234")
        #expect(pid.value(3, component: 4, subcomponent: 2) == "2.16.156.10011.1.1")
        #expect(pid.value(3, component: 5) == "NNCHN")
        #expect(pid.value(3, repetition: 2) == "MRN^000456")
        #expect(pid.value(3, component: 5, repetition: 2) == "MR")
        #expect(pid.value(5) == "张三")
        #expect(pid.value(5, component: 7) == "L")
        #expect(pid.value(7) == "19800101")
        let obx = try #require(parsed.segment(named: "OBX"))
        #expect(obx.value(3, component: 2) == "检验")
        // Line breaks come back as line feeds.
        #expect(obx.value(5) == "a|b^c&d~e\\f\nsecond line\nthird line")
        #expect(obx.isExplicitNull(8))
        #expect(obx.value(11) == "F")
        #expect(parsed.segment(named: "NTE")?.value(3) == "检验 & 张三 | ~ ^ \\")
    }

    @Test func roundTripInUTF8AndGB18030() throws {
        for (declaration, charset) in [("UNICODE UTF-8", HL7CharacterSet.utf8), ("GB 18030", .gb18030), ("", .utf8)] {
            let message = trickyMessage(charset: declaration)
            let bytes = try message.encoded()
            let parsed = try HL7Message.parse(bytes)
            try checkTricky(parsed, charset: charset)
            #expect(try parsed.encoded() == bytes)
            #expect(bytes.last == 0x0D)
            #expect(!bytes.contains(0x0A))
        }
    }

    @Test func gb18030BytesAreGB18030() throws {
        let bytes = try trickyMessage(charset: "GB 18030").encoded()
        #expect(bytes.firstRange(of: [0xD5, 0xC5, 0xC8, 0xFD]) != nil)  // 张三
        #expect(bytes.firstRange(of: [0xBC, 0xEC, 0xD1, 0xE9]) != nil)  // 检验
        #expect(bytes.firstRange(of: Array("张三".utf8)) == nil)
        #expect(String(validating: bytes, as: UTF8.self) == nil)
    }

    @Test func roundTripWithOtherDelimiters() throws {
        let delimiters = try #require(
            HL7EncodingCharacters(field: "#", component: "!", repetition: "*", escape: "$", subcomponent: "%"))
        let message = trickyMessage(charset: "UNICODE UTF-8", delimiters: delimiters)
        let bytes = try message.encoded()
        #expect(bytes.starts(with: Array("MSH#!*$%#LIS#HOSP1!".utf8)))
        let parsed = try HL7Message.parse(bytes)
        #expect(parsed.encodingCharacters == delimiters)
        try checkTricky(parsed, charset: .utf8)
    }

    @Test func exactText() throws {
        var builder = HL7Builder()
        builder.append(
            "MSH", "ignored", "ignored too", "HUB", "", "", "", "20261207", "", HL7Field(components: ["ACK", "", ""]))
        builder.append("MSA", "AA", "X1", "", "", HL7Field(repetitions: [HL7Repetition(), HL7Repetition()]))
        builder.append(HL7Segment(id: "ZZZ", fields: [2: HL7Field(components: ["", "b", ""]), 4: HL7Field()]))
        builder.append(HL7Segment(id: "NTE", fields: [HL7Field(repetitions: ["", "r2", ""])]))
        #expect(try builder.message.text() == "MSH|^~\\&|HUB||||20261207||ACK\rMSA|AA|X1\rZZZ||^b\rNTE|~r2\r")
        #expect(builder.message.header?.value(1) == "|")
        #expect(builder.message.header?.value(2) == #"^~\&"#)
    }

    @Test func subscriptsBuildFields() throws {
        var segment = HL7Segment(id: "OBX")
        segment[5] = "6.2"
        var units = HL7Field()
        units[repetition: 1][1] = "mmol/L"
        units[repetition: 1][3][1] = "UCUM"
        units[repetition: 1][4][2] = "sub"
        segment[6] = units
        #expect(segment.fields.count == 6)
        #expect(segment.value(5) == "6.2")
        #expect(segment.value(6, component: 3) == "UCUM")
        #expect(segment.value(6, component: 4, subcomponent: 2) == "sub")
        #expect(segment.value(6, component: 4, subcomponent: 1) == nil)
        let message = HL7Message(segments: [HL7Segment(id: "MSH"), segment])
        #expect(try message.text() == "MSH|^~\\&\rOBX|||||6.2|mmol/L^^UCUM^&sub\r")
    }

    @Test func refusals() throws {
        let msh = HL7Segment(id: "MSH")
        #expect(throws: HL7EncodeError.missingHeader) { try HL7Message(segments: []).encoded() }
        #expect(throws: HL7EncodeError.missingHeader) { try HL7Message(segments: [HL7Segment(id: "PID")]).encoded() }
        #expect(throws: HL7EncodeError.repeatedHeader(segment: 3)) {
            try HL7Message(segments: [msh, HL7Segment(id: "PID"), msh]).encoded()
        }
        for id in ["pid", "PI", "PIDX", "1ID", "P D", ""] {
            #expect(throws: HL7EncodeError.invalidSegmentID(id)) {
                try HL7Message(segments: [msh, HL7Segment(id: id)]).encoded()
            }
        }
        var ascii = msh
        ascii[18] = "ASCII"
        #expect(throws: HL7EncodeError.unrepresentableText(.ascii)) {
            try HL7Message(segments: [ascii, HL7Segment(id: "PID", fields: ["1", "", "", "", "张三"])]).encoded()
        }
        let asciiBytes = try? HL7Message(segments: [ascii, HL7Segment(id: "PID", fields: ["1"])]).encoded()
        #expect(try HL7Message.parse(asciiBytes ?? []).charset == .ascii)
        var unknown = msh
        unknown[18] = "8859/1"
        #expect(throws: HL7EncodeError.unknownCharacterSet("8859/1")) { try HL7Message(segments: [unknown]).encoded() }
    }

    @Test func controlCharactersRoundTrip() throws {
        let text = "a\u{0B}b\u{1C}c\u{00}d\te"
        let message = HL7Message(segments: [
            HL7Segment(id: "MSH"), HL7Segment(id: "NTE", fields: ["1", "", HL7Field(text)]),
        ])
        let bytes = try message.encoded()
        #expect(!bytes.contains(0x0B) && !bytes.contains(0x1C) && !bytes.contains(0x00))
        #expect(try HL7Message.parse(bytes).segment(named: "NTE")?.value(3) == text)
    }
}
