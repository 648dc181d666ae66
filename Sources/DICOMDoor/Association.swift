import DICOM
import DIMSE
import Foundation
import HubCore
import HubStorage
import HubUseCases
import Logging
import NIOCore
import NetworkDoor

/// The acceptor's side of one association: negotiation, then the DIMSE messages it carries, one at a time.
struct Association {
    let door: DIMSEDoor
    let address: String
    /// False when the door already serves as many associations as it may: the request is rejected (transient).
    let admitted: Bool
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let allocator = ByteBufferAllocator()

    private var state = State.awaitingRequest
    private var assembler = MessageAssembler()
    private var terms = AssociationTerms(contexts: [:], peerMaximumLength: 0)
    private var caller: Caller?
    private var node: DICOMNode?
    private var lease: UploadMemory.Lease?
    /// The C-STORE whose data set is arriving, with where its bytes go.
    private var store: (command: Command, contextID: UInt8, writer: BlobWriter)?
    /// The C-FIND, C-GET or C-MOVE whose identifier is arriving, with the bytes so far.
    private var query:
        (
            command: Command, contextID: UInt8, abstractSyntax: String, transferSyntax: String, bytes: [UInt8]
        )?
    /// The C-GET whose C-STORE sub-operations are under way on this association.
    private var retrieval: Retrieval?
    /// The message ID of this side's next request (the C-STORE sub-operations of a C-GET).
    private var nextMessageID: UInt16 = 0

    /// A C-GET in progress: its request, what is left to send, the tally, and the sub-operation awaiting its answer.
    private struct Retrieval {
        var command: Command
        var contextID: UInt8
        var left: [StoredInstanceFile]
        var tally: SubOperations
        var awaiting: (messageID: UInt16, instance: String)?
    }
    /// The answer to a request refused before its data set arrived: the data set is read and dropped, then this is
    /// sent.
    private var answerAfterDataSet: Command?
    private var stored = 0
    private var found = 0

    /// The largest C-FIND, C-GET or C-MOVE identifier read; real ones are a few hundred bytes.
    static let maximumIdentifierBytes = 256 * 1024

    private enum State {
        case awaitingRequest
        case established
        case released
    }

    init(door: DIMSEDoor, address: String, admitted: Bool, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.door = door
        self.address = address
        self.admitted = admitted
        self.outbound = outbound
    }

    /// Takes one PDU; false when the association is over (released, rejected or aborted by the peer).
    mutating func receive(_ pdu: PDU) async throws -> Bool {
        switch (state, pdu) {
        case (.awaitingRequest, .associateRequest(let request)):
            return try await associate(request)
        case (.established, .data(let values)):
            for value in values {
                guard let event = try assembler.feed(value) else { continue }
                try await handle(event)
            }
            return true
        case (.established, .releaseRequest):
            guard assembler.isIdle else {
                throw PDUError(.unexpectedPDU, "an A-RELEASE-RQ in the middle of a message")
            }
            try await send(.releaseResponse)
            state = .released
            door.logger.info(
                "DIMSE association released",
                metadata: [
                    "dicom.peer": "\(address)", "dicom.calling": "\(node?.aeTitle ?? "-")",
                    "dicom.stored": "\(stored)", "dicom.found": "\(found)",
                ])
            return false
        case (_, .abort):
            return false
        default:
            throw PDUError(.unexpectedPDU, "a \(pdu.kind) PDU is not expected now")
        }
    }

    /// Whatever the end, what the association held is given back.
    mutating func ended() {
        store?.writer.abort()
        store = nil
        lease?.end()
        lease = nil
    }

    // MARK: Negotiation

