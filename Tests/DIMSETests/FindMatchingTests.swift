import DICOM
import Testing

@testable import DICOMDoor

/// C-FIND matching (PS3.4 C.2.2.2) and the answers built from records, without a network.
@Suite struct FindMatchingTests {
    /// An identifier from elements, parsed back from the bytes a requester would send.
    static func identifier(_ elements: [DICOMWriter.Element], explicitVR: Bool = true) throws -> FindIdentifier {
        let bytes = try DICOMWriter.dataSet(elements, explicitVR: explicitVR)
        let syntax = try #require(
            TransferSyntax(
                uid: explicitVR ? TransferSyntax.explicitVRLittleEndian : TransferSyntax.implicitVRLittleEndian))
        return FindIdentifier(try DataSet.parse(bytes, transferSyntax: syntax))
    }

    static func key(_ vr: VR, _ values: String...) -> FindKey {
        FindKey(tag: .patientName, vr: vr, values: values, item: nil)
    }

    @Test func wildcardsSingleValuesAndCase() {
        #expect(FindMatch.matches("张三", key: Self.key(.PN, "张*")))
        #expect(FindMatch.matches("张三", key: Self.key(.PN, "?三")))
        #expect(!FindMatch.matches("李四", key: Self.key(.PN, "张*")))
        #expect(FindMatch.matches("WANG^XIAOMING", key: Self.key(.PN, "wang^*")))
        #expect(FindMatch.matches("WANG^XIAOMING", key: Self.key(.PN, "wang^xiaoming")))
        // Case matters outside person names.
        #expect(!FindMatch.matches("CT", key: Self.key(.CS, "ct")))
        #expect(FindMatch.matches("CT", key: Self.key(.CS, "C?")))
        #expect(FindMatch.matches("anything", key: Self.key(.LO, "*")))
        #expect(!FindMatch.matches("abc", key: Self.key(.LO, "ab")))
        // A hostile pattern over a long value ends, and answers rightly.
        let long = String(repeating: "a", count: 4000)
        #expect(!FindMatch.matches(long, key: Self.key(.LO, "*a*a*a*a*a*a*a*b")))
        #expect(FindMatch.matches(long + "b", key: Self.key(.LO, "*a*a*a*a*a*a*a*b")))
    }

    @Test func datesTimesAndUIDLists() {
        #expect(FindMatch.matches("20261207", key: Self.key(.DA, "20261201-20261231")))
        #expect(FindMatch.matches("20261207", key: Self.key(.DA, "20261207-")))
        #expect(FindMatch.matches("20261207", key: Self.key(.DA, "-20261207")))
        #expect(!FindMatch.matches("20261207", key: Self.key(.DA, "20261208-")))
        #expect(FindMatch.matches("2026.12.07", key: Self.key(.DA, "20261207")))
        #expect(FindMatch.matches("113000", key: Self.key(.TM, "0800-1200")))
        #expect(FindMatch.matches("1130", key: Self.key(.TM, "080000-120000")))
        #expect(!FindMatch.matches("130000.5", key: Self.key(.TM, "0800-1200")))
        #expect(FindMatch.matches("08:30:00", key: Self.key(.TM, "0800-0900")))
        #expect(FindMatch.matches("1.2.3", key: Self.key(.UI, "1.2.4", "1.2.3")))
        #expect(!FindMatch.matches("1.2.3", key: Self.key(.UI, "1.2.*")))
    }

    @Test func recordsMatchOnTheKeysTheyHoldAndSequencesOnAnyItem() throws {
        let identifier = try Self.identifier([
            .string(.patientName, .PN, "张*"),
            .string(DICOMTag(0x0040, 0x0006), .PN, "Dr^Nobody"),  // the hub holds no performing physician
            DICOMWriter.Element(
                .scheduledProcedureStepSequence, .SQ,
                .sequence(
                    [[.string(.modality, .CS, "CT"), DICOMWriter.Element(.scheduledStationAETitle, .AE, .bytes([]))]],
                    undefinedLength: true)),
        ])
        let ct: FindRecord = [
            .patientName: .text(["张三"]),
            .scheduledProcedureStepSequence: .items([
                [.modality: .text(["MR"])], [.modality: .text(["CT"]), .scheduledStationAETitle: .text(["HS_CT_1"])],
            ]),
        ]
        #expect(identifier.matches(ct))
        var mr = ct
        mr[.scheduledProcedureStepSequence] = .items([[.modality: .text(["MR"])]])
        #expect(!identifier.matches(mr))
        var other = ct
        other[.patientName] = .text(["李四"])
        #expect(!identifier.matches(other))
        // A record that holds the attribute empty does not match a value asked for it.
        other[.patientName] = .text([])
        #expect(!identifier.matches(other))
    }

    @Test func answersCarryEveryKeyInTheCharacterSetAsked() throws {
        for explicitVR in [true, false] {
            let identifier = try Self.identifier(
                [
                    .string(.specificCharacterSet, .CS, "GB18030"), DICOMWriter.Element(.patientName, .PN, .bytes([])),
                    DICOMWriter.Element(.patientID, .LO, .bytes([])),
                    DICOMWriter.Element(.accessionNumber, .SH, .bytes([])),
                    DICOMWriter.Element(
                        .scheduledProcedureStepSequence, .SQ,
                        .sequence([[DICOMWriter.Element(.modality, .CS, .bytes([]))]], undefinedLength: false)),
                ], explicitVR: explicitVR)
            #expect(identifier.answerCharacterSet == "GB18030")
            let record: FindRecord = [
                .patientName: .text(["张三"]), .patientID: .text(["P-1"]),
                .scheduledProcedureStepSequence: .items([
                    [.modality: .text(["CT"]), .scheduledStationAETitle: .text(["X"])]
                ]),
            ]
            let answer = try DICOMWriter.dataSet(
                identifier.answer(record, extra: [.retrieveAETitle: .text(["ALLIANCEHUB"])], characterSet: "GB18030"),
                explicitVR: explicitVR)
            let syntax = try #require(
                TransferSyntax(
                    uid: explicitVR ? TransferSyntax.explicitVRLittleEndian : TransferSyntax.implicitVRLittleEndian))
            let parsed = try DataSet.parse(answer, transferSyntax: syntax)
            #expect(parsed.strings(.specificCharacterSet) == ["GB18030"])
            #expect(Array(try #require(parsed.bytes(.patientName))) == [0xD5, 0xC5, 0xC8, 0xFD])
            #expect(parsed.string(.patientName) == "张三")
            #expect(parsed.string(.patientID) == "P-1")
            // Asked for and not held: answered empty.
            #expect(parsed.contains(.accessionNumber))
            #expect(parsed.string(.accessionNumber) == nil || parsed.string(.accessionNumber) == "")
            #expect(parsed.string(.retrieveAETitle) == "ALLIANCEHUB")
            // Only the keys of the item asked for are answered inside the sequence.
            let item = try #require(parsed.sequence(.scheduledProcedureStepSequence)?.first)
            #expect(item.string(.modality) == "CT")
            #expect(!item.contains(.scheduledStationAETitle))
        }
    }

    @Test func recordsFromTheArchivesDICOMJSON() {
        let record = FindRecord(
            dicomJSON: """
                {"00100010":{"vr":"PN","Value":[{"Alphabetic":"Zhang^San","Ideographic":"张^三"}]},
                 "00201208":{"vr":"IS","Value":[12]},"00080061":{"vr":"CS","Value":["CT","SR"]},
                 "00081032":{"vr":"SQ","Value":[{"00080100":{"vr":"SH","Value":["CT-CHEST"]}}]},
                 "00100020":{"vr":"LO"}}
                """)
        #expect(record[.patientName] == .text(["Zhang^San=张^三"]))
        #expect(record[.numberOfStudyRelatedInstances] == .text(["12"]))
        #expect(record[.modalitiesInStudy] == .text(["CT", "SR"]))
        #expect(record[DICOMTag(0x0008, 0x1032)] == .items([[.codeValue: .text(["CT-CHEST"])]]))
        #expect(record[.patientID] == .text([]))
        #expect(FindRecord(dicomJSON: "not json").isEmpty)
    }
}
