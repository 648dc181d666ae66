import HubCore
import Testing

/// The error an action was refused with, or nil when it was allowed.
private func refusal(_ body: () throws -> Exam) -> HubError? {
    do {
        _ = try body()
        return nil
    } catch let error as HubError {
        return error
    } catch {
        Issue.record("not a HubError: \(error)")
        return nil
    }
}

/// People, times and exams for the state-machine tests. Exams in later steps are reached through the workflow
/// itself, from a fresh submission, so every fixture is a state the hub can really be in.
private enum Flow {
    static let t0 = Timestamp(rfc3339: "2026-11-23T01:00:00Z")!
    static let leaseMinutes: Int64 = 30
    static var lease: Int64 { leaseMinutes * 60_000 }

    static func minutes(_ m: Int64) -> Timestamp { t0.adding(milliseconds: m * 60_000) }

    static func person(_ id: String, _ title: PractitionerTitle?, at institution: String = "wh-xiehe") -> Signer {
        Signer(practitionerId: id, name: "医生 \(id)", title: title, institutionId: institution)
    }

    /// The resident who claims and writes.
    static let reader = person("prc_reader", .resident)
    /// Another reader of the same center.
    static let otherReader = person("prc_other", .resident)
    /// A senior who signs.
    static let attending = person("prc_attending", .attending)
    static let clinicStaff = person("prc_clinic", .resident, at: "hs-clinic")

    static let draft = ReportDraft(findings: "右肺上叶见结节影，直径约8mm。", conclusion: "右肺上叶结节，建议随访。")
    static let amendment = ReportDraft(findings: "右肺上叶结节，直径约6mm。", conclusion: "右肺上叶小结节。", reason: "测量更正")

    static func submitted(priority: Priority = .stat) -> Exam {
        Exam(
            id: "exm_test", clinicId: "hs-clinic", submittedBy: clinicStaff,
            patient: Patient(
                identifiers: [PatientIdentifier(system: PatientIdentifier.residentID, value: "11010519491231002X")],
                name: "张三"),
            itemCode: "CT-CHEST", itemName: "胸部CT平扫", itemKind: .imaging, priority: priority,
            clinicalInfo: "咳嗽两周", consent: Consent(given: true, method: .written), accessionNumber: "A261123TESTTEST",
            milestones: Milestones(submittedAt: t0), updatedAt: t0)
    }

    /// An exam in `step`, reached by the shortest path through the workflow from a fresh submission.
    static func exam(in step: ExamStep, priority: Priority = .stat) throws -> Exam {
        let fresh = submitted(priority: priority)
        func go(_ action: ExamAction, _ exam: Exam, _ m: Int64) throws -> Exam {
            try ExamWorkflow.apply(action, to: exam, at: minutes(m))
        }
        switch step {
        case .awaitingRouting: return fresh
        case .waiting: return try go(.route(centerId: "wh-imaging"), fresh, 0)
        case .claimed:
            return try go(.claim(by: reader, leaseMilliseconds: lease), exam(in: .waiting, priority: priority), 1)
        case .awaitingVerification:
            return try go(.report(by: reader, draft), exam(in: .claimed, priority: priority), 2)
        case .preliminary:
            return try go(.releasePreliminary(by: reader), exam(in: .awaitingVerification, priority: priority), 3)
        case .final: return try go(.verify(by: attending), exam(in: .awaitingVerification, priority: priority), 4)
        case .returned:
            return try go(.returnToClinic(by: reader, reason: "图像伪影重，无法诊断"), exam(in: .waiting, priority: priority), 1)
        case .cancelled: return try go(.cancel(reason: "患者转院"), fresh, 1)
        }
    }
}

/// Every action the state machine knows, each done by the person entitled to it, so that only the step decides.
enum WorkflowMove: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case route, claim, release, report, preliminary, verify, amend, returnToClinic, resubmit, cancel

    var action: ExamAction {
        switch self {
        case .route: .route(centerId: "wh-imaging")
        case .claim: .claim(by: Flow.reader, leaseMilliseconds: Flow.lease)
        case .release: .release(by: Flow.reader)
        case .report: .report(by: Flow.reader, Flow.draft)
        case .preliminary: .releasePreliminary(by: Flow.reader)
        case .verify: .verify(by: Flow.attending)
        case .amend: .amend(by: Flow.attending, Flow.amendment)
        case .returnToClinic: .returnToClinic(by: Flow.reader, reason: "临床信息不全")
        case .resubmit: .resubmit
        case .cancel: .cancel(reason: "患者拒绝检查")
        }
    }

    var testDescription: String { rawValue }
}

