import HubCore
import Testing

let now = Timestamp(rfc3339: "2026-03-01T00:00:00Z")!

@Suite struct InstitutionRulesTests {
    @Test func validInstitutionIsAccepted() throws {
        let i = try InstitutionInput(
            id: "bj-chaoyang", name: " 朝阳医院 ", level: .tertiary, region: "110105", alliances: ["cy-alliance"]
        )
        .validatedNew(generatedID: "x", now: now)
        #expect(i.name == "朝阳医院")
        #expect(i.region.province == "11")
        #expect(i.status == .active)
    }

    @Test(arguments: ["11010", "1101055", "abcdef", "000000", "990000", ""])
    func regionMustBeASixDigitDivisionCode(_ region: String) {
        #expect(throws: HubError.self) {
            try InstitutionInput(name: "A", level: .primary, region: region).validatedNew(generatedID: "x", now: now)
        }
    }

    @Test func everyMissingFieldIsNamedAtOnce() {
        do {
            _ = try InstitutionInput(id: "bad id!").validatedNew(generatedID: "x", now: now)
            Issue.record("expected a validation error")
        } catch {
            #expect(error.code == "validation_failed")
            #expect(Set(error.fields.map(\.field)) == ["id", "name", "level", "region"])
        }
    }

    @Test func duplicateAlliancesAreRefused() {
        #expect(throws: HubError.self) {
            try InstitutionInput(name: "A", level: .primary, region: "420102", alliances: ["a", "a"])
                .validatedNew(generatedID: "x", now: now)
        }
    }

    @Test func patchCannotChangeTheId() throws {
        let i = try InstitutionInput(name: "A", level: .primary, region: "420102").validatedNew(
            generatedID: "x", now: now)
        #expect(throws: HubError.self) { try InstitutionInput(id: "y").applied(to: i, now: now) }
        let suspended = try InstitutionInput(status: .suspended).applied(to: i, now: now)
        #expect(suspended.status == .suspended)
        #expect(suspended.name == "A")
    }
}

@Suite struct PractitionerRulesTests {
    @Test func titleIsRequiredAndPeerRoleIsRefused() {
        do {
            _ = try PractitionerInput(name: "王医生", roles: [.peer]).validatedNew(id: "p", institutionId: "i", now: now)
            Issue.record("expected a validation error")
        } catch {
            #expect(Set(error.fields.map(\.field)) == ["title", "roles"])
        }
    }

    @Test func titlesAreOrderedForTheTwoLevelSignature() {
        #expect(PractitionerTitle.resident < .attending)
        #expect(PractitionerTitle.attending < .associateChief)
        #expect(PractitionerTitle.associateChief < .chief)
    }
}

func catalogFixture() -> CatalogIndex {
    CatalogIndex(
        CatalogVersion(
            version: "t1", effectiveFrom: CivilDate("2026-01-01")!,
            items: [
                CatalogItem(
                    code: "K", name: "钾", kind: .lab, category: .lab, loinc: "2823-3", validityDays: 7, scope: .city,
                    price: Money(fen: 500), equivalentCodes: ["2823-3"]),
                CatalogItem(
                    code: "CT-CHEST", name: "胸部CT平扫", kind: .imaging, category: .ct, modality: "CT", validityDays: 90,
                    scope: .city, price: Money(fen: 24000)),
            ]))
}

@Suite struct CenterRulesTests {
    let catalog = catalogFixture()

    func input(_ mutate: (inout CenterInput) -> Void = { _ in }) -> CenterInput {
        var input = CenterInput(
            name: "影像中心", kind: .imaging, institutionId: "h1", items: ["CT-CHEST"], modalities: ["CT"],
            hours: [OpeningHours(days: ["mon", "tue"], open: "08:00", close: "17:30")], dailyCapacity: 200,
            turnaroundMinutes: TurnaroundTargets(routine: 240, urgent: 120, asap: 60, stat: 30),
            qualifications: [
                Qualification(
                    type: .imagingQC, items: ["CT-CHEST"], validFrom: CivilDate("2026-01-01")!,
                    validTo: CivilDate("2026-12-31")!, issuer: "省影像质控中心")
            ])
        mutate(&input)
        return input
    }

    func fields(_ input: CenterInput) -> [String] {
        do {
            _ = try input.validatedNew(generatedID: "c", catalog: catalog.item, now: now)
            return []
        } catch {
            return error.fields.map(\.field)
        }
    }

    @Test func validCenterIsAccepted() throws {
        let center = try input().validatedNew(generatedID: "c", catalog: catalog.item, now: now)
        #expect(center.qualification(for: "CT-CHEST", on: CivilDate("2026-06-01")!) != nil)
        #expect(center.qualification(for: "CT-CHEST", on: CivilDate("2027-01-01")!) == nil)
        #expect(center.qualification(for: "CT-CHEST", on: CivilDate("2026-12-31")!) != nil, "valid_to is inclusive")
    }

