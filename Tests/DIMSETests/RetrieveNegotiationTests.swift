import DICOM
import DIMSE
import Testing

@testable import DICOMDoor

/// Role selection for C-GET, the requester's side of negotiation for C-MOVE, and the tally of sub-operations.
@Suite struct RetrieveNegotiationTests {
    static let ct = "1.2.840.10008.5.1.4.1.1.2"
    static let explicit = "1.2.840.10008.1.2.1"

    @Test func aStorageContextWithTheSCPRoleIsAcceptedForSendingOnly() {
        var negotiation = Negotiation(
            implementationClassUID: "2.25.1", implementationVersionName: "ALLIANCEHUB", maximumLength: 65536,
            supports: { $0 == SOPClass.studyRootGet }, takes: { _, syntax in syntax == Self.explicit })
        negotiation.sendsTo = SOPClass.isStorage
        let request = AssociateRequest(
            calledAETitle: "ALLIANCEHUB", callingAETitle: "WH_READ_1",
            presentationContexts: [
                ProposedContext(id: 1, abstractSyntax: SOPClass.studyRootGet, transferSyntaxes: [Self.explicit]),
                ProposedContext(id: 3, abstractSyntax: Self.ct, transferSyntaxes: [Self.explicit]),
                // Proposed without the SCP role: the hub would receive on it, and a workstation may not store.
                ProposedContext(id: 5, abstractSyntax: "1.2.840.10008.5.1.4.1.1.4", transferSyntaxes: [Self.explicit]),
            ],
            userInformation: UserInformation(
                maximumLength: 16384, implementationClassUID: "1.2.3",
                roles: [RoleSelection(sopClassUID: Self.ct, scu: false, scp: true)]))
        let (accept, terms) = negotiation.accept(request)
        #expect(terms.contexts[1]?.requesterIsSCP == false)
        #expect(terms.contexts[3]?.requesterIsSCP == true)
        #expect(terms.contexts[5] == nil)
        #expect(accept.presentationContexts.map(\.result) == [.acceptance, .acceptance, .abstractSyntaxNotSupported])
        // The answer confirms the role: the requester is SCP, and not SCU, of CT storage.
        #expect(accept.userInformation.roles == [RoleSelection(sopClassUID: Self.ct, scu: false, scp: true)])
        // The role selection survives the wire.
        let bytes = PDU.associateAccept(accept).encoded()
        #expect((try? PDU.decode(type: bytes[0], body: bytes[6...])) == .associateAccept(accept))
    }

    @Test func aProposalOffersEachStoredSyntaxAndKeepsWhatWasAccepted() {
        let proposal = Proposal(
            calling: "ALLIANCEHUB", called: "CENTERPACS",
            pairs: [(Self.ct, Self.explicit), (Self.ct, "1.2.840.10008.1.2.4.91")], maximumLength: 65536,
            implementationClassUID: "2.25.1", implementationVersionName: "ALLIANCEHUB")
        #expect(proposal.request.presentationContexts.map(\.id) == [1, 3])
        let accept = AssociateAccept(
            calledAETitle: "CENTERPACS", callingAETitle: "ALLIANCEHUB",
            presentationContexts: [
                AcceptedContext(id: 1, result: .acceptance, transferSyntax: Self.explicit),
                AcceptedContext(id: 3, result: .transferSyntaxesNotSupported, transferSyntax: ""),
            ],
            userInformation: UserInformation(maximumLength: 32768, implementationClassUID: "1.2.3"))
        let terms = proposal.terms(of: accept)
        #expect(terms.contexts.count == 1)
        #expect(terms.contexts[1]?.transferSyntax == Self.explicit)
        #expect(terms.peerMaximumLength == 32768)
    }

    @Test func theFinalStatusFollowsTheSubOperations() {
        let request = Command(field: .cGetRequest, messageID: 7, affectedSOPClassUID: SOPClass.studyRootGet)
        var all = SubOperations(remaining: 2)
        all.count(Status.success, instance: "1.1")
        all.count(Status.success, instance: "1.2")
        let (done, none) = all.final(to: request, field: .cGetResponse)
        #expect(done.status == Status.success && done.completed == 2 && done.failed == 0 && none == nil)
        #expect(done.respondingTo == 7)
        var some = SubOperations(remaining: 3)
        some.count(Status.success, instance: "1.1")
        let pending = some.pending(to: request, field: .cGetResponse)
        #expect(pending.status == Status.pending && pending.remaining == 2 && pending.completed == 1)
        some.count(Status.sopClassNotSupported, instance: "1.2")
        some.count(0xB007, instance: "1.3")
        let (partial, failed) = some.final(to: request, field: .cGetResponse)
        #expect(partial.status == Status.subOperationsFailed)
        #expect(partial.failed == 1 && partial.warning == 1 && partial.completed == 1)
        #expect(partial.hasDataSet)
        #expect(failed?.first?.tag == .failedSOPInstanceUIDList)
        let (cancelled, _) = SubOperations(remaining: 4).final(to: request, field: .cGetResponse, cancelled: true)
        #expect(cancelled.status == Status.cancel && cancelled.remaining == 4)
    }
}