@Suite struct ExamWorkflowMatrixTests {
    /// The legal transitions, written out: step → action → the step it leads to. Everything else is refused.
    static let legal: [ExamStep: [WorkflowMove: ExamStep]] = [
        .awaitingRouting: [.route: .waiting, .cancel: .cancelled],
        .waiting: [.claim: .claimed, .returnToClinic: .returned, .cancel: .cancelled],
        .claimed: [.claim: .claimed, .release: .waiting, .report: .awaitingVerification, .returnToClinic: .returned],
        .awaitingVerification: [.report: .awaitingVerification, .preliminary: .preliminary, .verify: .final],
        .preliminary: [.verify: .final],
        .final: [.amend: .final],
        .returned: [.resubmit: .awaitingRouting, .cancel: .cancelled],
        .cancelled: [:],
    ]

    @Test func theMatrixNamesEveryStep() {
        #expect(Set(Self.legal.keys) == Set(ExamStep.allCases))
    }

    @Test(arguments: ExamStep.allCases, WorkflowMove.allCases)
    func everyActionFromEveryStep(_ step: ExamStep, _ move: WorkflowMove) throws {
        let exam = try Flow.exam(in: step)
        #expect(exam.step == step, "fixture")
        let at = Flow.minutes(5)
        if let expected = Self.legal[step]?[move] {
            let next = try ExamWorkflow.apply(move.action, to: exam, at: at)
            #expect(next.step == expected)
            #expect(next.updatedAt == at)
        } else {
            let error = refusal { try ExamWorkflow.apply(move.action, to: exam, at: at) }
            #expect(error?.code == "invalid_transition", "\(error?.description ?? "accepted")")
            #expect(error?.kind == .conflict)
        }
    }

    @Test func taskStatusesFollowFHIR() {
        let expected: [ExamStep: String] = [
            .awaitingRouting: "requested", .waiting: "received", .claimed: "in-progress",
            .awaitingVerification: "in-progress", .preliminary: "in-progress", .final: "completed",
            .returned: "on-hold", .cancelled: "cancelled",
        ]
        for step in ExamStep.allCases { #expect(step.taskStatus == expected[step], "\(step)") }
        #expect(Set(ExamStep.allCases.filter(\.isOpen)) == [.waiting, .claimed, .awaitingVerification, .preliminary])
    }
}

/// 书写/审核: who may sign what.
@Suite struct TwoLevelSignatureTests {
    func signatureRefusal(_ body: () throws -> Exam) {
        let error = refusal(body)
        #expect(error?.code == "two_level_signature", "\(error?.description ?? "accepted")")
        #expect(error?.kind == .forbidden)
    }

    @Test func theAuthorCannotVerifyTheirOwnReport() throws {
        // The author is an attending, so only the sameness of the person is wrong.
        let author = Flow.person("prc_author", .chief)
        var exam = try Flow.exam(in: .waiting)
        exam = try ExamWorkflow.apply(.claim(by: author, leaseMilliseconds: Flow.lease), to: exam, at: Flow.minutes(1))
        exam = try ExamWorkflow.apply(.report(by: author, Flow.draft), to: exam, at: Flow.minutes(2))
        let reported = exam
        signatureRefusal { try ExamWorkflow.apply(.verify(by: author), to: reported, at: Flow.minutes(3)) }
    }

    @Test func aResidentCannotVerify() throws {
        let exam = try Flow.exam(in: .awaitingVerification)
        signatureRefusal {
            try ExamWorkflow.apply(.verify(by: Flow.otherReader), to: exam, at: Flow.minutes(3))
        }
        let untitled = Flow.person("prc_untitled", nil)
        signatureRefusal { try ExamWorkflow.apply(.verify(by: untitled), to: exam, at: Flow.minutes(3)) }
    }

