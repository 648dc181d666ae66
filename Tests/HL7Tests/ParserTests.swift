import Testing

@testable import HL7

@Suite struct ParserTests {
    @Test func headerAccessorsOfORU() throws {
        let message = try HL7Message.parse(Fixtures.oru)
        #expect(message.type == "ORU")
        #expect(message.event == "R01")
        #expect(message.structure == "ORU_R01")
        #expect(message.controlID == "MSG00001")
        #expect(message.processingID == "P")
        #expect(message.version == "2.5.1")
        #expect(message.sendingApplication == "LIS")
        #expect(message.sendingFacility == "HOSP1")
        #expect(message.receivingApplication == "HUB")
        #expect(message.receivingFacility == "ALLIANCE")
        #expect(message.charset == .utf8)
        #expect(message.declaredCharset == .utf8)
        #expect(message.encodingCharacters == .standard)
        let msh = try #require(message.header)
        #expect(msh.id == "MSH")
        #expect(msh.value(1) == "|")
        #expect(msh.value(2) == #"^~\&"#)
        #expect(msh.value(4, component: 2) == "1.2.156.112604.1.2.1")
        #expect(msh.value(4, component: 3) == "ISO")
        #expect(msh.value(7) == "20261207103000+0800")
        #expect(msh.value(8) == nil)
        #expect(msh.value(15) == "AL")
        #expect(msh.value(17) == "CHN")
        #expect(msh.value(18) == "UNICODE UTF-8")
    }

    @Test func segmentsInOrderAndByName() throws {
        let message = try HL7Message.parse(Fixtures.oru)
        #expect(message.segments.map(\.id) == ["MSH", "PID", "PV1", "ORC", "OBR", "OBX", "OBX", "OBX", "OBX"])
        #expect(message.segments(named: "OBX").count == 4)
        #expect(message.segments(named: "NTE").isEmpty)
        #expect(message.segment(named: "OBX", occurrence: 3)?.value(1) == "3")
        #expect(message.segment(named: "OBX", occurrence: 5) == nil)
        #expect(message.segment(named: "OBX", occurrence: 0) == nil)
        #expect(message.segment(named: "PID")?.id == "PID")
    }

    @Test func patientIdentification() throws {
        let pid = try #require(try HL7Message.parse(Fixtures.oru).segment(named: "PID"))
        #expect(pid.value(1) == "1")
        #expect(pid.value(2) == nil)
        let identifiers = pid[3]
        #expect(identifiers.repetitions.count == 3)
        let resident = identifiers.repetitions[0]
        #expect(resident[1][1] == "420102198001011234")
        #expect(resident[2].isEmpty && resident[3].isEmpty)
        #expect(resident[4].subcomponents == ["CN-RESIDENT", "2.16.156.10011.1.1", "ISO"])
        #expect(resident[4][2] == "2.16.156.10011.1.1")
        #expect(resident[4][4] == "")
        #expect(resident[5][1] == "NNCHN")
        #expect(pid.value(3, component: 4, subcomponent: 1) == "CN-RESIDENT")
        #expect(pid.value(3, component: 4, subcomponent: 3) == "ISO")
        #expect(pid.value(3, component: 1, repetition: 2) == "YB2026000123")
        #expect(pid.value(3, component: 4, repetition: 2) == "CN-INSURANCE")
        #expect(pid.value(3, component: 5, repetition: 2) == "SS")
        #expect(pid.value(3, component: 1, repetition: 3) == "MRN000456")
        #expect(pid.value(3, component: 4, repetition: 3) == "HOSP1")
        #expect(pid.value(3, component: 5, repetition: 3) == "MR")
        #expect(pid.value(3, repetition: 4) == nil)
        #expect(identifiers[repetition: 3].value(component: 5) == "MR")
        #expect(identifiers.value(component: 1, repetition: 2) == "YB2026000123")
        #expect(pid.value(5) == "张三")
        #expect(pid.value(5, component: 7) == "L")
        #expect(pid.value(5, component: 2) == nil)
        #expect(pid.value(7) == "19800101")
        #expect(HL7DateTime.parse(try #require(pid.value(7)))?.precision == .day)
        #expect(pid.value(8) == "M")
        #expect(pid.value(11) == "武汉市江汉区")
        #expect(pid.value(11, component: 4) == "湖北")
        #expect(pid.value(11, component: 6) == "CHN")
        #expect(pid.value(40) == nil)
        #expect(pid[0].isEmpty && pid[-1].isEmpty)
    }

