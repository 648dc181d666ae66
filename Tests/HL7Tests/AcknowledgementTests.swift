import Testing

@testable import HL7

@Suite struct AcknowledgementTests {
    let time = HL7DateTime(year: 2026, month: 12, day: 7, hour: 10, minute: 30, second: 5, utcOffsetMinutes: 480)!

    @Test func acceptsAnORU() throws {
        let incoming = try HL7Message.parse(Fixtures.oru)
        let ack = HL7Acknowledgement(
            responding: incoming, code: .accept, text: "Message accepted", application: "HUB",
            facility: HL7Field(components: ["ALLIANCE", "2.16.156.1", "ISO"]), controlID: "ACK0001", timestamp: time)
        let bytes = try ack.encoded()
        #expect(bytes.last == 0x0D)
        let parsed = try HL7Message.parse(bytes)
        #expect(parsed.segments.map(\.id) == ["MSH", "MSA"])
        let msh = try #require(parsed.header)
        #expect(msh.value(1) == "|")
        #expect(msh.value(2) == #"^~\&"#)
        #expect(msh.value(3) == "HUB")
        #expect(msh[4] == HL7Field(components: ["ALLIANCE", "2.16.156.1", "ISO"]))
        #expect(msh[5] == incoming.header?[3])
        #expect(msh.value(5) == "LIS")
        #expect(msh[6] == incoming.header?[4])
        #expect(msh.value(6, component: 2) == "1.2.156.112604.1.2.1")
        #expect(msh.value(6, component: 3) == "ISO")
        #expect(msh.value(7) == "20261207103005+0800")
        #expect(msh.value(8) == nil)
        #expect(parsed.type == "ACK" && parsed.event == "R01" && parsed.structure == "ACK")
        #expect(parsed.controlID == "ACK0001")
        #expect(parsed.processingID == "P")
        #expect(parsed.version == "2.5.1")
        #expect((13...17).allSatisfy { msh[$0].isEmpty })
        #expect(msh.value(18) == "UNICODE UTF-8")
        #expect(msh.fields.count == 18)
        let msa = try #require(parsed.segment(named: "MSA"))
        #expect(msa.value(1) == "AA")
        #expect(msa.value(2) == "MSG00001")
        #expect(msa.value(3) == "Message accepted")
        #expect(msa.fields.count == 3)
    }

    @Test func errorsInVersion25Form() throws {
        let incoming = try HL7Message.parse(Fixtures.oru)
        let errors = [
            HL7ErrorReport(
                code: .requiredFieldMissing, severity: .error,
                location: HL7ErrorLocation(
                    segmentID: "PID", segmentSequence: 1, field: 3, fieldRepetition: 2, component: 4, subcomponent: 1),
                userMessage: "PID-3: no identifier the hub accepts",
                diagnosticInformation: "assigning authority | unknown"),
            HL7ErrorReport(
                code: .tableValueNotFound, severity: .warning,
                location: HL7ErrorLocation(segmentID: "OBX", segmentSequence: 3, field: 8)),
            HL7ErrorReport(code: .applicationInternalError, severity: .information),
        ]
        let ack = HL7Acknowledgement(
            responding: incoming, code: .error, text: "检验结果部分未接收", application: "HUB", facility: "ALLIANCE",
            controlID: "ACK0002", timestamp: time, errors: errors)
        let parsed = try HL7Message.parse(try ack.encoded())
        #expect(parsed.segments.map(\.id) == ["MSH", "MSA", "ERR", "ERR", "ERR"])
        #expect(parsed.segment(named: "MSA")?.value(1) == "AE")
        #expect(parsed.segment(named: "MSA")?.value(3) == "检验结果部分未接收")
        let err = parsed.segments(named: "ERR")
        #expect(err[0][1].isEmpty)
        #expect(err[0][2] == HL7Field(components: ["PID", "1", "3", "2", "4", "1"]))
        #expect(err[0][3] == HL7Field(components: ["101", "Required field missing", "HL70357"]))
        #expect(err[0].value(4) == "E")
        #expect(err[0][5].isEmpty && err[0][6].isEmpty)
        #expect(err[0].value(7) == "assigning authority | unknown")
        #expect(err[0].value(8) == "PID-3: no identifier the hub accepts")
        #expect(err[0].fields.count == 8)
        #expect(err[1][2] == HL7Field(components: ["OBX", "3", "8"]))
        #expect(err[1].value(3) == "103" && err[1].value(3, component: 2) == "Table value not found")
        #expect(err[1].value(4) == "W")
        #expect(err[1].fields.count == 4)
        #expect(err[2][2].isEmpty)
        #expect(err[2].value(3) == "207" && err[2].value(3, component: 3) == "HL70357")
        #expect(err[2].value(4) == "I")
    }