    private mutating func associate(_ request: AssociateRequest) async throws -> Bool {
        func reject(
            _ result: AssociateReject.Result, _ reason: AssociateReject.Reason, _ why: String
        ) async throws
            -> Bool
        {
            door.logger.notice(
                "DIMSE association rejected",
                metadata: [
                    "dicom.peer": "\(address)", "dicom.calling": "\(request.callingAETitle)",
                    "dicom.called": "\(request.calledAETitle)", "dicom.reason": "\(why)",
                ])
            try await send(.associateReject(AssociateReject(result: result, reason: reason)))
            return false
        }
        guard request.applicationContext == dicomApplicationContext else {
            return try await reject(
                .permanent, .serviceUser(.applicationContextNotSupported),
                "application context \(request.applicationContext)")
        }
        guard AETitleRules.normalized(request.calledAETitle) == door.settings.aeTitle else {
            return try await reject(
                .permanent, .serviceUser(.calledAETitleNotRecognized),
                "called AE title '\(request.calledAETitle)' is not the hub's '\(door.settings.aeTitle)'")
        }
        let node: DICOMNode
        do {
            node = try await door.nodes.caller(
                callingTitle: request.callingAETitle, address: address, hostAddresses: HostAddresses.of)
        } catch let refusal as DICOMNodes.Refusal {
            return try await reject(.permanent, .serviceUser(.callingAETitleNotRecognized), refusal.reason)
        }
        guard admitted else {
            return try await reject(
                .transient, .localLimitExceeded,
                "\(door.settings.maximumAssociations) associations are open (dicom.max_associations)")
        }
        do {
            lease = try door.uploadMemory.admit(DICOMIngest.inMemoryInstance)
        } catch {
            return try await reject(.transient, .temporaryCongestion, "the memory for uploads is in use")
        }
        let ofClinic = node.kind != .workstation
        var negotiation = Negotiation(
            implementationClassUID: DICOMWriter.implementationClassUID,
            implementationVersionName: "ALLIANCEHUB", maximumLength: UInt32(door.settings.maximumPDULength),
            supports: { abstract in
                abstract == SOPClass.verification || SOPClass.queryFind.contains(abstract)
                    || SOPClass.retrieveGet.contains(abstract) || SOPClass.retrieveMove.contains(abstract)
                    || (ofClinic
                        && (SOPClass.isStorage(abstract) || abstract == SOPClass.modalityWorklistFind
                            || abstract == SOPClass.storageCommitment))
            },
            takes: { abstract, syntax in
                SOPClass.isStorage(abstract) ? TransferSyntax(uid: syntax) != nil : Self.uncompressed.contains(syntax)
            })
        negotiation.sendsTo = SOPClass.isStorage
        let (accept, terms) = negotiation.accept(request)
        self.terms = terms
        self.node = node
        caller = Caller(
            principal: node.principal, remoteAddress: address, requestId: "dimse-" + UUID().uuidString.lowercased())
        state = .established
        try await send(.associateAccept(accept))
        door.logger.info(
            "DIMSE association accepted",
            metadata: [
                "dicom.peer": "\(address)", "dicom.calling": "\(node.aeTitle)", "dicom.node": "\(node.id)",
                "dicom.contexts": "\(terms.contexts.count) of \(request.presentationContexts.count)",
            ])
        return true
    }

    /// The uncompressed transfer syntaxes, which verification and queries take; a storage context takes every transfer
    /// syntax the parser reads, and a data set is stored as it is sent, never transcoded.
    static let uncompressed: Set<String> = [
        TransferSyntax.implicitVRLittleEndian, TransferSyntax.explicitVRLittleEndian,
    ]

    // MARK: Messages

    private mutating func handle(_ event: MessageAssembler.Event) async throws {
        switch event {
        case .command(let contextID, let command):
            guard let context = terms.contexts[contextID] else {
                throw PDUError(.unexpectedPDU, "a message on presentation context \(contextID), which was not accepted")
            }
            try await begin(command, contextID: contextID, context: context)
        case .dataSet(let contextID, let bytes, let isLast):
            if let current = store {
                try bytes.withUnsafeBytes { try current.writer.write($0) }
                if isLast { try await finishStore() }
            } else if query != nil {
                query?.bytes += bytes
                guard query?.bytes.count ?? 0 <= Self.maximumIdentifierBytes else {
                    throw PDUError(
                        .invalidParameter, "an identifier of more than \(Self.maximumIdentifierBytes) bytes")
                }
                if isLast { try await finishQuery() }
            } else if let answer = answerAfterDataSet, isLast {
                answerAfterDataSet = nil
                try await send(answer, contextID: contextID)
            }
        }
    }

