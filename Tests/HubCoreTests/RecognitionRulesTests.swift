import HubCore
import Testing

/// The rules table of 检查检验结果互认, each case built from the catalog, a center's qualification and the clock.
@Suite struct RecognitionRulesTests {
    static let catalog = CatalogIndex(
        CatalogVersion(
            version: "r1", effectiveFrom: CivilDate("2026-01-01")!,
            items: [
                CatalogItem(
                    code: "K", name: "钾", kind: .lab, category: .lab, loinc: "2823-3", validityDays: 7, scope: .city,
                    price: Money(fen: 500), mark: "HR", equivalentCodes: ["2823-3"]),
                CatalogItem(
                    code: "HBA1C", name: "糖化血红蛋白", kind: .lab, category: .lab, loinc: "4548-4", validityDays: 60,
                    scope: .province, price: Money(fen: 6000), mark: "HR", equivalentCodes: ["4548-4"]),
                CatalogItem(
                    code: "PATH-FROZEN", name: "冰冻", kind: .pathology, category: .pathology, validityDays: 1,
                    scope: .alliance, price: Money(fen: 30000)),
                CatalogItem(
                    code: "ABO", name: "ABO", kind: .lab, category: .lab, validityDays: 365, scope: .national,
                    price: Money(fen: 1000)),
                CatalogItem(
                    code: "GLU", name: "葡萄糖", kind: .lab, category: .lab, validityDays: 30, scope: .region,
                    price: Money(fen: 400), mark: "★"),
            ]))

    static let performed = Timestamp(rfc3339: "2026-03-01T09:00:00+08:00")!

    /// A lab center in Wuhan whose EQA pass runs through 2026-02-28 for K and all year for the others.
    static let labCenter = Center(
        id: "lab", name: "检验中心", kind: .lab, institutionId: "wh-xiehe", items: ["K", "HBA1C", "ABO", "GLU"],
        modalities: [],
        hours: [], dailyCapacity: 1000, turnaroundMinutes: TurnaroundTargets(),
        qualifications: [
            Qualification(
                type: .ncclEQA, items: ["K"], validFrom: CivilDate("2025-03-01")!, validTo: CivilDate("2026-02-28")!,
                issuer: "NCCL"),
            Qualification(
                type: .provincialEQA, items: ["HBA1C", "ABO", "GLU"], validFrom: CivilDate("2026-01-01")!,
                validTo: CivilDate("2026-12-31")!, issuer: "湖北省临检中心"),
        ],
        status: .active, createdAt: performed, updatedAt: performed)

    static let host = Institution(
        id: "wh-xiehe", name: "协和", level: .tertiary, region: RegionCode("420102")!, alliances: ["wh-east"],
        createdAt: performed,
        updatedAt: performed)

    static func result(
        _ code: String, status: ReportStatus = .final, performedAt: Timestamp = performed, center: Center = labCenter,
        host: Institution = host
    ) -> ResultRecord {
        let date = performedAt.civilDate(utcOffsetMinutes: 480)
        return ResultRecord(
            id: "res-\(code)", patient: Patient(identifiers: [PatientIdentifier(system: "cn-resident-id", value: "x")]),
            itemCode: code,
            itemName: nil, category: nil, institutionId: host.id, centerId: center.id, examId: nil,
            performedAt: performedAt,
            reportStatus: status, reportVersion: 1, findings: nil, conclusion: "结论", values: [], attachments: [],
            recognition: ResultRecord.recognition(
                item: code, catalog: catalog, center: center, host: host, performedOn: date),
            createdAt: performedAt)
    }

    static func requester(
        _ region: String, level: InstitutionLevel = .secondary, alliances: [String] = ["wh-east"]
    ) -> Institution {
        Institution(
            id: "req", name: "请求方", level: level, region: RegionCode(region)!, alliances: alliances,
            createdAt: performed, updatedAt: performed)
    }

    func judge(
        _ result: ResultRecord, dayOffset: Int, requester: Institution = requester("420103")
    ) -> RecognitionCandidate {
        RecognitionRules.evaluate(
            result, hubId: "hub", catalog: Self.catalog, requester: requester, performerLevel: .tertiary,
            regions: RegionGroups(),
            now: result.performedAt.adding(days: dayOffset), utcOffsetMinutes: Self.chinaStandardTime)
    }

    /// UTC+8, the civil time of the hubs these rules are written for.
    static let chinaStandardTime = 480

    @Test func potassiumAtDayEightIsExpiredUnderASevenDayWindow() {
        var fresh = Self.result("K")
        fresh.recognition.qualification = Self.labCenter.qualifications[0]  // qualified, so only age matters
        let candidate = judge(fresh, dayOffset: 8)
        #expect(!candidate.recognizable)
        #expect(candidate.reasons.map(\.code) == [.expired])
        #expect(candidate.reasons.first?.ageDays == 8)
        #expect(candidate.reasons.first?.validityDays == 7)
        #expect(candidate.expiresAt == fresh.performedAt.adding(days: 7))
        #expect(judge(fresh, dayOffset: 7).recognizable, "day 7 is still inside the window")
    }

    @Test func hba1cAtDayFortyFiveIsRecognizableUnderSixtyDays() {
        let candidate = judge(Self.result("HBA1C"), dayOffset: 45)
        #expect(candidate.recognizable)
        #expect(candidate.reasons.isEmpty)
        #expect(candidate.mark == "HR")
        #expect(candidate.price == Money(fen: 6000))
    }