    @Test(arguments: [PractitionerTitle.attending, .associateChief, .chief])
    func attendingAndAboveMayVerify(_ title: PractitionerTitle) throws {
        let verifier = Flow.person("prc_senior", title)
        let exam = try Flow.exam(in: .awaitingVerification)
        let at = Flow.minutes(3)
        let final = try ExamWorkflow.apply(.verify(by: verifier), to: exam, at: at)
        #expect(final.step == .final)
        let report = try #require(final.currentReport)
        #expect(report.status == .final)
        #expect(report.verifier == verifier)
        #expect(report.verifiedAt == at)
        #expect(report.releasedAt == at)
        #expect(report.author == Flow.reader, "the author stays the resident who wrote it")
        #expect(report.authoredAt == Flow.minutes(2), "write time and verify time are both kept")
        #expect(final.milestones.verifiedAt == at)
    }

    @Test func aResidentCannotAmendAFinalReport() throws {
        let exam = try Flow.exam(in: .final)
        signatureRefusal {
            try ExamWorkflow.apply(.amend(by: Flow.otherReader, Flow.amendment), to: exam, at: Flow.minutes(5))
        }
    }
}

@Suite struct ClaimAndReportTests {
    @Test func theSameReaderRenewsTheLease() throws {
        let exam = try Flow.exam(in: .claimed)
        let firstClaim = try #require(exam.claim)
        #expect(firstClaim.until == Flow.minutes(1).adding(milliseconds: Flow.lease))
        let renewed = try ExamWorkflow.apply(
            .claim(by: Flow.reader, leaseMilliseconds: Flow.lease), to: exam, at: Flow.minutes(20))
        #expect(renewed.step == .claimed)
        #expect(renewed.claim?.reader == Flow.reader)
        #expect(renewed.claim?.until == Flow.minutes(20).adding(milliseconds: Flow.lease))
        #expect(renewed.claim?.claimedAt == firstClaim.claimedAt, "a renewal keeps the original claim time")
        #expect(renewed.milestones.firstClaimedAt == Flow.minutes(1))
    }

    @Test func anotherReaderIsRefusedWhileTheLeaseHolds() throws {
        let exam = try Flow.exam(in: .claimed)
        // The lease runs from minute 1 for 30 minutes: at minute 30 it still holds.
        let error = refusal {
            try ExamWorkflow.apply(
                .claim(by: Flow.otherReader, leaseMilliseconds: Flow.lease), to: exam, at: Flow.minutes(30))
        }
        #expect(error?.code == "conflict")
        #expect(error?.kind == .conflict)
    }

    @Test func anotherReaderTakesAnExpiredLease() throws {
        let exam = try Flow.exam(in: .claimed)
        let expiry = try #require(exam.claim?.until)
        #expect(!exam.isClaimed(at: expiry), "a lease ends at its `until`")
        #expect(exam.isClaimed(at: expiry.adding(milliseconds: -1)))
        let taken = try ExamWorkflow.apply(
            .claim(by: Flow.otherReader, leaseMilliseconds: Flow.lease), to: exam, at: expiry)
        #expect(taken.claim?.reader == Flow.otherReader)
        #expect(taken.claim?.claimedAt == expiry)
        #expect(taken.claim?.until == expiry.adding(milliseconds: Flow.lease))
        #expect(taken.milestones.firstClaimedAt == Flow.minutes(1), "the first claim time is kept for turnaround")
        // The reader who lost the lease can no longer report.
        #expect(
            refusal { try ExamWorkflow.apply(.report(by: Flow.reader, Flow.draft), to: taken, at: expiry) }?.code
                == "forbidden")
    }

    @Test func onlyTheClaimantReports() throws {
        let exam = try Flow.exam(in: .claimed)
        let error = refusal {
            try ExamWorkflow.apply(.report(by: Flow.otherReader, Flow.draft), to: exam, at: Flow.minutes(2))
        }
        #expect(error?.code == "forbidden")
        #expect(error?.kind == .forbidden)
        let reported = try ExamWorkflow.apply(.report(by: Flow.reader, Flow.draft), to: exam, at: Flow.minutes(2))
        #expect(reported.claim == nil, "the lease ends with the report")
        #expect(reported.reports.count == 1)
        let report = try #require(reported.currentReport)
        #expect(report.version == 1)
        #expect(report.status == .partial)
        #expect(report.author == Flow.reader)
        #expect(report.findings == Flow.draft.findings)
        #expect(report.conclusion == Flow.draft.conclusion)
        #expect(report.verifier == nil)
        #expect(reported.milestones.reportedAt == Flow.minutes(2))
    }