    @Test func visitOrderAndRequest() throws {
        let message = try HL7Message.parse(Fixtures.oru)
        let pv1 = try #require(message.segment(named: "PV1"))
        #expect(pv1.value(2) == "O")
        #expect(pv1.value(3, component: 4) == "HOSP1")
        #expect(pv1.value(7, component: 2) == "李")
        let orc = try #require(message.segment(named: "ORC"))
        #expect(orc.value(1) == "RE")
        #expect(orc.value(2) == "ORD1001")
        #expect(orc.value(3) == "LAB2001")
        #expect(orc.value(5) == "CM")
        let obr = try #require(message.segment(named: "OBR"))
        #expect(obr.value(2) == "ORD1001")
        #expect(obr.value(4) == "24331-1")
        #expect(obr.value(4, component: 2) == "Lipid panel")
        #expect(obr.value(4, component: 3) == "LN")
        #expect(obr.value(7) == "20261207080000+0800")
        #expect(obr.value(16, component: 3) == "四")
        #expect(obr.value(22) == "20261207103000+0800")
        #expect(obr.value(24) == "CH")
        #expect(obr.value(25) == "F")
        #expect(obr.fields.count == 25)
    }

    @Test func observations() throws {
        let obx = try HL7Message.parse(Fixtures.oru).segments(named: "OBX")
        #expect(obx.map { $0.value(1) } == ["1", "2", "3", "4"])
        #expect(obx[0].value(2) == "NM")
        #expect(obx[0].value(3) == "2093-3")
        #expect(obx[0].value(3, component: 3) == "LN")
        #expect(obx[0].value(5) == "6.2")
        #expect(obx[0].value(6) == "mmol/L")
        #expect(obx[0].value(6, component: 2) == nil)
        #expect(obx[0].value(6, component: 3) == "UCUM")
        #expect(obx[0].value(7) == "3.1-5.7")
        #expect(obx[0].value(8) == "H")
        #expect(obx[0].value(11) == "F")
        #expect(obx[0].value(14) == "20261207093000+0800")
        #expect(obx[1].value(8) == "N")
        #expect(obx[2].value(2) == "ST")
        #expect(obx[2].value(5) == "Sample lipemic & hemolysed | retest advised")
        #expect(obx[2].value(11) == "F")
        // An empty OBX-5, and the explicit null in OBX-8.
        #expect(obx[3].value(5) == nil)
        #expect(obx[3][5].isEmpty)
        #expect(!obx[3][5].isExplicitNull)
        #expect(!obx[3].isExplicitNull(5))
        #expect(obx[3].value(8) == nil)
        #expect(obx[3][8].isExplicitNull)
        #expect(!obx[3][8].isEmpty)
        #expect(obx[3].isExplicitNull(8))
        #expect(obx[3].isExplicitNull(8, component: 1))
        #expect(obx[3].isExplicitNull(8, component: 1, subcomponent: 1))
        #expect(!obx[3].isExplicitNull(8, component: 2))
        #expect(obx[3][8].repetitions[0][1][1] == #""""#)
        #expect(obx[3].value(11) == "F")
    }

    @Test func version231() throws {
        let message = try HL7Message.parse(Fixtures.oru231)
        #expect(message.type == "ORU")
        #expect(message.event == "R01")
        #expect(message.structure == nil)
        #expect(message.controlID == "L231-0042")
        #expect(message.version == "2.3.1")
        #expect(message.sendingApplication == "LABSYS")
        #expect(message.sendingFacility == "HOSP2")
        #expect(message.declaredCharset == nil)
        #expect(message.charset == .utf8)
        let pid = try #require(message.segment(named: "PID"))
        #expect(pid.value(3) == "MRN7788")
        #expect(pid.value(5) == "WANG" && pid.value(5, component: 2) == "FANG")
        #expect(pid.value(7) == "19751231")
        #expect(pid.value(8) == "F")
        let obx = message.segments(named: "OBX")
        #expect(obx[0].value(5) == "5.4")
        #expect(obx[1].value(5) == "Fasting sample.\nRepeat in 3 months.")
    }

    @Test func gb18030Message() throws {
        let message = try HL7Message.parse(Fixtures.gb18030)
        #expect(message.charset == .gb18030)
        #expect(message.controlID == "GB0001")
        #expect(message.header?.value(18) == "GB 18030")
        let pid = try #require(message.segment(named: "PID"))
        #expect(pid.value(5) == "张三")
        #expect(pid.value(7) == "19800101")
        #expect(pid.value(8) == "M")
        let obx = try #require(message.segment(named: "OBX"))
        #expect(obx.value(3, component: 2) == "检验")
        #expect(obx.value(3, component: 3) == "L")
        #expect(obx.value(5) == "億乗區亊 & 𠀀")
        #expect(obx[5].repetitions.count == 1)
        #expect(obx.value(11) == "F")
    }

