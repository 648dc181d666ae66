/// What a reader writes: findings and conclusion kept apart, critical values, and lab values.
public struct ReportDraft: Sendable, Codable, Equatable {
    public var findings: String?
    public var conclusion: String?
    public var criticalValues: [CriticalFinding]?
    public var values: [LabValue]?
    /// Why, for an amendment or correction.
    public var reason: String?
    /// For an amendment: `corrected` (an error fixed) rather than `amended` (information added).
    public var correction: Bool?

    public init(
        findings: String? = nil, conclusion: String? = nil, criticalValues: [CriticalFinding]? = nil,
        values: [LabValue]? = nil, reason: String? = nil, correction: Bool? = nil
    ) {
        self.findings = findings
        self.conclusion = conclusion
        self.criticalValues = criticalValues
        self.values = values
        self.reason = reason
        self.correction = correction
    }

    enum CodingKeys: String, CodingKey {
        case findings, conclusion, values, reason, correction
        case criticalValues = "critical_values"
    }

    /// The draft's text, checked: findings and conclusion are both required.
    func validated(kind: ItemKind, amendment: Bool) throws(HubError) -> (String, String, [CriticalFinding], [LabValue])
    {
        var v = Validator()
        let findings = v.text(findings, "findings", maxLength: 20_000, multiline: true)
        let conclusion = v.text(conclusion, "conclusion", maxLength: 5_000, multiline: true)
        let critical = criticalValues ?? []
        for (i, finding) in critical.enumerated() {
            _ = v.text(finding.description, "critical_values[\(i)].description", maxLength: 500)
        }
        let values = self.values ?? []
        for (i, value) in values.enumerated() where value.value.trimmingWhitespace().isEmpty {
            v.fail("values[\(i)].value", "must not be empty")
        }
        if values.count > 500 { v.fail("values", "at most 500 values") }
        if amendment { _ = v.text(reason, "reason", maxLength: 1000, multiline: true) }
        try v.check()
        return (findings!, conclusion!, critical, values)
    }
}

/// Every change an exam can go through.
public enum ExamAction: Sendable {
    case route(centerId: String)
    case claim(by: Signer, leaseMilliseconds: Int64)
    case release(by: Signer)
    case report(by: Signer, ReportDraft)
    case releasePreliminary(by: Signer)
    case verify(by: Signer)
    case amend(by: Signer, ReportDraft)
    case returnToClinic(by: Signer, reason: String)
    case resubmit
    case cancel(reason: String)

    var name: String {
        switch self {
        case .route: "route"
        case .claim: "claim"
        case .release: "release"
        case .report: "report"
        case .releasePreliminary: "release as preliminary"
        case .verify: "verify"
        case .amend: "amend"
        case .returnToClinic: "return"
        case .resubmit: "resubmit"
        case .cancel: "cancel"
        }
    }
}