    @Test func onlyTheHolderOfTheClaimMayReleaseIt() throws {
        let exam = try Flow.exam(in: .claimed)
        #expect(
            refusal { try ExamWorkflow.apply(.release(by: Flow.otherReader), to: exam, at: Flow.minutes(2)) }?.code
                == "forbidden")
        let released = try ExamWorkflow.apply(.release(by: Flow.reader), to: exam, at: Flow.minutes(2))
        #expect(released.claim == nil)
        #expect(released.step == .waiting)
    }

    @Test func aReportNeedsFindingsAndConclusion() throws {
        let exam = try Flow.exam(in: .claimed)
        do {
            _ = try ExamWorkflow.apply(
                .report(by: Flow.reader, ReportDraft(findings: "  ", conclusion: nil)), to: exam, at: Flow.minutes(2))
            Issue.record("an empty report was accepted")
        } catch {
            #expect(error.code == "validation_failed")
            #expect(Set(error.fields.map(\.field)) == ["findings", "conclusion"])
        }
    }

    @Test func onlyTheAuthorRevisesADraftAwaitingVerification() throws {
        let exam = try Flow.exam(in: .awaitingVerification)
        let revision = ReportDraft(findings: "右肺上叶结节，边缘毛糙。", conclusion: "右肺上叶结节，建议增强CT。")
        #expect(
            refusal { try ExamWorkflow.apply(.report(by: Flow.otherReader, revision), to: exam, at: Flow.minutes(3)) }?
                .code == "forbidden")
        let revised = try ExamWorkflow.apply(.report(by: Flow.reader, revision), to: exam, at: Flow.minutes(3))
        #expect(revised.step == .awaitingVerification)
        #expect(revised.reports.count == 1, "a draft revision replaces the draft, it is not a new version")
        #expect(revised.currentReport?.version == 1)
        #expect(revised.currentReport?.findings == revision.findings)
        #expect(revised.currentReport?.conclusion == revision.conclusion)
        #expect(revised.currentReport?.authoredAt == Flow.minutes(3))
    }
}

@Suite struct PreliminaryReportTests {
    @Test(arguments: [Priority.stat, .asap])
    func emergencyWorkMayGoOutAsPreliminary(_ priority: Priority) throws {
        let exam = try Flow.exam(in: .awaitingVerification, priority: priority)
        let at = Flow.minutes(3)
        let out = try ExamWorkflow.apply(.releasePreliminary(by: Flow.reader), to: exam, at: at)
        #expect(out.step == .preliminary)
        #expect(out.currentReport?.status == .preliminary)
        #expect(out.currentReport?.releasedAt == at)
        #expect(out.currentReport?.verifier == nil)
        // Verified later: final, and the time it first went out is kept.
        let final = try ExamWorkflow.apply(.verify(by: Flow.attending), to: out, at: Flow.minutes(40))
        #expect(final.currentReport?.status == .final)
        #expect(final.currentReport?.releasedAt == at)
        #expect(final.currentReport?.verifiedAt == Flow.minutes(40))
    }

    @Test(arguments: [Priority.routine, .urgent])
    func routineAndUrgentWorkWaitsForTheSignature(_ priority: Priority) throws {
        let exam = try Flow.exam(in: .awaitingVerification, priority: priority)
        #expect(
            refusal { try ExamWorkflow.apply(.releasePreliminary(by: Flow.reader), to: exam, at: Flow.minutes(3)) }?
                .code == "invalid_transition")
    }

    @Test func onlyTheAuthorReleasesAPreliminary() throws {
        let exam = try Flow.exam(in: .awaitingVerification, priority: .stat)
        #expect(
            refusal {
                try ExamWorkflow.apply(.releasePreliminary(by: Flow.otherReader), to: exam, at: Flow.minutes(3))
            }?.code == "forbidden")
    }
}