    @Test func gb18030DeclaredWithoutSpace() throws {
        let text = Fixtures.gb18030
        let declared = Array(#"GB 18030"#.utf8)
        let index = try #require(text.firstRange(of: declared))
        var bytes = text
        bytes.replaceSubrange(index, with: Array("GB18030".utf8))
        #expect(try HL7Message.parse(bytes).charset == .gb18030)
    }

    @Test func lineFeedAndCRLFSeparators() throws {
        let reference = try HL7Message.parse(Fixtures.oru)
        for separator in ["\n", "\r\n", "\n\r", "\r\r\n\n"] {
            let message = try HL7Message.parse(Fixtures.bytes(Fixtures.oruLines, separator: separator))
            #expect(message == reference)
            #expect(message.segments(named: "OBX").count == 4)
        }
        let untermininated = Array(Fixtures.oruLines.joined(separator: "\n").utf8)
        #expect(try HL7Message.parse(untermininated) == reference)
        let padded = Array("\r\n".utf8) + Fixtures.oru + Array("\r\n  \r\n\t\n".utf8)
        #expect(try HL7Message.parse(padded) == reference)
        #expect(try HL7Message.parse([0xEF, 0xBB, 0xBF] + Fixtures.oru) == reference)
    }

    @Test func otherDelimiters() throws {
        let text =
            "MSH*!@$%*LIS*HOSP1***20261207**ORU!R01*X1*P*2.5.1\rPID*1**A1!!!ASSIGN%B@A2*@Y*x$F$y$S$z$T$w$R$v$E$\r"
        let message = try HL7Message.parse(Array(text.utf8))
        let d = message.encodingCharacters
        #expect(d.field == "*" && d.component == "!" && d.repetition == "@" && d.escape == "$")
        #expect(d.subcomponent == "%")
        #expect(d.truncation == nil)
        #expect(message.event == "R01")
        #expect(message.header?.value(1) == "*")
        #expect(message.header?.value(2) == "!@$%")
        let pid = try #require(message.segment(named: "PID"))
        #expect(pid.value(3) == "A1")
        #expect(pid.value(3, component: 4) == "ASSIGN")
        #expect(pid.value(3, component: 4, subcomponent: 2) == "B")
        #expect(pid.value(3, repetition: 2) == "A2")
        #expect(pid[4].repetitions.count == 2)
        #expect(pid.value(4, repetition: 2) == "Y")
        #expect(pid.value(5) == "x*y!z%w@v$")
    }

    @Test func truncationCharacterOfVersion27() throws {
        let text = #"MSH|^~\&#|LIS|HOSP1|||20261207||ORU^R01|T1|P|2.7"# + "\r" + #"OBX|1|ST|X||a\P\b#c"# + "\r"
        let message = try HL7Message.parse(Array(text.utf8))
        #expect(message.encodingCharacters.truncation == "#")
        #expect(message.header?.value(2) == #"^~\&#"#)
        #expect(message.version == "2.7")
        #expect(message.segment(named: "OBX")?.value(5) == "a#b#c")
    }

    @Test func refusals() {
        func error(_ text: String) -> HL7ParseError? {
            do {
                _ = try HL7Message.parse(Array(text.utf8))
                return nil
            } catch { return error }
        }
        #expect(error("") == .noMSH)
        #expect(error("PID|1") == .noMSH)
        #expect(error("MSH") == .noMSH)
        #expect(error("FHS|^~\\&|\rMSH|^~\\&|") == .noMSH)
        #expect(error("MSH|") == .badEncodingCharacters)
        #expect(error("MSH|^~\\|A") == .badEncodingCharacters)
        #expect(error("MSH|^~\\&#!|A") == .badEncodingCharacters)
        #expect(error("MSH|^^\\&|A") == .badEncodingCharacters)
        #expect(error("MSH|^~|&|A") == .badEncodingCharacters)
        #expect(error("MSHA^~\\&A") == .badEncodingCharacters)
        #expect(error("MSH|^~\\a|") == .badEncodingCharacters)
        #expect(error("MSH ^~\\&") == .badEncodingCharacters)
        #expect(error("MSH|^~\\&||||||||||||||||8859/1") == .unknownCharacterSet("8859/1"))
        #expect(error("MSH|^~\\&||||||||||||||||ASCII\rPID|1||张三") == .invalidText(.ascii))
        #expect(error("MSH|^~\\&|||||\rPID|1|\u{1B}$B") == .unsupportedCodeExtension)
        #expect(error("MSH|^~\\&|||||\rpid|1") == .invalidSegmentID("pid", segment: 2))
        #expect(
            error("MSH|^~\\&|||||\rPID|1\rsecond line of a result") == .invalidSegmentID("second line of a", segment: 3)
        )
        #expect(error("MSH|^~\\&|||||\rPI|1") == .invalidSegmentID("PI", segment: 2))
        #expect(error("MSH|^~\\&|||||\r1ID|1") == .invalidSegmentID("1ID", segment: 2))
        #expect(error("MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B") == .repeatedMSH(segment: 3))
        #expect(HL7ParseError.noMSH.description.contains("MSH"))
        #expect(HL7ParseError.unknownCharacterSet("X").description.contains("\"X\""))
    }