    @Test func version231GetsTheLegacyErrorField() throws {
        let incoming = try HL7Message.parse(Fixtures.oru231)
        let ack = HL7Acknowledgement(
            responding: incoming, code: .reject, text: "Unsupported", application: "HUB", facility: "ALLIANCE",
            controlID: "ACK0003", timestamp: time,
            errors: [
                HL7ErrorReport(
                    code: .dataTypeError, location: HL7ErrorLocation(segmentID: "OBX", segmentSequence: 2, field: 5)),
                HL7ErrorReport(code: .unsupportedVersionID),
            ])
        let parsed = try HL7Message.parse(try ack.encoded())
        #expect(parsed.type == "ACK" && parsed.event == "R01" && parsed.structure == "ACK")
        #expect(parsed.version == "2.3.1")
        #expect(parsed.header?.value(5) == "LABSYS" && parsed.header?.value(6) == "HOSP2")
        #expect(parsed.header?[18].isEmpty == true)
        #expect(parsed.declaredCharset == nil)
        #expect(parsed.segment(named: "MSA")?.value(2) == "L231-0042")
        let err = parsed.segments(named: "ERR")
        let eld = err[0][1][repetition: 1]
        #expect(eld[1][1] == "OBX" && eld[2][1] == "2" && eld[3][1] == "5")
        #expect(eld[4].subcomponents == ["102", "Data type error", "HL70357"])
        #expect(err[0][2] == HL7Field(components: ["OBX", "2", "5"]))
        #expect(err[0].value(3) == "102")
        #expect(err[0].value(4) == "E")
        let bare = err[1][1][repetition: 1]
        #expect(bare[1].isEmpty && bare[2].isEmpty && bare[3].isEmpty)
        #expect(bare[4].subcomponents == ["203", "Unsupported version id", "HL70357"])
        #expect(err[1][2].isEmpty)
    }

    @Test func legacyVersionDetection() {
        #expect(HL7Acknowledgement.isBefore25("2.3"))
        #expect(HL7Acknowledgement.isBefore25("2.3.1"))
        #expect(HL7Acknowledgement.isBefore25("2.4"))
        #expect(!HL7Acknowledgement.isBefore25("2.5"))
        #expect(!HL7Acknowledgement.isBefore25("2.5.1"))
        #expect(!HL7Acknowledgement.isBefore25("2.7"))
        #expect(!HL7Acknowledgement.isBefore25("3"))
        #expect(!HL7Acknowledgement.isBefore25(""))
        #expect(!HL7Acknowledgement.isBefore25(nil))
        #expect(!HL7Acknowledgement.isBefore25("v2.3"))
    }