@Suite struct AmendmentTests {
    @Test func amendmentsAndCorrectionsAreNewVersionsAndTheOldOnesStay() throws {
        let final = try Flow.exam(in: .final)
        let v1 = try #require(final.currentReport)
        let chief = Flow.person("prc_chief", .chief)
        let amended = try ExamWorkflow.apply(.amend(by: chief, Flow.amendment), to: final, at: Flow.minutes(60))
        let corrected = try ExamWorkflow.apply(
            .amend(
                by: Flow.attending,
                ReportDraft(findings: "右肺上叶结节，直径约5mm。", conclusion: "右肺上叶小结节。", reason: "直径录入错误", correction: true)),
            to: amended, at: Flow.minutes(90))
        #expect(corrected.step == .final)
        #expect(corrected.reports.map(\.version) == [1, 2, 3])
        #expect(corrected.reports.map(\.status) == [.final, .amended, .corrected])
        #expect(corrected.reports[0] == v1, "version 1 stays exactly as signed")
        let v2 = corrected.reports[1]
        #expect(v2.reason == "测量更正")
        #expect(v2.author == chief)
        #expect(v2.verifier == chief)
        #expect(v2.verifiedAt == Flow.minutes(60))
        #expect(v2.releasedAt == Flow.minutes(60))
        #expect(corrected.reports[2].reason == "直径录入错误")
        #expect(corrected.reports.allSatisfy { $0.status.isRecognizable })
    }

    @Test func anAmendmentNeedsAReason() throws {
        let final = try Flow.exam(in: .final)
        for reason in [nil, "   "] as [String?] {
            do {
                _ = try ExamWorkflow.apply(
                    .amend(by: Flow.attending, ReportDraft(findings: "新发现", conclusion: "新结论", reason: reason)),
                    to: final, at: Flow.minutes(60))
                Issue.record("an amendment without a reason was accepted")
            } catch {
                #expect(error.code == "validation_failed")
                #expect(error.fields.map(\.field) == ["reason"])
            }
        }
    }

    @Test func aFirstReportNeedsNoReason() throws {
        // The reason belongs to amendments only; a first report without one is fine.
        let exam = try Flow.exam(in: .claimed)
        let reported = try ExamWorkflow.apply(.report(by: Flow.reader, Flow.draft), to: exam, at: Flow.minutes(2))
        #expect(reported.currentReport?.reason == nil)
    }
}

@Suite struct ReturnCancelTests {
    @Test func aReturnRecordsTheReasonAndAResubmissionClearsIt() throws {
        let claimed = try Flow.exam(in: .claimed)
        let returned = try ExamWorkflow.apply(
            .returnToClinic(by: Flow.reader, reason: "图像伪影"), to: claimed, at: Flow.minutes(2))
        #expect(returned.returnReason == "图像伪影")
        #expect(returned.claim == nil)
        let again = try ExamWorkflow.apply(.resubmit, to: returned, at: Flow.minutes(30))
        #expect(again.step == .awaitingRouting)
        #expect(again.centerId == nil, "a resubmission is routed afresh")
        #expect(again.returnReason == nil)
        #expect(again.revision > returned.revision)
    }

    @Test func aResubmissionForgetsThePeerThatReturnedAForwardedExam() throws {
        var forwarded = try Flow.exam(in: .waiting)
        forwarded.forward = ExamForward(hubId: "hub-city", centerId: "wh-imaging", forwardedAt: Flow.minutes(0))
        let returned = try ExamWorkflow.apply(
            .returnToClinic(by: Flow.reader, reason: "图像不全"), to: forwarded, at: Flow.minutes(2))
        #expect(returned.forward?.hubId == "hub-city")
        let again = try ExamWorkflow.apply(.resubmit, to: returned, at: Flow.minutes(30))
        #expect(again.forward == nil, "routing decides afresh where it goes")
    }

