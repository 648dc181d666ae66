import DICOM
import DIMSE
import Foundation
import HubCore
import HubStorage
import HubUseCases
import Logging
import NIOCore

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
    /// The C-FIND whose identifier is arriving, with the bytes so far.
    private var find:
        (
            command: Command, contextID: UInt8, abstractSyntax: String, transferSyntax: String, bytes: [UInt8]
        )?
    /// The answer to a request refused before its data set arrived: the data set is read and dropped, then this is
    /// sent.
    private var answerAfterDataSet: Command?
    private var stored = 0
    private var found = 0

    /// The largest C-FIND identifier read; real ones are a few hundred bytes.
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
        let negotiation = Negotiation(
            implementationClassUID: DICOMWriter.implementationClassUID,
            implementationVersionName: "ALLIANCEHUB", maximumLength: UInt32(door.settings.maximumPDULength),
            supports: { abstract in
                abstract == SOPClass.verification || SOPClass.queryFind.contains(abstract)
                    || (ofClinic && (SOPClass.isStorage(abstract) || abstract == SOPClass.modalityWorklistFind))
            },
            takes: { abstract, syntax in
                SOPClass.isStorage(abstract) ? TransferSyntax(uid: syntax) != nil : Self.uncompressed.contains(syntax)
            })
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
            try await begin(
                command, contextID: contextID, abstractSyntax: context.abstractSyntax,
                transferSyntax: context.transferSyntax)
        case .dataSet(let contextID, let bytes, let isLast):
            if let current = store {
                try bytes.withUnsafeBytes { try current.writer.write($0) }
                if isLast { try await finishStore() }
            } else if find != nil {
                find?.bytes += bytes
                guard find?.bytes.count ?? 0 <= Self.maximumIdentifierBytes else {
                    throw PDUError(
                        .invalidParameter, "a C-FIND identifier of more than \(Self.maximumIdentifierBytes) bytes")
                }
                if isLast { try await finishFind() }
            } else if let answer = answerAfterDataSet, isLast {
                answerAfterDataSet = nil
                try await send(answer, contextID: contextID)
            }
        }
    }

    private mutating func begin(
        _ command: Command, contextID: UInt8, abstractSyntax: String, transferSyntax: String
    ) async throws {
        switch command.field {
        case .cEchoRequest:
            try await send(
                Command.response(to: command, field: .cEchoResponse, status: Status.success), contextID: contextID)
        case .cStoreRequest:
            guard command.hasDataSet else {
                return try await send(
                    Command.response(
                        to: command, field: .cStoreResponse, status: Status.cannotUnderstand,
                        errorComment: "a C-STORE-RQ without a data set"), contextID: contextID)
            }
            guard let sopClass = command.affectedSOPClassUID, let sop = command.affectedSOPInstanceUID,
                SOPClass.isStorage(abstractSyntax), sopClass == abstractSyntax
            else {
                answerAfterDataSet = Command.response(
                    to: command, field: .cStoreResponse, status: Status.sopClassNotSupported,
                    errorComment: "the SOP class is not the presentation context's (\(abstractSyntax))")
                return
            }
            do {
                let writer = try door.ingest.writer()
                let meta = try DICOMWriter.fileMetaInformation(
                    sopClassUID: sopClass, sopInstanceUID: sop, transferSyntaxUID: transferSyntax,
                    sourceAETitle: node?.aeTitle)
                try meta.withUnsafeBytes { try writer.write($0) }
                store = (command, contextID, writer)
            } catch {
                answerAfterDataSet = Command.response(
                    to: command, field: .cStoreResponse, status: Status.outOfResources,
                    errorComment: "the hub cannot store now: \(error)")
            }
        case .cFindRequest:
            guard command.hasDataSet else {
                return try await send(
                    Command.response(
                        to: command, field: .cFindResponse, status: Status.cannotUnderstand,
                        errorComment: "a C-FIND-RQ without an identifier"), contextID: contextID)
            }
            guard command.affectedSOPClassUID == abstractSyntax else {
                answerAfterDataSet = Command.response(
                    to: command, field: .cFindResponse, status: Status.sopClassNotSupported,
                    errorComment: "the SOP class is not the presentation context's (\(abstractSyntax))")
                return
            }
            find = (command, contextID, abstractSyntax, transferSyntax, [])
        default:
            guard command.field.isRequest, command.field != .cCancelRequest else { return }
            let answer = Command.Field(rawValue: command.field.rawValue | 0x8000) ?? .cEchoResponse
            let response = Command.response(
                to: command, field: answer, status: Status.unrecognizedOperation,
                errorComment: "the hub does not perform this operation on this presentation context")
            if command.hasDataSet {
                answerAfterDataSet = response
            } else {
                try await send(response, contextID: contextID)
            }
        }
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
        try await send(
            Command.response(to: command, field: .cStoreResponse, status: status, errorComment: comment),
            contextID: contextID)
    }

    /// The whole identifier of a C-FIND has arrived: each match is answered pending with its data set, then the
    /// final status.
    private mutating func finishFind() async throws {
        guard let (command, contextID, abstractSyntax, transferSyntax, bytes) = find, let caller, let node else {
            return
        }
        find = nil
        func final(_ status: UInt16, _ comment: String? = nil) async throws {
            try await send(
                Command.response(to: command, field: .cFindResponse, status: status, errorComment: comment),
                contextID: contextID)
        }
        guard let syntax = TransferSyntax(uid: transferSyntax) else {
            return try await final(Status.cannotUnderstand, "the context's transfer syntax is not read")
        }
        let identifier: FindIdentifier
        do {
            identifier = FindIdentifier(try DataSet.parse(bytes, transferSyntax: syntax))
        } catch {
            return try await final(Status.cannotUnderstand, "the identifier cannot be read: \(error.detail)")
        }
        let answers: [[DICOMWriter.Element]]
        do {
            answers = try await FindService(door: door, node: node, caller: caller)
                .answers(to: identifier, abstractSyntax: abstractSyntax)
        } catch {
            return try await final(error.status, error.comment)
        }
        for answer in answers {
            let data: [UInt8]
            do {
                data = try DICOMWriter.dataSet(answer, explicitVR: syntax.isExplicitVR)
            } catch {
                return try await final(Status.cannotUnderstand, "an answer cannot be encoded: \(error.detail)")
            }
            try await send(
                Command.response(to: command, field: .cFindResponse, status: Status.pending, hasDataSet: true),
                contextID: contextID)
            try await send(dataSet: data, contextID: contextID)
        }
        found += answers.count
        try await final(Status.success)
    }

    // MARK: Sending

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