    @Test func invalidUTF8IsRefused() {
        let header = Array("MSH|^~\\&||||||||||||||||UNICODE UTF-8\rOBX|1|ST|X||".utf8)
        for bad: [UInt8] in [
            [0xFF], [0xC3], [0xE5, 0xBC], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80],
        ] {
            #expect(throws: HL7ParseError.invalidText(.utf8)) { try HL7Message.parse(header + bad + [0x0D]) }
        }
        let empty = Array("MSH|^~\\&|||\rOBX|1|ST|X||".utf8)
        #expect(throws: HL7ParseError.invalidText(.utf8)) { try HL7Message.parse(empty + [0xB2, 0xE2]) }
    }

    @Test func invalidGB18030IsRefused() {
        let header = Array("MSH|^~\\&||||||||||||||||GB 18030\rOBX|1|ST|X||".utf8)
        // A lone lead byte at the end, a lead byte followed by a byte that cannot follow it, and 0x80 and 0xFF.
        for bad: [UInt8] in [[0xD5], [0xD5, 0x0D], [0x81, 0x30, 0x20], [0x80], [0xFF, 0x41]] {
            #expect(throws: HL7ParseError.invalidText(.gb18030)) { try HL7Message.parse(header + bad) }
        }
    }

    @Test func nonASCIIBeforeMSH18IsCaught() throws {
        // 億 is 83 7C in GB 18030: its trail byte reads as a field separator in MSH-4, shifting MSH-18 when read in
        // bytes. Here the shifted field happens to name a character set, which decoding then shows up.
        var bytes = Array("MSH|^~\\&|LIS|".utf8) + [0x83, 0x7C]
        bytes += Array("|||||||||||||GB18030|GB 18030\rPID|1\r".utf8)
        #expect(throws: HL7ParseError.inconsistentHeader) { try HL7Message.parse(bytes) }
    }

    @Test func characterSetNames() {
        #expect(HL7CharacterSet(declaration: "UNICODE UTF-8") == .utf8)
        #expect(HL7CharacterSet(declaration: "UTF-8") == .utf8)
        #expect(HL7CharacterSet(declaration: "utf8") == .utf8)
        #expect(HL7CharacterSet(declaration: "GB 18030") == .gb18030)
        #expect(HL7CharacterSet(declaration: "GB18030") == .gb18030)
        #expect(HL7CharacterSet(declaration: " ASCII ") == .ascii)
        #expect(HL7CharacterSet(declaration: "") == nil)
        #expect(HL7CharacterSet(declaration: "UNICODE") == nil)
        #expect(HL7CharacterSet(declaration: "8859/1") == nil)
        #expect(HL7CharacterSet.gb18030.declaration == "GB 18030")
    }

    @Test func msh18RepetitionsAndSpaces() throws {
        let text = "MSH|^~\\&||||||||||||||||  UNICODE UTF-8 ~GB 18030\rPID|1||||王\r"
        let message = try HL7Message.parse(Array(text.utf8))
        #expect(message.charset == .utf8)
        #expect(message.segment(named: "PID")?.value(5) == "王")
    }

    @Test func asciiMessage() throws {
        let text = "MSH|^~\\&||||||||||||||||ASCII\rPID|1||||DOE^JOHN\r"
        let message = try HL7Message.parse(Array(text.utf8))
        #expect(message.charset == .ascii)
        #expect(message.segment(named: "PID")?.value(5, component: 2) == "JOHN")
    }

    @Test func segmentWithoutFields() throws {
        let message = try HL7Message.parse(Array("MSH|^~\\&\rZZ1\rPID|\r".utf8))
        #expect(message.segments.map(\.id) == ["MSH", "ZZ1", "PID"])
        #expect(message.segments[1].fields.isEmpty)
        #expect(message.segments[2].fields == [HL7Field()])
        #expect(message.header?.value(2) == #"^~\&"#)
        #expect(message.header?.value(3) == nil)
        #expect(message.type == nil)
    }
}