    @Test func anotherReaderCannotReturnWorkSomeoneHolds() throws {
        let claimed = try Flow.exam(in: .claimed)
        #expect(
            refusal {
                try ExamWorkflow.apply(
                    .returnToClinic(by: Flow.otherReader, reason: "图像伪影"), to: claimed, at: Flow.minutes(2))
            }?.code == "conflict")
        // Once the lease has lapsed, anyone at the center may return it.
        let lapsed = try #require(claimed.claim?.until)
        let returned = try ExamWorkflow.apply(
            .returnToClinic(by: Flow.otherReader, reason: "图像伪影"), to: claimed, at: lapsed)
        #expect(returned.step == .returned)
    }

    @Test func aCancellationRecordsItsReason() throws {
        let waiting = try Flow.exam(in: .waiting)
        let cancelled = try ExamWorkflow.apply(.cancel(reason: "患者转院"), to: waiting, at: Flow.minutes(2))
        #expect(cancelled.cancelReason == "患者转院")
        #expect(cancelled.step.taskStatus == "cancelled")
    }
}

// MARK: - Routing

private enum Place {
    static let day = CivilDate("2026-11-23")!
    static let stamp = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!
    static let ct = CatalogItem(
        code: "CT-CHEST", name: "胸部CT平扫", kind: .imaging, category: .ct, modality: "CT", validityDays: 90, scope: .city,
        price: Money(fen: 24_000))

    static let clinic = Institution(
        id: "hs-clinic", name: "卫生院", level: .primary, region: RegionCode("420115")!, alliances: ["wh-east"],
        createdAt: stamp, updatedAt: stamp)

    static func host(_ id: String, alliances: [String] = ["wh-east"], status: RecordStatus = .active) -> Institution {
        Institution(
            id: id, name: "医院 \(id)", level: .tertiary, region: RegionCode("420102")!, alliances: alliances,
            status: status, createdAt: stamp, updatedAt: stamp)
    }

    static func center(
        _ id: String, kind: CenterKind = .imaging, items: [String] = ["CT-CHEST"], capacity: Int = 100,
        validFrom: CivilDate = CivilDate("2026-01-01")!, validTo: CivilDate = CivilDate("2027-12-31")!,
        status: RecordStatus = .active
    ) -> Center {
        Center(
            id: id, name: "中心 \(id)", kind: kind, institutionId: "host-\(id)", items: items, modalities: [], hours: [],
            dailyCapacity: capacity, turnaroundMinutes: TurnaroundTargets(routine: 240),
            qualifications: [
                Qualification(
                    type: .imagingQC, items: items, validFrom: validFrom, validTo: validTo, issuer: "省影像质控中心")
            ],
            status: status, createdAt: stamp, updatedAt: stamp)
    }

    static func candidate(
        _ center: Center, open: Int = 0, alliances: [String] = ["wh-east"], hostStatus: RecordStatus = .active
    ) -> RoutingCandidate {
        RoutingCandidate(
            center: center, host: host(center.institutionId, alliances: alliances, status: hostStatus), openWork: open)
    }

    static func choose(_ candidates: [RoutingCandidate]) -> Result<Center, RoutingFailure> {
        Routing.choose(item: ct, clinic: clinic, candidates: candidates, on: day)
    }

    static func chosen(_ candidates: [RoutingCandidate]) -> String? {
        if case .success(let center) = choose(candidates) { return center.id }
        return nil
    }

    static func failure(_ candidates: [RoutingCandidate]) -> String? {
        if case .failure(let failure) = choose(candidates) { return failure.reason }
        return nil
    }
}

@Suite struct RoutingTests {
    @Test func theLeastLoadedCenterWinsByOpenWorkOverCapacity() {
        // a: 10 open of 100 a day (0.1); b: 5 open of 20 (0.25). Fewer open exams do not make b the lighter one.
        let a = Place.candidate(Place.center("a", capacity: 100), open: 10)
        let b = Place.candidate(Place.center("b", capacity: 20), open: 5)
        #expect(Place.chosen([b, a]) == "a")
        #expect(Place.chosen([a, b]) == "a", "the order of candidates does not matter")
        let busier = Place.candidate(Place.center("a", capacity: 100), open: 30)
        #expect(Place.chosen([busier, b]) == "b")
    }

    @Test func equalLoadsGoToTheFirstCenterById() {
        let x = Place.candidate(Place.center("x"), open: 3)
        let y = Place.candidate(Place.center("y"), open: 3)
        #expect(Place.chosen([y, x]) == "x")
        #expect(Place.chosen([x, y]) == "x")
    }