    private mutating func begin(
        _ command: Command, contextID: UInt8, context: AssociationTerms.Context
    ) async throws {
        let (abstractSyntax, transferSyntax) = (context.abstractSyntax, context.transferSyntax)
        switch command.field {
        case .cEchoRequest:
            try await send(
                Command.response(to: command, field: .cEchoResponse, status: Status.success), contextID: contextID)
        case .cStoreRequest:
            guard command.hasDataSet else {
                return try await refuse(command, Status.cannotUnderstand, "a C-STORE-RQ without a data set", contextID)
            }
            guard node?.kind != .workstation else {
                return try await refuse(
                    command, Status.notAuthorized, "a workstation does not store into the hub", contextID)
            }
            guard let sopClass = command.affectedSOPClassUID, let sop = command.affectedSOPInstanceUID,
                SOPClass.isStorage(abstractSyntax), sopClass == abstractSyntax
            else {
                return try await refuse(
                    command, Status.sopClassNotSupported,
                    "the SOP class is not the presentation context's (\(abstractSyntax))", contextID)
            }
            do {
                let writer = try door.ingest.writer()
                let meta = try DICOMWriter.fileMetaInformation(
                    sopClassUID: sopClass, sopInstanceUID: sop, transferSyntaxUID: transferSyntax,
                    sourceAETitle: node?.aeTitle)
                try meta.withUnsafeBytes { try writer.write($0) }
                store = (command, contextID, writer)
            } catch {
                try await refuse(command, Status.outOfResources, "the hub cannot store now: \(error)", contextID)
            }
        case .cFindRequest, .cGetRequest, .cMoveRequest:
            guard command.hasDataSet else {
                return try await refuse(command, Status.cannotUnderstand, "a request without an identifier", contextID)
            }
            guard retrieval == nil else {
                return try await refuse(
                    command, Status.outOfResourcesForSubOperations, "a C-GET is under way on this association",
                    contextID)
            }
            guard command.affectedSOPClassUID == abstractSyntax else {
                return try await refuse(
                    command, Status.sopClassNotSupported,
                    "the SOP class is not the presentation context's (\(abstractSyntax))", contextID)
            }
            query = (command, contextID, abstractSyntax, transferSyntax, [])
        case .nActionRequest:
            if let (status, comment) = Self.commitmentRefusal(command, abstractSyntax: abstractSyntax) {
                return try await refuse(command, status, comment, contextID)
            }
            query = (command, contextID, abstractSyntax, transferSyntax, [])
        case .cStoreResponse:
            guard var current = retrieval, let awaiting = current.awaiting, command.respondingTo == awaiting.messageID
            else { return }
            current.awaiting = nil
            current.tally.count(command.status ?? Status.processingFailure, instance: awaiting.instance)
            retrieval = current
            try await send(
                current.tally.pending(to: current.command, field: .cGetResponse), contextID: current.contextID)
            try await continueRetrieval()
        case .cCancelRequest:
            guard let current = retrieval, command.respondingTo == current.command.messageID else { return }
            retrieval = nil
            let (response, failed) = current.tally.final(to: current.command, field: .cGetResponse, cancelled: true)
            try await send(response, failed: failed, contextID: current.contextID)
        default:
            try await refuse(
                command, Status.unrecognizedOperation,
                "the hub does not perform this operation on this presentation context", contextID)
        }
    }

    /// Answers a request with a failure `status`: at once, or once its data set has arrived (and been dropped).
    /// Responses and C-CANCEL-RQ are not answered.
    private mutating func refuse(
        _ command: Command, _ status: UInt16, _ comment: String, _ contextID: UInt8
    ) async throws {
        guard let field = command.field.response else { return }
        guard command.hasDataSet else { return try await answer(command, status, comment, contextID) }
        answerAfterDataSet = Command.response(to: command, field: field, status: status, errorComment: comment)
    }

    /// Sends the final response to `command` with `status` (and why, for a failure).
    private func answer(
        _ command: Command, _ status: UInt16, _ comment: String? = nil, _ contextID: UInt8
    ) async throws {
        guard let field = command.field.response else { return }
        try await send(
            Command.response(to: command, field: field, status: status, errorComment: comment), contextID: contextID)
    }

    /// The whole data set of a C-STORE has arrived: it is checked, stored and filed like a STOW-RS part.
    private mutating func finishStore() async throws {
        guard let (command, contextID, writer) = store, let caller, let node else { return }
        store = nil
        let mayInline =
            writer.isWhollyInMemory && writer.size <= InlineBlobs.limit && (lease?.extend(writer.size) ?? false)
        defer { if mayInline { lease?.shrink(writer.size) } }
        let status: UInt16
        var comment: String?
        switch await door.ingest.check(writer, study: nil, mayInline: mayInline) {
        case .failure(let refused):
            status = UInt16(refused.reason.rawValue)
            comment = refused.detail
        case .success(let part):
            if part.instance.sopInstanceUID != command.affectedSOPInstanceUID {
                status = Status.cannotUnderstand
                comment = "the data set's SOP Instance UID is not the one the command names"
                break
            }
            do {
                let (indexed, refused) = try await door.ingest.index(
                    [part], owner: node.institutionId, exam: nil, by: caller, at: door.clock(), door: .dimse)
                if let refusal = refused.first {
                    status = UInt16(refusal.reason.rawValue)
                    comment = refusal.detail
                } else {
                    status = indexed.isEmpty ? Status.processingFailure : Status.success
                    if status == Status.success { stored += 1 }
                }
            } catch let error as HubError {
                status = error.kind == .forbidden ? Status.notAuthorized : Status.processingFailure
                comment = error.detail
            } catch {
                status = Status.outOfResources
                comment = "the hub could not store the instance; send it again"
            }
        }
        try await answer(command, status, comment, contextID)
    }

