import DICOM
import DIMSE
import Foundation
import HubCore
import HubStorage
import Logging
import NIOCore
import NIOPosix

/// The hub as a Storage SCU (PS3.4 B): one association to a registered node, the C-STORE sub-operations of a C-MOVE
/// on it, and its release. Each instance is proposed in the transfer syntax it is stored in and sent as stored; a
/// destination that takes none of that syntax for its SOP class makes that instance's sub-operation fail.
struct StoreRequester {
    let door: DIMSEDoor

    /// Why the association to the destination could not be used at all.
    struct Unreachable: Error {
        var reason: String
    }

    /// Sends `instances` to `node`, naming `originator` (the AE title and message ID of the C-MOVE), and tallies each
    /// sub-operation into `tally`.
    func send(
        _ instances: [OutgoingInstance], to node: DICOMNode, originator: (aeTitle: String, messageID: UInt16),
        tally: inout SubOperations
    ) async throws(Unreachable) {
        let maximumLength = UInt32(door.settings.maximumPDULength)
        var pairs: [(abstractSyntax: String, transferSyntax: String)] = []
        for instance in instances
        where !pairs.contains(where: { $0 == (instance.sopClassUID, instance.transferSyntax) }) {
            pairs.append((instance.sopClassUID, instance.transferSyntax))
        }
        let proposal = Proposal(
            calling: door.settings.aeTitle, called: node.aeTitle, pairs: pairs, maximumLength: maximumLength,
            implementationClassUID: DICOMWriter.implementationClassUID, implementationVersionName: "ALLIANCEHUB")
        let channel: NIOAsyncChannel<PDU, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: node.host, port: node.port) { channel in door.connection(on: channel) }
        } catch {
            throw Unreachable(reason: "cannot connect to \(node.aeTitle) at \(node.host):\(node.port): \(error)")
        }
        var outcome = tally
        do {
            try await channel.executeThenClose { inbound, outbound in
                var pdus = inbound.makeAsyncIterator()
                let allocator = ByteBufferAllocator()
                try await outbound.write(PDU.associateRequest(proposal.request).buffer(allocator))
                let terms: AssociationTerms
                switch try await pdus.next() {
                case .associateAccept(let accept)?: terms = proposal.terms(of: accept)
                case .associateReject(let reject)?:
                    throw Unreachable(reason: "\(node.aeTitle) rejected the association (\(reject.reason))")
                default: throw Unreachable(reason: "\(node.aeTitle) did not accept the association")
                }
                var messageID: UInt16 = 0
                for instance in instances {
                    guard
                        let (contextID, _) = terms.contexts.first(where: {
                            $0.value.abstractSyntax == instance.sopClassUID
                                && $0.value.transferSyntax == instance.transferSyntax
                        })
                    else {
                        outcome.count(Status.sopClassNotSupported, instance: instance.file.sopInstanceUID)
                        continue
                    }
                    messageID &+= 1
                    var request = Command(
                        field: .cStoreRequest, messageID: messageID, affectedSOPClassUID: instance.sopClassUID,
                        affectedSOPInstanceUID: instance.file.sopInstanceUID, priority: 0, hasDataSet: true)
                    request.moveOriginatorAETitle = originator.aeTitle
                    request.moveOriginatorMessageID = originator.messageID
                    try await Self.write(request, instance, contextID: contextID, terms: terms, to: outbound)
                    let status = try await Self.response(to: messageID, from: &pdus)
                    outcome.count(status, instance: instance.file.sopInstanceUID)
                }
                try await outbound.write(PDU.releaseRequest.buffer(allocator))
                _ = try? await pdus.next()
            }
        } catch let unreachable as Unreachable {
            throw unreachable
        } catch {
            // What was answered before the association broke stands; the rest failed.
            door.logger.notice(
                "DIMSE C-MOVE association ended early",
                metadata: ["dicom.destination": "\(node.aeTitle)", "error": "\(error)"])
        }
        for instance in instances.suffix(outcome.remaining) {
            outcome.count(Status.processingFailure, instance: instance.file.sopInstanceUID)
        }
        tally = outcome
    }

    /// A C-STORE-RQ and its data set, on a context of `terms`.
    static func write(
        _ request: Command, _ instance: OutgoingInstance, contextID: UInt8, terms: AssociationTerms,
        to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws {
        let allocator = ByteBufferAllocator()
        for pdu in MessageAssembler.fragments(
            of: request.encoded(), contextID: contextID, isCommand: true, maximumLength: terms.peerMaximumLength)
        {
            try await outbound.write(pdu.buffer(allocator))
        }
        try await instance.pieces(chunk: 1 << 20) { bytes, isLast in
            for pdu in MessageAssembler.fragments(
                of: bytes, contextID: contextID, isCommand: false, maximumLength: terms.peerMaximumLength,
                endsMessage: isLast)
            {
                try await outbound.write(pdu.buffer(allocator))
            }
        }
    }

    /// The status of the C-STORE-RSP to `messageID`.
    static func response(
        to messageID: UInt16, from pdus: inout NIOAsyncChannelInboundStream<PDU>.AsyncIterator
    ) async throws -> UInt16 {
        var assembler = MessageAssembler()
        while let pdu = try await pdus.next() {
            guard case .data(let values) = pdu else {
                throw PDUError(.unexpectedPDU, "a \(pdu.kind) PDU instead of a C-STORE-RSP")
            }
            for value in values {
                if case .command(_, let command)? = try assembler.feed(value), command.field == .cStoreResponse,
                    command.respondingTo == messageID
                {
                    return command.status ?? Status.processingFailure
                }
            }
        }
        throw PDUError(.unexpectedPDU, "the association closed before the C-STORE-RSP")
    }
}