    @Test func aSuspendedCenterIsNeverChosen() {
        let idle = Place.candidate(Place.center("idle", status: .suspended))
        let busy = Place.candidate(Place.center("busy"), open: 90)
        #expect(Place.chosen([idle, busy]) == "busy")
        let reason = Place.failure([idle])
        #expect(reason?.contains("idle") == true)
        #expect(reason?.contains("suspended") == true)
    }

    @Test func aCenterWithASuspendedHostIsNeverChosen() {
        let orphan = Place.candidate(Place.center("orphan"), hostStatus: .suspended)
        let busy = Place.candidate(Place.center("busy"), open: 90)
        #expect(Place.chosen([orphan, busy]) == "busy")
        #expect(Place.failure([orphan])?.contains("host") == true)
    }

    @Test func aQualificationThatLapsedYesterdayDoesNotCount() {
        let yesterday = Place.day.adding(days: -1)
        let lapsed = Place.candidate(Place.center("lapsed", validFrom: CivilDate("2025-01-01")!, validTo: yesterday))
        let busy = Place.candidate(Place.center("busy"), open: 90)
        #expect(Place.chosen([lapsed, busy]) == "busy")
        #expect(Place.failure([lapsed])?.contains("qualification") == true)
        // Its last day is still covered: validity includes both ends.
        let lastDay = Place.candidate(Place.center("last", validFrom: CivilDate("2025-01-01")!, validTo: Place.day))
        #expect(Place.chosen([lastDay, busy]) == "last")
    }

    @Test func aQualificationNotYetInForceDoesNotCount() {
        let early = Place.candidate(
            Place.center("early", validFrom: Place.day.adding(days: 1), validTo: Place.day.adding(days: 365)))
        #expect(Place.failure([early])?.contains("qualification") == true)
        let fromToday = Place.candidate(
            Place.center("today", validFrom: Place.day, validTo: Place.day.adding(days: 365)))
        #expect(Place.chosen([early, fromToday]) == "today")
    }

    @Test func aCenterThatDoesNotOfferTheItemIsNotChosen() {
        let dr = Place.candidate(Place.center("dr-only", items: ["DR-CHEST"]))
        #expect(Place.failure([dr])?.contains("does not offer CT-CHEST") == true)
    }

    @Test func aCenterOfAnotherKindIsNotChosen() {
        let ecg = Place.candidate(Place.center("ecg", kind: .ecg, items: ["CT-CHEST"]))
        let reason = Place.failure([ecg])
        #expect(reason?.contains("ecg") == true)
    }

    @Test func aCenterOutsideTheClinicsAlliancesIsNotChosen() {
        let far = Place.candidate(Place.center("far"), alliances: ["sy-alliance"])
        #expect(Place.failure([far])?.contains("alliance") == true)
        let near = Place.candidate(Place.center("near"), open: 99)
        #expect(Place.chosen([far, near]) == "near")
    }

    @Test func aCenterTheClinicNamesNeedNotShareAnAlliance() {
        let far = Place.candidate(Place.center("far"), alliances: ["sy-alliance"])
        #expect(
            Routing.refusal(far, item: Place.ct, clinic: Place.clinic, on: Place.day, requireAlliance: false) == nil)
        #expect(Routing.refusal(far, item: Place.ct, clinic: Place.clinic, on: Place.day) != nil)
        // Everything else still applies to a named center.
        let suspended = Place.candidate(Place.center("far", status: .suspended), alliances: ["sy-alliance"])
        #expect(
            Routing.refusal(suspended, item: Place.ct, clinic: Place.clinic, on: Place.day, requireAlliance: false)
                != nil)
    }

    @Test func withNoCandidateTheReasonSaysSo() {
        #expect(Place.failure([]) == "no imaging center offers CT-CHEST")
        let reasons = Place.failure([
            Place.candidate(Place.center("s", status: .suspended)),
            Place.candidate(Place.center("n", items: ["DR-CHEST"])),
        ])
        #expect(reasons?.contains("center s") == true)
        #expect(reasons?.contains("center n") == true, "every reason is given")
    }
}

// MARK: - Resident ID

