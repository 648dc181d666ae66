import Testing

@testable import DIMSE

@Suite struct PDUTests {
    static let request = AssociateRequest(
        calledAETitle: "ALLIANCEHUB", callingAETitle: "CT_CLINIC_1",
        presentationContexts: [
            ProposedContext(id: 1, abstractSyntax: SOPClass.verification, transferSyntaxes: ["1.2.840.10008.1.2"]),
            ProposedContext(
                id: 3, abstractSyntax: "1.2.840.10008.5.1.4.1.1.2",
                transferSyntaxes: ["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]),
            ProposedContext(id: 5, abstractSyntax: "1.2.3.4.5", transferSyntaxes: ["1.2.840.10008.1.2"]),
            ProposedContext(
                id: 7, abstractSyntax: "1.2.840.10008.5.1.4.1.1.7", transferSyntaxes: ["1.2.840.10008.1.2.4.999"]),
        ],
        userInformation: UserInformation(
            maximumLength: 16384, implementationClassUID: "1.2.276.0.7230010.3.0.3.6.7",
            implementationVersionName: "OFFIS_DCMTK_367",
            asynchronousOperations: OperationsWindow(invoked: 1, performed: 1),
            roles: [RoleSelection(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", scu: true, scp: false)],
            other: [UnknownItem(type: 0x58, value: [1, 0, 0, 4, 0x75, 0x73, 0x65, 0x72, 0, 0])]))

    static func roundTrip(_ pdu: PDU) throws -> PDU {
        let bytes = pdu.encoded()
        let (type, length) = try PDUFraming.header(bytes, maximumDataLength: 1 << 20)
        #expect(type == pdu.kind.rawValue)
        #expect(length == bytes.count - 6)
        return try PDU.decode(type: type, body: bytes[6...])
    }

    @Test func everyPDUSurvivesItsEncoding() throws {
        let accept = AssociateAccept(
            calledAETitle: "ALLIANCEHUB", callingAETitle: "CT_CLINIC_1",
            presentationContexts: [
                AcceptedContext(id: 1, result: .acceptance, transferSyntax: "1.2.840.10008.1.2"),
                AcceptedContext(id: 5, result: .abstractSyntaxNotSupported, transferSyntax: "1.2.840.10008.1.2"),
            ],
            userInformation: UserInformation(
                maximumLength: 65536, implementationClassUID: "2.25.1", implementationVersionName: "ALLIANCEHUB"))
        let pdus: [PDU] = [
            .associateRequest(Self.request), .associateAccept(accept),
            .associateReject(AssociateReject(result: .permanent, reason: .serviceUser(.callingAETitleNotRecognized))),
            .associateReject(AssociateReject(result: .transient, reason: .localLimitExceeded)),
            .data([
                PDV(contextID: 3, isCommand: true, isLast: false, bytes: [1, 2, 3]),
                PDV(contextID: 3, isCommand: true, isLast: true, bytes: []),
            ]),
            .releaseRequest, .releaseResponse, .abort(.unexpectedPDU),
        ]
        for pdu in pdus { #expect(try Self.roundTrip(pdu) == pdu) }
    }

    @Test func aeTitlesArePaddedTo16BytesAndTrimmedOnReading() throws {
        let bytes = PDU.associateRequest(Self.request).encoded()
        // Type, reserved, length (4), version (2), reserved (2), then the called AE title.
        #expect(Array(bytes[10..<26]) == Array("ALLIANCEHUB     ".utf8))
        #expect(Array(bytes[26..<42]) == Array("CT_CLINIC_1     ".utf8))
        guard case .associateRequest(let decoded) = try Self.roundTrip(.associateRequest(Self.request)) else {
            Issue.record("not an A-ASSOCIATE-RQ")
            return
        }
        #expect(decoded.calledAETitle == "ALLIANCEHUB")
    }

    @Test func aLengthPastTheLimitIsRefusedBeforeTheBodyIsRead() {
        // A P-DATA-TF announcing 4 GB: refused from its 6 header bytes.
        #expect(throws: PDUError.self) {
            try PDUFraming.header([0x04, 0, 0xFF, 0xFF, 0xFF, 0xFF], maximumDataLength: 65536)
        }
        #expect(throws: PDUError.self) {
            try PDUFraming.header([0x01, 0, 0x10, 0, 0, 0], maximumDataLength: 65536)
        }
        #expect(throws: PDUError.self) { try PDUFraming.header([0x09, 0, 0, 0, 0, 4], maximumDataLength: 65536) }
        #expect((try? PDUFraming.header([0x04, 0, 0, 1, 0, 0], maximumDataLength: 65536))?.length == 65536)
    }

    @Test func truncatedAndGarbledPDUsThrowAndNeverCrash() throws {
        let valid = PDU.associateRequest(Self.request).encoded()
        // Every truncation of a valid A-ASSOCIATE-RQ body.
        for end in 6..<valid.count {
            _ = try? PDU.decode(type: valid[0], body: valid[6..<end])
        }
        // Random bytes under every PDU type, and random single-byte corruptions of a valid one.
        var generator = SplitMix(seed: 0x5EED)
        for round in 0..<20_000 {
            var bytes = valid
            if round % 2 == 0 {
                bytes = (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                _ = try? PDU.decode(type: UInt8(1 + round % 7), body: bytes[...])
            } else {
                for _ in 0..<3 {
                    bytes[6 + Int(generator.next() % UInt64(bytes.count - 6))] = UInt8(
                        truncatingIfNeeded: generator.next())
                }
                _ = try? PDU.decode(type: bytes[0], body: bytes[6...])
            }
        }
        #expect(throws: PDUError.self) { try PDU.decode(type: 0x04, body: [0, 0, 0, 9, 1, 3][...]) }
        #expect(throws: PDUError.self) { try PDU.decode(type: 0x04, body: [][...]) }
        #expect(throws: PDUError.self) { try PDU.decode(type: 0x04, body: [0, 0, 0, 3, 1, 0xF3, 9][...]) }
    }

    @Test func aCommandSurvivesItsEncodingWithItsGroupLength() throws {
        var command = Command(
            field: .cStoreRequest, messageID: 7, affectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
            affectedSOPInstanceUID: "1.2.3.4.5.6.7", priority: 0, hasDataSet: true)
        command.moveOriginatorAETitle = "WORKSTATION"
        command.moveOriginatorMessageID = 3
        let bytes = command.encoded()
        // (0000,0000) UL, 4 bytes, the length of everything after it.
        #expect(Array(bytes[0..<8]) == [0, 0, 0, 0, 4, 0, 0, 0])
        let groupLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        #expect(groupLength == bytes.count - 12)
        #expect(bytes.count % 2 == 0)
        #expect(try Command.decode(bytes) == command)
        let response = Command.response(to: command, field: .cStoreResponse, status: Status.success)
        let decoded = try Command.decode(response.encoded())
        #expect(decoded.respondingTo == 7)
        #expect(decoded.hasDataSet == false)
        #expect(decoded.status == 0)
        #expect(decoded.affectedSOPInstanceUID == "1.2.3.4.5.6.7")
    }

    @Test func aCommandOfAnotherGroupOrCutShortIsRefused() {
        #expect(throws: PDUError.self) { try Command.decode([8, 0, 0x16, 0, 2, 0, 0, 0, 1, 2]) }
        #expect(throws: PDUError.self) { try Command.decode([0, 0, 0x00, 1, 2, 0, 0, 0, 1]) }
        // No Command Field.
        #expect(throws: PDUError.self) { try Command.decode([0, 0, 0x10, 1, 2, 0, 0, 0, 1, 0]) }
    }

    @Test func messagesAreAssembledFromFragmentsInOrderOnly() throws {
        let command = Command(
            field: .cStoreRequest, messageID: 1, affectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.7",
            affectedSOPInstanceUID: "1.2.3", priority: 0, hasDataSet: true)
        let bytes = command.encoded()
        var assembler = MessageAssembler()
        #expect(
            try assembler.feed(PDV(contextID: 3, isCommand: true, isLast: false, bytes: Array(bytes[..<10]))) == nil)
        #expect(
            try assembler.feed(PDV(contextID: 3, isCommand: true, isLast: true, bytes: Array(bytes[10...])))
                == .command(contextID: 3, command))
        #expect(!assembler.isIdle)
        #expect(
            try assembler.feed(PDV(contextID: 3, isCommand: false, isLast: false, bytes: [1, 2]))
                == .dataSet(contextID: 3, bytes: [1, 2], isLast: false))
        // A fragment of another context, or a command, while the data set is due.
        var copy = assembler
        #expect(throws: PDUError.self) {
            try copy.feed(PDV(contextID: 5, isCommand: false, isLast: true, bytes: [3]))
        }
        copy = assembler
        #expect(throws: PDUError.self) { try copy.feed(PDV(contextID: 3, isCommand: true, isLast: true, bytes: bytes)) }
        #expect(
            try assembler.feed(PDV(contextID: 3, isCommand: false, isLast: true, bytes: [3]))
                == .dataSet(contextID: 3, bytes: [3], isLast: true))
        #expect(assembler.isIdle)
        // A data set with no command before it.
        #expect(throws: PDUError.self) {
            try assembler.feed(PDV(contextID: 3, isCommand: false, isLast: true, bytes: [3]))
        }
    }

    @Test func fragmentsRespectThePeersMaximumLength() {
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
        let pdus = MessageAssembler.fragments(of: bytes, contextID: 1, isCommand: false, maximumLength: 4096)
        var joined: [UInt8] = []
        for (index, pdu) in pdus.enumerated() {
            let encoded = pdu.encoded()
            #expect(encoded.count - 6 <= 4096)
            guard case .data(let values) = pdu, let value = values.first else {
                Issue.record("not a P-DATA-TF")
                continue
            }
            #expect(value.isLast == (index == pdus.count - 1))
            joined += value.bytes
        }
        #expect(joined == bytes)
        #expect(MessageAssembler.fragments(of: [], contextID: 1, isCommand: true, maximumLength: 0).count == 1)
    }

    @Test func negotiationTakesTheRequestersFirstReadableSyntaxAndSaysWhyItRefuses() {
        let negotiation = Negotiation(
            implementationClassUID: "2.25.1", implementationVersionName: "ALLIANCEHUB",
            maximumLength: 65536,
            supports: { abstract in abstract == SOPClass.verification || SOPClass.isStorage(abstract) },
            takes: { _, syntax in
                ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.50"].contains(syntax)
            })
        let (accept, terms) = negotiation.accept(Self.request)
        #expect(
            accept.presentationContexts == [
                AcceptedContext(id: 1, result: .acceptance, transferSyntax: "1.2.840.10008.1.2"),
                AcceptedContext(id: 3, result: .acceptance, transferSyntax: "1.2.840.10008.1.2.4.50"),
                AcceptedContext(id: 5, result: .abstractSyntaxNotSupported, transferSyntax: "1.2.840.10008.1.2"),
                AcceptedContext(
                    id: 7, result: .transferSyntaxesNotSupported, transferSyntax: "1.2.840.10008.1.2.4.999"),
            ])
        #expect(terms.contexts.count == 2)
        #expect(terms.contexts[3]?.transferSyntax == "1.2.840.10008.1.2.4.50")
        #expect(terms.peerMaximumLength == 16384)
        #expect(accept.userInformation.maximumLength == 65536)
        #expect(SOPClass.isStorage("1.2.840.10008.5.1.4.1.1.88.59"))
        #expect(!SOPClass.isStorage("1.2.840.10008.5.1.4.1.2.2.1"))
        #expect(!SOPClass.isStorage("1.2.840.10008.5.1.4.1.1."))
    }
}

/// A small deterministic generator, so a failure found by the random rounds is found again.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
