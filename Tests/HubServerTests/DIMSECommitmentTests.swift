import DICOM
import DIMSE
import Foundation
import HubServer
import TestSupport
import Testing

/// Storage Commitment (push model) as a modality asks it before deleting its copies. dcmtk has no Storage Commitment
/// SCU, so the modality's side is written here with the DIMSE codec, over a plain socket.
@Suite struct DIMSECommitmentTests {
    /// One association: A-ASSOCIATE-RQ for Storage Commitment, an N-ACTION-RQ naming `references`, A-RELEASE-RQ; the
    /// messages the hub sent back, in order, with their data sets.
    static func commit(
        port: Int, transaction: String?, references: [(String, String)], calling: String = "HS_CT_1"
    ) async throws -> [(Command, DataSet?)] {
        let request = AssociateRequest(
            calledAETitle: "ALLIANCEHUB", callingAETitle: calling,
            presentationContexts: [
                ProposedContext(
                    id: 1, abstractSyntax: SOPClass.storageCommitment,
                    transferSyntaxes: [TransferSyntax.explicitVRLittleEndian])
            ],
            userInformation: UserInformation(maximumLength: 16384, implementationClassUID: "1.2.3"))
        var action = Command(field: .nActionRequest, messageID: 5, hasDataSet: true)
        action.requestedSOPClassUID = SOPClass.storageCommitment
        action.requestedSOPInstanceUID = SOPClass.storageCommitmentInstance
        action.actionTypeID = 1
        var elements: [DICOMWriter.Element] = [
            DICOMWriter.Element(
                .referencedSOPSequence, .SQ,
                .sequence(
                    references.map {
                        [.string(.referencedSOPClassUID, .UI, $0.0), .string(.referencedSOPInstanceUID, .UI, $0.1)]
                    }, undefinedLength: false))
        ]
        if let transaction { elements.append(.string(.transactionUID, .UI, transaction)) }
        var bytes = PDU.associateRequest(request).encoded()
        for pdu in MessageAssembler.fragments(of: action.encoded(), contextID: 1, isCommand: true, maximumLength: 0)
            + MessageAssembler.fragments(
                of: try DICOMWriter.dataSet(elements, explicitVR: true), contextID: 1, isCommand: false,
                maximumLength: 0)
        {
            bytes += pdu.encoded()
        }
        bytes += PDU.releaseRequest.encoded()
        // Not half-closed: the hub closes the connection once it has answered the release.
        let answer = try await RawConnection.exchange(port: port, send: bytes, finish: false)
        var messages: [(Command, DataSet?)] = []
        var assembler = MessageAssembler()
        var start = 0
        var dataSet: [UInt8] = []
        while start < answer.count {
            let (type, length) = try PDUFraming.header(answer[start...], maximumDataLength: .max)
            let body = answer[(start + 6)..<(start + 6 + length)]
            start += 6 + length
            guard case .data(let values) = try PDU.decode(type: type, body: body) else { continue }
            for value in values {
                switch try assembler.feed(value) {
                case .command(_, let command)?:
                    messages.append((command, nil))
                case .dataSet(_, let fragment, let isLast)?:
                    dataSet += fragment
                    if isLast, let syntax = TransferSyntax(uid: TransferSyntax.explicitVRLittleEndian) {
                        messages[messages.count - 1].1 = try DataSet.parse(dataSet, transferSyntax: syntax)
                        dataSet = []
                    }
                case nil: break
                }
            }
        }
        return messages
    }

    @Test func storedInstancesAreCommittedAndOthersNamedWithTheirReason() async throws {
        try await DIMSEDoorTests.withDoor { hub, setup in
            let folder = try DIMSEDoorTests.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let ct = "1.2.840.10008.5.1.4.1.1.2"
            let slice = try DIMSEDoorTests.ctSlice(setup, sop: "1.2.826.0.1.3680043.10.79.1.1", in: folder)
            let store = try await DCMTK.run(
                "storescu", ["-aet", "HS_CT_1", "-aec", "ALLIANCEHUB", "127.0.0.1", String(setup.port), slice.path])
            try #require(store.status == 0, "\(store.output)")

            // All held: event type 1, every instance in the Referenced SOP Sequence.
            let all = try await Self.commit(
                port: setup.port, transaction: "2.25.100", references: [(ct, "1.2.826.0.1.3680043.10.79.1.1")])
            try #require(all.count == 2, "\(all.map(\.0))")
            #expect(all[0].0.field == .nActionResponse && all[0].0.status == Status.success)
            #expect(all[0].0.respondingTo == 5)
            #expect(all[1].0.field == .nEventReportRequest && all[1].0.eventTypeID == 1)
            #expect(all[1].0.affectedSOPInstanceUID == SOPClass.storageCommitmentInstance)
            let report = try #require(all[1].1)
            #expect(report.uid(.transactionUID) == "2.25.100")
            #expect(
                report.sequence(.referencedSOPSequence)?.compactMap { $0.uid(.referencedSOPInstanceUID) }
                    == ["1.2.826.0.1.3680043.10.79.1.1"])
            #expect(report.sequence(.failedSOPSequence) == nil)

            // One never stored and one under another SOP class: event type 2, each with its Failure Reason.
            let some = try await Self.commit(
                port: setup.port, transaction: "2.25.101",
                references: [
                    (ct, "1.2.826.0.1.3680043.10.79.1.1"), (ct, "1.2.826.0.1.3680043.10.79.1.99"),
                    ("1.2.840.10008.5.1.4.1.1.4", "1.2.826.0.1.3680043.10.79.1.1"),
                ])
            try #require(some.count == 2)
            #expect(some[1].0.eventTypeID == 2)
            let failures = try #require(some[1].1?.sequence(.failedSOPSequence))
            #expect(failures.map { $0.int(.failureReason) } == [0x0112, 0x0119])
            #expect(some[1].1?.sequence(.referencedSOPSequence)?.count == 1)

            // Another clinic's modality is not told the instance is held for it.
            try await hub.institution("yz-clinic", level: "primary", region: "321002", alliances: ["wh-east"])
            try await DIMSEDoorTests.registerNode(hub, at: "yz-clinic", "YZ_US_1", port: 104, kind: "modality")
            let foreign = try await Self.commit(
                port: setup.port, transaction: "2.25.102", references: [(ct, "1.2.826.0.1.3680043.10.79.1.1")],
                calling: "YZ_US_1")
            #expect(foreign.last?.0.eventTypeID == 2, "\(foreign.map(\.0))")

            // Without a Transaction UID the request is refused: Missing Attribute (0120H), and no report follows.
            let missing = try await Self.commit(
                port: setup.port, transaction: nil, references: [(ct, "1.2.826.0.1.3680043.10.79.1.1")])
            #expect(missing.map(\.0.field) == [.nActionResponse])
            #expect(missing.first?.0.status == Status.missingAttribute)

            let (_, auditor) = try await hub.practitioner(at: "wh-xiehe", roles: ["auditor"])
            let audit = try await hub.get("/v1/audit?limit=200", token: auditor)
            let commitments = audit.items.filter { $0["action"] as? String == "dicom.commitment" }
            #expect(commitments.count == 3, "\(audit.text)")
        }
    }
}