/// GB 11643 check characters computed here, independently of the code under test: ISO 7064 MOD 11-2 weighs the
/// digit at position i (0 = leftmost of 17) by 2^(17 - i) mod 11, and the check value is (12 - sum mod 11) mod 11,
/// written X for 10.
private func mod11_2(_ first17: String) -> Character {
    var sum = 0
    for (i, character) in first17.enumerated() {
        var weight = 1
        for _ in 0..<(17 - i) { weight = weight * 2 % 11 }
        sum += character.wholeNumberValue! * weight
    }
    let value = (12 - sum % 11) % 11
    return value == 10 ? "X" : Character(String(value))
}

private func withCheck(_ first17: String) -> String { first17 + String(mod11_2(first17)) }

@Suite struct ResidentIDTests {
    /// Published sample numbers and a few built here: Beijing Chaoyang 1949-12-31 (check X), Guangdong 1880-01-01,
    /// Wuhan, Shanghai on a leap day, Urumqi.
    static let valid = [
        "11010519491231002X", "440524188001010014", withCheck("42010219800101123"), withCheck("31010420000229456"),
        withCheck("65010219991231001"),
    ]

    @Test func theIndependentCheckAgreesWithPublishedSamples() {
        #expect(withCheck("11010519491231002") == "11010519491231002X")
        #expect(withCheck("44052418800101001") == "440524188001010014")
    }

    @Test(arguments: valid)
    func validNumbersAreAccepted(_ id: String) {
        #expect(ResidentID.problem(id) == nil, "\(ResidentID.problem(id) ?? "")")
        #expect(ResidentID.isValid(id))
        #expect(ResidentID.checkCharacter(id.prefix(17)) == mod11_2(String(id.prefix(17))))
        #expect(PatientIdentifier(system: PatientIdentifier.residentID, value: id).problem == nil)
    }

    @Test(arguments: valid)
    func aWrongCheckCharacterIsRefused(_ id: String) {
        let right = id.last!
        for wrong in Array("0123456789X") where wrong != right {
            let bad = String(id.dropLast()) + String(wrong)
            #expect(ResidentID.problem(bad)?.contains("check character") == true, "\(bad)")
        }
    }

    @Test func aLowercaseXIsAccepted() throws {
        let lower = "11010519491231002x"
        #expect(ResidentID.isValid(lower))
        let built = (100...999).lazy.map { withCheck("42010219800101" + String($0)) }.first { $0.hasSuffix("X") }
        let id = try #require(built)
        #expect(ResidentID.isValid(id.lowercased()))
    }

    @Test(arguments: ["19800230", "20230229", "19801301", "19800001", "00000101"])
    func aBirthDateThatDoesNotExistIsRefused(_ birth: String) {
        let id = withCheck("420102" + birth + "123")
        #expect(ResidentID.problem(id)?.contains("birth date") == true, "\(id): \(ResidentID.problem(id) ?? "ok")")
    }

    @Test(arguments: ["000000", "990102", "100000", "830000"])
    func aRegionThatIsNoDivisionCodeIsRefused(_ region: String) {
        let id = withCheck(region + "19800101123")
        #expect(ResidentID.problem(id)?.contains("division code") == true, "\(id): \(ResidentID.problem(id) ?? "ok")")
    }

    @Test(arguments: ["", "4201021980010112", "42010219800101123", "4201021980010112345", "4201021980010112345X"])
    func aWrongLengthIsRefused(_ id: String) {
        #expect(ResidentID.problem(id)?.contains("18 characters") == true, "\(id)")
    }

    @Test func lettersAmongTheFirst17AreRefused() {
        #expect(ResidentID.problem("4201021980010112AX") != nil)
        #expect(ResidentID.problem("42010219800101１23X") != nil, "full-width digits are not ASCII digits")
    }

    /// A last character whose upper case is two characters ("ß" → "SS") must be refused like any other wrong check
    /// character. Run in a child process, because `Character(_:)` traps on a two-character string.
    @Test func aLastCharacterWhoseUpperCaseIsLongerIsRefusedWithoutCrashing() async {
        await #expect(processExitsWith: .success) {
            precondition(ResidentID.problem("42010219800101123ß") != nil)
            precondition(ResidentID.problem("42010219800101123ﬀ") != nil)
        }
    }
}