    @Test func qualificationMustEndAfterItStarts() {
        #expect(
            fields(input { $0.qualifications![0].validTo = CivilDate("2026-01-01")! }) == ["qualifications[0].valid_to"]
        )
    }

    @Test func itemsMustBeInTheCatalogAndOfTheCentersKind() {
        #expect(fields(input { $0.items = ["CT-CHEST", "NOPE"] }) == ["items[1]"])
        #expect(fields(input { $0.items = ["CT-CHEST", "K"] }) == ["items[1]"])
    }

    @Test func labQualificationTypesDoNotFitImaging() {
        #expect(fields(input { $0.qualifications![0].type = .ncclEQA }) == ["qualifications[0].type"])
    }

    @Test func turnaroundTargetsMustNotGrowWithUrgency() {
        #expect(
            fields(input { $0.turnaroundMinutes = TurnaroundTargets(routine: 60, stat: 120) }) == [
                "turnaround_minutes.stat"
            ])
    }

    @Test func hoursAndCapacityAreChecked() {
        #expect(
            fields(input { $0.hours = [OpeningHours(days: ["monday"], open: "18:00", close: "08:00")] }) == [
                "hours[0].days", "hours[0].close",
            ])
        #expect(fields(input { $0.dailyCapacity = 0 }) == ["daily_capacity"])
    }

    @Test func kindAndHostCannotChangeLater() throws {
        let center = try input().validatedNew(generatedID: "c", catalog: catalog.item, now: now)
        #expect(throws: HubError.self) {
            try CenterInput(kind: .lab).applied(to: center, catalog: catalog.item, now: now)
        }
        #expect(throws: HubError.self) {
            try CenterInput(institutionId: "h2").applied(to: center, catalog: catalog.item, now: now)
        }
        let suspended = try CenterInput(status: .suspended).applied(to: center, catalog: catalog.item, now: now)
        #expect(suspended.status == .suspended)
    }
}

@Suite struct CatalogRulesTests {
    @Test func equivalentCodesFindTheSameItem() {
        let catalog = catalogFixture()
        #expect(catalog.item("2823-3")?.code == "K")
        #expect(catalog.item("K")?.code == "K")
        #expect(catalog.item("2951-2") == nil)
    }

    @Test func codesMustBeUniqueAcrossCodesAndEquivalents() {
        var version = catalogFixture().version
        version.items.append(
            CatalogItem(code: "K", name: "dup", kind: .lab, category: .lab, validityDays: 7, scope: .city, price: .zero)
        )
        version.items.append(
            CatalogItem(
                code: "NA", name: "钠", kind: .lab, category: .lab, validityDays: 7, scope: .city, price: .zero,
                equivalentCodes: ["2823-3"]))
        do {
            try version.validate()
            Issue.record("expected duplicates to be refused")
        } catch {
            #expect(error.fields.map(\.field) == ["items[2].code", "items[3].equivalent_codes[0]"])
        }
    }

    @Test func validityDaysMustBePositiveAndCategoryMustFitKind() {
        var version = catalogFixture().version
        version.items[0].validityDays = 0
        version.items[1].category = .lab
        do {
            try version.validate()
            Issue.record("expected validation errors")
        } catch {
            #expect(error.fields.map(\.field) == ["items[0].validity_days", "items[1].category"])
        }
    }

    @Test func theVersionInForceIsTheLatestEffectiveOne() {
        let versions = [("a", "2026-01-01"), ("b", "2026-06-01"), ("c", "2027-01-01"), ("b2", "2026-06-01")]
        func inForce(_ date: String) -> String? {
            CatalogSchedule.inForce(versions, on: CivilDate(date)!, effectiveFrom: { CivilDate($0.1)! })?.0
        }
        #expect(inForce("2025-12-31") == nil)
        #expect(inForce("2026-05-31") == "a")
        #expect(inForce("2026-06-01") == "b2")
        #expect(inForce("2027-03-01") == "c")
    }

    @Test func moneyKeepsFenExactly() {
        #expect(Money(yuan: 0.1)!.fen == 10)
        #expect(Money(yuan: 245.5)!.description == "245.50")
        #expect(Money(yuan: 1.005) == nil)
        #expect(Money(yuan: -1) == nil)
        #expect((Money(yuan: 0.1)! + Money(yuan: 0.2)!).fen == 30)
    }
}

@Suite struct FreeTextTests {
    @Test func findingsMayHaveLineBreaksButNotOtherControlCharacters() {
        var v = Validator()
        #expect(v.text("第一段\n第二段\t续", "findings", maxLength: 100, multiline: true) == "第一段\n第二段\t续")
        #expect(v.text("a\u{7}b", "findings", maxLength: 100, multiline: true) == nil)
        #expect(v.text("a\nb", "name") == nil, "one-line fields stay one line")
        #expect(v.problems.map(\.field) == ["findings", "name"])
    }
}