    /// The whole identifier of a C-FIND, C-GET or C-MOVE has arrived. A C-FIND's matches are answered pending, each
    /// with its data set, then the final status.
    private mutating func finishQuery() async throws {
        guard let (command, contextID, abstractSyntax, transferSyntax, bytes) = query, let caller, let node else {
            return
        }
        query = nil
        guard let syntax = TransferSyntax(uid: transferSyntax) else {
            return try await answer(
                command, Status.cannotUnderstand, "the context's transfer syntax is not read", contextID)
        }
        let dataset: DataSet
        do {
            dataset = try DataSet.parse(bytes, transferSyntax: syntax)
        } catch {
            return try await answer(
                command, Status.cannotUnderstand, "the identifier cannot be read: \(error.detail)", contextID)
        }
        if command.field == .nActionRequest {
            return try await commit(command, contextID: contextID, dataset, explicitVR: syntax.isExplicitVR)
        }
        let identifier = FindIdentifier(dataset)
        let patientRoot = [SOPClass.patientRootGet, SOPClass.patientRootMove].contains(abstractSyntax)
        switch command.field {
        case .cGetRequest:
            return try await startRetrieval(command, contextID: contextID, identifier, patientRoot: patientRoot)
        case .cMoveRequest:
            return try await move(command, contextID: contextID, identifier, patientRoot: patientRoot)
        default: break
        }
        let answers: [[DICOMWriter.Element]]
        do {
            answers = try await FindService(door: door, node: node, caller: caller)
                .answers(to: identifier, abstractSyntax: abstractSyntax)
        } catch {
            return try await answer(command, error.status, error.comment, contextID)
        }
        for match in answers {
            let data: [UInt8]
            do {
                data = try DICOMWriter.dataSet(match, explicitVR: syntax.isExplicitVR)
            } catch {
                return try await answer(
                    command, Status.cannotUnderstand, "an answer cannot be encoded: \(error.detail)", contextID)
            }
            try await send(
                Command.response(to: command, field: .cFindResponse, status: Status.pending, hasDataSet: true),
                contextID: contextID)
            try await send(dataSet: data, contextID: contextID)
        }
        found += answers.count
        try await answer(command, Status.success, nil, contextID)
    }

    // MARK: Retrieval

    /// The instances a C-GET or C-MOVE identifier names that the caller may see, or the failure to answer with.
    private func instances(
        _ identifier: FindIdentifier, patientRoot: Bool
    ) async throws(DIMSEFailure) -> [StoredInstanceFile] {
        guard let caller, let node else { return [] }
        let keys = try RetrieveKeys(identifier, patientRoot: patientRoot)
        do {
            return try await door.archive.retrieval(
                studies: keys.studies, series: keys.series, instances: keys.instances, patientID: keys.patientID,
                for: caller, target: "\(node.aeTitle) \(keys.level)")
        } catch let error as HubError {
            throw DIMSEFailure(
                status: error.kind == .forbidden ? Status.notAuthorized : Status.cannotUnderstand,
                comment: error.detail)
        } catch {
            throw DIMSEFailure(status: Status.cannotUnderstand, comment: "the hub could not look the images up")
        }
    }

    /// A C-GET: the instances go back on this association, one C-STORE sub-operation at a time, on the storage
    /// contexts for which the requester took the SCP role.
    private mutating func startRetrieval(
        _ command: Command, contextID: UInt8, _ identifier: FindIdentifier, patientRoot: Bool
    ) async throws {
        let files: [StoredInstanceFile]
        do {
            files = try await instances(identifier, patientRoot: patientRoot)
        } catch {
            return try await answer(command, error.status, error.comment, contextID)
        }
        retrieval = Retrieval(
            command: command, contextID: contextID, left: files, tally: SubOperations(remaining: files.count))
        try await continueRetrieval()
    }