/// The one state machine of remote reading. A pure function: the exam before, the action, the time → the exam
/// after, or why the action is not allowed.
public enum ExamWorkflow {
    public static func apply(_ action: ExamAction, to exam: Exam, at now: Timestamp) throws(HubError) -> Exam {
        var next = exam
        next.updatedAt = now
        next.revision = exam.revision + 1
        func refuse() -> HubError {
            HubError.invalidTransition("cannot \(action.name) an exam that is \(exam.step.rawValue)")
        }
        switch action {
        case .route(let centerId):
            guard exam.step == .awaitingRouting else { throw refuse() }
            next.centerId = centerId
            next.routingNote = nil
            next.step = .waiting
            next.milestones.routedAt = now

        case .claim(let reader, let lease):
            switch exam.step {
            case .waiting: break
            case .claimed:
                if let claim = exam.claim, claim.until > now, claim.reader.practitionerId != reader.practitionerId {
                    throw HubError.conflict(
                        "claimed by \(claim.reader.name ?? claim.reader.practitionerId) until \(claim.until)")
                }
            default: throw refuse()
            }
            let renewing = exam.claim?.reader.practitionerId == reader.practitionerId && exam.step == .claimed
            next.claim = Claim(
                reader: reader, claimedAt: renewing ? exam.claim!.claimedAt : now,
                until: now.adding(milliseconds: lease))
            next.step = .claimed
            if next.milestones.firstClaimedAt == nil { next.milestones.firstClaimedAt = now }

        case .release(let reader):
            guard exam.step == .claimed else { throw refuse() }
            guard exam.claim?.reader.practitionerId == reader.practitionerId else {
                throw HubError.forbidden("only the reader holding the claim may release it")
            }
            next.claim = nil
            next.step = .waiting

        case .report(let author, let draft):
            let (findings, conclusion, critical, values) = try draft.validated(kind: exam.itemKind, amendment: false)
            switch exam.step {
            case .claimed:
                guard exam.claim?.reader.practitionerId == author.practitionerId else {
                    throw HubError.forbidden("only the reader holding the claim may report; claim the exam first")
                }
                next.reports.append(
                    ReportVersion(
                        version: (exam.reports.last?.version ?? 0) + 1, status: .partial, findings: findings,
                        conclusion: conclusion, criticalValues: critical, values: values, author: author,
                        authoredAt: now))
            case .awaitingVerification:
                // The author may revise the draft until a senior signs it.
                guard var draft = exam.reports.last, draft.author.practitionerId == author.practitionerId else {
                    throw HubError.forbidden("only the author may revise a report awaiting verification")
                }
                draft.findings = findings
                draft.conclusion = conclusion
                draft.criticalValues = critical
                draft.values = values
                draft.authoredAt = now
                next.reports[next.reports.count - 1] = draft
            default: throw refuse()
            }
            next.claim = nil
            next.step = .awaitingVerification
            next.milestones.reportedAt = now

        case .releasePreliminary(let by):
            guard exam.step == .awaitingVerification, var report = exam.reports.last else { throw refuse() }
            guard exam.priority == .stat || exam.priority == .asap else {
                throw HubError.invalidTransition("only stat or asap work may go out as a preliminary report")
            }
            guard report.author.practitionerId == by.practitionerId else {
                throw HubError.forbidden("only the author may release the report as preliminary")
            }
            report.status = .preliminary
            report.releasedAt = now
            next.reports[next.reports.count - 1] = report
            next.step = .preliminary

        case .verify(let verifier):
            guard exam.step == .awaitingVerification || exam.step == .preliminary, var report = exam.reports.last else {
                throw refuse()
            }
            try requireSecondSignature(verifier, author: report.author)
            report.status = .final
            report.verifier = verifier
            report.verifiedAt = now
            if report.releasedAt == nil { report.releasedAt = now }
            next.reports[next.reports.count - 1] = report
            next.step = .final
            next.milestones.verifiedAt = now

        case .amend(let by, let draft):
            guard exam.step == .final, let previous = exam.reports.last else { throw refuse() }
            guard let title = by.title, title >= .attending else {
                throw HubError(
                    code: "two_level_signature", kind: .forbidden, title: "Signature not allowed",
                    detail: "an amendment is signed by an attending physician or above")
            }
            let (findings, conclusion, critical, values) = try draft.validated(kind: exam.itemKind, amendment: true)
            next.reports.append(
                ReportVersion(
                    version: previous.version + 1, status: draft.correction == true ? .corrected : .amended,
                    findings: findings, conclusion: conclusion, criticalValues: critical, values: values, author: by,
                    authoredAt: now, verifier: by, verifiedAt: now, releasedAt: now, reason: draft.reason))

        case .returnToClinic(let by, let reason):
            switch exam.step {
            case .waiting: break
            case .claimed:
                if exam.isClaimed(at: now), exam.claim?.reader.practitionerId != by.practitionerId {
                    throw HubError.conflict("another reader holds the claim")
                }
            default: throw refuse()
            }
            next.returnReason = reason
            next.claim = nil
            next.step = .returned

        case .resubmit:
            guard exam.step == .returned else { throw refuse() }
            next.step = .awaitingRouting
            next.centerId = nil
            next.returnReason = nil
            // Routed afresh: a peer that returned it is no longer involved unless routing picks it again.
            next.forward = nil

        case .cancel(let reason):
            guard [.awaitingRouting, .waiting, .returned].contains(exam.step) else { throw refuse() }
            next.cancelReason = reason
            next.claim = nil
            next.step = .cancelled
        }
        return next
    }

    /// 书写/审核: the verifier is another practitioner, of attending title or above.
    public static func requireSecondSignature(_ verifier: Signer, author: Signer) throws(HubError) {
        if verifier.practitionerId == author.practitionerId {
            throw HubError(
                code: "two_level_signature", kind: .forbidden, title: "Signature not allowed",
                detail: "the verifier must be a different practitioner from the author")
        }
        guard let title = verifier.title, title >= .attending else {
            throw HubError(
                code: "two_level_signature", kind: .forbidden, title: "Signature not allowed",
                detail: "a report is verified by an attending physician (主治医师) or above")
        }
    }
}