    @Test func anEQAPassThatEndedTheDayBeforeIsQualificationLapsed() {
        // The K pass ran through 2026-02-28; the test was on 2026-03-01.
        let result = Self.result("K")
        #expect(result.recognition.qualification == nil)
        let candidate = judge(result, dayOffset: 1)
        #expect(candidate.reasons.map(\.code) == [.qualificationLapsed])
    }

    @Test func aPreliminaryReportIsNotFinalAndEnteredInErrorIsWithdrawn() {
        #expect(
            judge(Self.result("HBA1C", status: .preliminary), dayOffset: 1).reasons.map(\.code) == [.reportNotFinal])
        #expect(judge(Self.result("HBA1C", status: .enteredInError), dayOffset: 1).reasons.map(\.code) == [.withdrawn])
        #expect(judge(Self.result("HBA1C", status: .corrected), dayOffset: 1).recognizable)
    }

    @Test func anAllianceItemFromAnotherProvinceIsOutOfScope() {
        let pathology = Center(
            id: "path", name: "病理", kind: .pathology, institutionId: "wh-xiehe", items: ["PATH-FROZEN"], modalities: [],
            hours: [],
            dailyCapacity: 10, turnaroundMinutes: TurnaroundTargets(),
            qualifications: [
                Qualification(
                    type: .pathologyQC, items: ["PATH-FROZEN"], validFrom: CivilDate("2026-01-01")!,
                    validTo: CivilDate("2026-12-31")!, issuer: "省病理质控")
            ],
            status: .active, createdAt: Self.performed, updatedAt: Self.performed)
        let result = Self.result("PATH-FROZEN", center: pathology)
        let beijing = Self.requester("110105", alliances: ["bj-north"])
        let candidate = judge(result, dayOffset: 0, requester: beijing)
        #expect(candidate.reasons.map(\.code) == [.outOfScope])
        #expect(
            judge(result, dayOffset: 0, requester: Self.requester("420115")).recognizable,
            "inside the alliance it is recognized")
    }

    @Test func scopesWidenFromCityToNation() {
        var k = Self.result("K")
        k.recognition.qualification = Self.labCenter.qualifications[0]
        #expect(judge(k, dayOffset: 1, requester: Self.requester("420115")).recognizable, "same city 4201")
        #expect(
            judge(k, dayOffset: 1, requester: Self.requester("420502")).reasons.map(\.code) == [.outOfScope],
            "Yichang is another city")
        #expect(
            judge(Self.result("HBA1C"), dayOffset: 1, requester: Self.requester("420502")).recognizable,
            "province scope")
        #expect(
            judge(Self.result("HBA1C"), dayOffset: 1, requester: Self.requester("430102")).reasons.map(\.code) == [
                .outOfScope
            ])
        #expect(
            judge(Self.result("ABO"), dayOffset: 1, requester: Self.requester("650102", alliances: [])).recognizable,
            "national scope")
        let beijingHost = Institution(
            id: "bj", name: "北京", level: .tertiary, region: RegionCode("110105")!, alliances: [],
            createdAt: Self.performed, updatedAt: Self.performed)
        let glucose = Self.result("GLU", host: beijingHost)
        #expect(
            judge(glucose, dayOffset: 1, requester: Self.requester("130102", alliances: [])).recognizable,
            "Hebei is in Beijing-Tianjin-Hebei")
        #expect(
            judge(glucose, dayOffset: 1, requester: Self.requester("420102", alliances: [])).reasons.map(\.code) == [
                .outOfScope
            ])
    }

    @Test func lowerLevelsAcceptHigherButNotTheOtherWayRound() {
        let candidate = RecognitionRules.evaluate(
            Self.result("HBA1C"), hubId: "hub", catalog: Self.catalog,
            requester: Self.requester("420103", level: .tertiary),
            performerLevel: .primary, regions: RegionGroups(), now: Self.performed.adding(days: 1),
            utcOffsetMinutes: Self.chinaStandardTime)
        #expect(candidate.reasons.map(\.code) == [.outOfScope])
    }

    @Test func everyFailingReasonIsListed() {
        let old = Self.result("K", status: .preliminary)
        let candidate = judge(old, dayOffset: 30, requester: Self.requester("110105", alliances: []))
        #expect(Set(candidate.reasons.map(\.code)) == [.qualificationLapsed, .reportNotFinal, .expired, .outOfScope])
    }

    @Test func itemsMissingFromTheCatalogInForceAreNotRecognized() {
        let unknown = Self.result("MR-BRAIN")
        #expect(judge(unknown, dayOffset: 1).reasons.map(\.code).contains(.notInCatalog))
    }

    @Test func recognizableCandidatesComeFirstThenNewest() {
        let a = RecognitionCandidate(
            resultId: "a", hubId: "h", institutionId: "i", itemCode: "K",
            performedAt: Timestamp(millisecondsSinceEpoch: 1), reportStatus: .final, recognizable: false, reasons: [])
        let b = RecognitionCandidate(
            resultId: "b", hubId: "h", institutionId: "i", itemCode: "K",
            performedAt: Timestamp(millisecondsSinceEpoch: 2), reportStatus: .final, recognizable: true, reasons: [])
        let c = RecognitionCandidate(
            resultId: "c", hubId: "h", institutionId: "i", itemCode: "K",
            performedAt: Timestamp(millisecondsSinceEpoch: 3), reportStatus: .final, recognizable: true, reasons: [])
        #expect(RecognitionRules.order([a, b, c]).map(\.resultId) == ["c", "b", "a"])
    }
}