    /// Sends the C-GET's next instance, or its final response when none is left. An instance that cannot be sent
    /// (no context for its SOP class in its stored transfer syntax, a missing file) fails and the next is tried.
    private mutating func continueRetrieval() async throws {
        while var current = retrieval, current.awaiting == nil {
            guard !current.left.isEmpty else {
                retrieval = nil
                let (response, failed) = current.tally.final(to: current.command, field: .cGetResponse)
                try await send(response, failed: failed, contextID: current.contextID)
                door.logger.info(
                    "DIMSE C-GET done",
                    metadata: [
                        "dicom.calling": "\(node?.aeTitle ?? "-")", "dicom.completed": "\(current.tally.completed)",
                        "dicom.failed": "\(current.tally.failed)",
                    ])
                return
            }
            let file = current.left.removeFirst()
            let instance: OutgoingInstance
            do {
                instance = try OutgoingInstance(file, content: try await door.archive.content(of: file))
            } catch {
                current.tally.count(Status.processingFailure, instance: file.sopInstanceUID)
                retrieval = current
                continue
            }
            guard
                let (contextID, _) = terms.contexts.first(where: {
                    $0.value.requesterIsSCP && $0.value.abstractSyntax == instance.sopClassUID
                        && $0.value.transferSyntax == instance.transferSyntax
                })
            else {
                current.tally.count(Status.sopClassNotSupported, instance: file.sopInstanceUID)
                retrieval = current
                continue
            }
            nextMessageID &+= 1
            let request = Command(
                field: .cStoreRequest, messageID: nextMessageID, affectedSOPClassUID: instance.sopClassUID,
                affectedSOPInstanceUID: file.sopInstanceUID, priority: 0, hasDataSet: true)
            current.awaiting = (nextMessageID, file.sopInstanceUID)
            retrieval = current
            try await StoreRequester.write(request, instance, contextID: contextID, terms: terms, to: outbound)
        }
    }

    /// A C-MOVE: the instances go to the destination node over an association of their own, then the final
    /// response comes back here.
    private func move(
        _ command: Command, contextID: UInt8, _ identifier: FindIdentifier, patientRoot: Bool
    )
        async throws
    {
        guard let node else { return }
        guard let title = command.moveDestination,
            let destination = try await door.nodes.moveDestination(aeTitle: title, from: node)
        else {
            return try await answer(
                command,
                Status.moveDestinationUnknown,
                "'\(command.moveDestination ?? "")' is not a DICOM node of the caller's institution", contextID)
        }
        let files: [StoredInstanceFile]
        do {
            files = try await instances(identifier, patientRoot: patientRoot)
        } catch {
            return try await answer(command, error.status, error.comment, contextID)
        }
        var tally = SubOperations(remaining: files.count)
        var outgoing: [OutgoingInstance] = []
        for file in files {
            do {
                outgoing.append(try OutgoingInstance(file, content: try await door.archive.content(of: file)))
            } catch {
                tally.count(Status.processingFailure, instance: file.sopInstanceUID)
            }
        }
        if !outgoing.isEmpty {
            do {
                try await StoreRequester(door: door).send(
                    outgoing, to: destination, originator: (node.aeTitle, command.messageID ?? 0), tally: &tally)
            } catch {
                return try await answer(command, Status.outOfResourcesForSubOperations, error.reason, contextID)
            }
        }
        let (response, failed) = tally.final(to: command, field: .cMoveResponse)
        try await send(response, failed: failed, contextID: contextID)
        door.logger.info(
            "DIMSE C-MOVE done",
            metadata: [
                "dicom.calling": "\(node.aeTitle)", "dicom.destination": "\(destination.aeTitle)",
                "dicom.completed": "\(tally.completed)", "dicom.failed": "\(tally.failed)",
            ])
    }

    // MARK: Storage Commitment

    /// Why an N-ACTION-RQ is not a Storage Commitment request the hub performs, if it is not.
    static func commitmentRefusal(_ command: Command, abstractSyntax: String) -> (UInt16, String)? {
        if !command.hasDataSet { return (Status.missingAttribute, "an N-ACTION-RQ without its data set") }
        if abstractSyntax != SOPClass.storageCommitment || command.requestedSOPClassUID != abstractSyntax {
            return (Status.noSuchSOPClass, "the hub performs N-ACTION for Storage Commitment only")
        }
        if command.requestedSOPInstanceUID != SOPClass.storageCommitmentInstance {
            return (Status.noSuchSOPInstance, "Storage Commitment is asked of its well-known SOP instance")
        }
        if command.actionTypeID != 1 { return (Status.noSuchAction, "Storage Commitment has action type 1") }
        return nil
    }