    @Test func answersInTheIncomingCharacterSetAndDelimiters() throws {
        let incoming = try HL7Message.parse(Fixtures.gb18030)
        let ack = HL7Acknowledgement(
            responding: incoming, code: .accept, text: "已接收", application: "HUB", facility: "ALLIANCE",
            controlID: "ACK0004", timestamp: time)
        let bytes = try ack.encoded()
        #expect(bytes.firstRange(of: Array("已接收".utf8)) == nil)
        let parsed = try HL7Message.parse(bytes)
        #expect(parsed.charset == .gb18030)
        #expect(parsed.header?.value(18) == "GB 18030")
        #expect(parsed.segment(named: "MSA")?.value(3) == "已接收")
        #expect(parsed.segment(named: "MSA")?.value(2) == "GB0001")

        let other = "MSH#!*$%#LIS#HOSP1#HUB#ALLIANCE#20261207##ORU!R01!ORU_R01#X9#T#2.5.1\rPID#1\r"
        let otherIncoming = try HL7Message.parse(Array(other.utf8))
        let otherACK = try HL7Acknowledgement(
            responding: otherIncoming, code: .accept, application: "HUB", facility: "ALLIANCE", controlID: "A5",
            timestamp: time
        ).encoded()
        #expect(
            otherACK.starts(
                with: Array(
                    "MSH#!*$%#HUB#ALLIANCE#LIS#HOSP1#20261207103005+0800##ACK!R01!ACK#A5#T#2.5.1\rMSA#AA#X9\r".utf8)))
    }

    @Test func answersAMessageThatCouldNotBeParsed() throws {
        // OBX-5 holds a byte that is not UTF-8: the message is refused, but its header can still be read.
        var bytes = Fixtures.oru
        let index = try #require(bytes.firstRange(of: Array("6.2".utf8)))
        bytes[index.lowerBound] = 0xFF
        #expect(throws: HL7ParseError.invalidText(.utf8)) { try HL7Message.parse(bytes) }
        let header = try #require(HL7MessageHeader.scan(bytes))
        #expect(header.controlID == "MSG00001")
        #expect(header.event == "R01")
        #expect(header.versionID == "2.5.1")
        #expect(header.characterSet == "UNICODE UTF-8")
        #expect(header.sendingApplication == "LIS")
        #expect(header.sendingFacility == HL7Field(components: ["HOSP1", "1.2.156.112604.1.2.1", "ISO"]))
        #expect(header.processingID == "P")
        #expect(header == HL7MessageHeader(try HL7Message.parse(Fixtures.oru)))
        let ack = HL7Acknowledgement(
            responding: header, code: .reject, text: HL7ParseError.invalidText(.utf8).description, application: "HUB",
            facility: "ALLIANCE", controlID: "ACK0005", timestamp: time)
        let parsed = try HL7Message.parse(try ack.encoded())
        #expect(parsed.segment(named: "MSA")?.value(1) == "AR")
        #expect(parsed.segment(named: "MSA")?.value(2) == "MSG00001")
        #expect(parsed.segment(named: "MSA")?.value(3) == "the message is not valid UNICODE UTF-8 text")

        #expect(HL7MessageHeader.scan(Array("PID|1".utf8)) == nil)
        #expect(HL7MessageHeader.scan(Array("MSH|^~".utf8)) == nil)
        let unknown = try #require(HL7MessageHeader.scan(Array("MSH|^~\\&|A||||||ORU^R01|C7|P|2.4||||||8859/1\r".utf8)))
        #expect(unknown.characterSet == "8859/1")
        let unknownACK = try HL7Message.parse(
            try HL7Acknowledgement(
                responding: unknown, code: .reject, application: "HUB", facility: "ALLIANCE", controlID: "A6",
                timestamp: time
            ).encoded())
        #expect(unknownACK.header?[18].isEmpty == true)
        #expect(unknownACK.segment(named: "MSA")?.value(2) == "C7")
    }

    @Test func answersFromBareHeaderValues() throws {
        let header = HL7MessageHeader(
            sendingApplication: "LIS", sendingFacility: "HOSP9", messageType: HL7Field(components: ["ADT", "A08"]),
            controlID: "Z1", processingID: "D", version: "2.4", characterSet: "ASCII")
        let ack = HL7Acknowledgement(
            responding: header, code: .accept, application: "HUB", facility: "ALLIANCE", controlID: "Z2",
            timestamp: time)
        let text = try ack.message.text()
        #expect(
            text == "MSH|^~\\&|HUB|ALLIANCE|LIS|HOSP9|20261207103005+0800||ACK^A08^ACK|Z2|D|2.4||||||ASCII\rMSA|AA|Z1\r"
        )
        let refused = HL7Acknowledgement(
            responding: header, code: .reject, text: "拒绝", application: "HUB", facility: "ALLIANCE", controlID: "Z3",
            timestamp: time)
        #expect(throws: HL7EncodeError.unrepresentableText(.ascii)) { try refused.encoded() }
        #expect(
            HL7ErrorCode.allCases.map(\.code) == [
                "0", "100", "101", "102", "103", "200", "201", "202", "203", "204", "205", "206", "207",
            ])
        #expect(HL7ErrorCode.messageAccepted.text == "Message accepted")
    }
}