    /// A Storage Commitment request (PS3.4 J.3.2): answered at once, then its result sent as an N-EVENT-REPORT on
    /// the same association, each referenced instance committed if the hub holds it for the node's institution.
    private mutating func commit(
        _ command: Command, contextID: UInt8, _ dataset: DataSet, explicitVR: Bool
    ) async throws {
        guard let caller, let node else { return }
        guard let transaction = dataset.uid(.transactionUID) else {
            return try await answer(command, Status.missingAttribute, "no Transaction UID (0008,1195)", contextID)
        }
        let references = (dataset.sequence(.referencedSOPSequence) ?? []).compactMap { item in
            item.uid(.referencedSOPInstanceUID).map { (item.uid(.referencedSOPClassUID) ?? "", $0) }
        }
        let results: [(sopClassUID: String, sopInstanceUID: String, failure: CommitmentFailure?)]
        do {
            results = try await door.archive.commitment(references, transaction: transaction, for: caller)
        } catch {
            return try await answer(
                command, Status.processingFailure, "the hub could not check the instances", contextID)
        }
        try await answer(command, Status.success, nil, contextID)
        let committed = results.filter { $0.failure == nil }
        let failed = results.filter { $0.failure != nil }
        var elements: [DICOMWriter.Element] = [.string(.transactionUID, .UI, transaction)]
        if !committed.isEmpty {
            elements.append(
                DICOMWriter.Element(
                    .referencedSOPSequence, .SQ,
                    .sequence(
                        committed.map {
                            [
                                .string(.referencedSOPClassUID, .UI, $0.sopClassUID),
                                .string(.referencedSOPInstanceUID, .UI, $0.sopInstanceUID),
                            ]
                        }, undefinedLength: false)))
        }
        if !failed.isEmpty {
            elements.append(
                DICOMWriter.Element(
                    .failedSOPSequence, .SQ,
                    .sequence(
                        failed.map {
                            [
                                .string(.referencedSOPClassUID, .UI, $0.sopClassUID),
                                .string(.referencedSOPInstanceUID, .UI, $0.sopInstanceUID),
                                DICOMWriter.Element(.failureReason, .US, .uint16s([$0.failure?.rawValue ?? 0x0110])),
                            ]
                        }, undefinedLength: false)))
        }
        nextMessageID &+= 1
        var report = Command(
            field: .nEventReportRequest, messageID: nextMessageID, affectedSOPClassUID: SOPClass.storageCommitment,
            affectedSOPInstanceUID: SOPClass.storageCommitmentInstance, hasDataSet: true)
        report.eventTypeID = failed.isEmpty ? 1 : 2
        try await send(report, contextID: contextID)
        try await send(dataSet: try DICOMWriter.dataSet(elements, explicitVR: explicitVR), contextID: contextID)
        door.logger.info(
            "DIMSE storage commitment",
            metadata: [
                "dicom.calling": "\(node.aeTitle)", "dicom.transaction": "\(transaction)",
                "dicom.committed": "\(committed.count)", "dicom.failed": "\(failed.count)",
            ])
    }

    // MARK: Sending

    /// A final C-GET or C-MOVE response, with the Failed SOP Instance UID List when some failed.
    private func send(_ response: Command, failed: [DICOMWriter.Element]?, contextID: UInt8) async throws {
        try await send(response, contextID: contextID)
        guard let failed, let syntax = terms.contexts[contextID].flatMap({ TransferSyntax(uid: $0.transferSyntax) })
        else { return }
        try await send(dataSet: try DICOMWriter.dataSet(failed, explicitVR: syntax.isExplicitVR), contextID: contextID)
    }

    private func send(_ pdu: PDU) async throws {
        try await outbound.write(pdu.buffer(allocator))
    }

    private func send(dataSet bytes: [UInt8], contextID: UInt8) async throws {
        for pdu in MessageAssembler.fragments(
            of: bytes, contextID: contextID, isCommand: false, maximumLength: terms.peerMaximumLength)
        {
            try await send(pdu)
        }
    }

    private func send(_ command: Command, contextID: UInt8) async throws {
        for pdu in MessageAssembler.fragments(
            of: command.encoded(), contextID: contextID, isCommand: true, maximumLength: terms.peerMaximumLength)
        {
            try await send(pdu)
        }
    }
}
