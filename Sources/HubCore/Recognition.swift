/// Why a prior result cannot be recognized. Every failing condition is reported, each by a stable code.
public enum RecognitionReasonCode: String, Sendable, Codable, CaseIterable, ClosedSet {
    case notInCatalog = "not_in_catalog"
    case qualificationLapsed = "qualification_lapsed"
    case reportNotFinal = "report_not_final"
    case expired
    case outOfScope = "out_of_scope"
    case withdrawn
}

public struct RecognitionReason: Sendable, Codable, Equatable {
    public var code: RecognitionReasonCode
    public var detail: String
    /// For `expired`: how old the result is and the item's window, in days.
    public var ageDays: Int?
    public var validityDays: Int?

    public init(code: RecognitionReasonCode, detail: String, ageDays: Int? = nil, validityDays: Int? = nil) {
        self.code = code
        self.detail = detail
        self.ageDays = ageDays
        self.validityDays = validityDays
    }

    enum CodingKeys: String, CodingKey {
        case code, detail
        case ageDays = "age_days"
        case validityDays = "validity_days"
    }
}

/// One prior result, judged for one request.
public struct RecognitionCandidate: Sendable, Codable, Equatable {
    public var resultId: String
    public var hubId: String
    public var institutionId: String
    public var itemCode: String
    public var category: ItemCategory?
    public var performedAt: Timestamp
    public var reportStatus: ReportStatus
    public var recognizable: Bool
    public var reasons: [RecognitionReason]
    public var expiresAt: Timestamp?
    public var mark: String?
    public var scope: RecognitionScope?
    public var price: Money?
    /// The identifier of the result's patient the check found it under: one the check gave, or one the patient
    /// index links to them (`linked`). Absent for a peer's result found by that hub's own index.
    public var foundBy: FoundBy?

    public init(
        resultId: String, hubId: String, institutionId: String, itemCode: String, category: ItemCategory? = nil,
        performedAt: Timestamp, reportStatus: ReportStatus, recognizable: Bool, reasons: [RecognitionReason],
        expiresAt: Timestamp? = nil, mark: String? = nil, scope: RecognitionScope? = nil, price: Money? = nil,
        foundBy: FoundBy? = nil
    ) {
        self.foundBy = foundBy
        self.resultId = resultId
        self.hubId = hubId
        self.institutionId = institutionId
        self.itemCode = itemCode
        self.category = category
        self.performedAt = performedAt
        self.reportStatus = reportStatus
        self.recognizable = recognizable
        self.reasons = reasons
        self.expiresAt = expiresAt
        self.mark = mark
        self.scope = scope
        self.price = price
    }

    enum CodingKeys: String, CodingKey {
        case recognizable, reasons, mark, scope, category, price
        case foundBy = "found_by"
        case resultId = "result_id"
        case hubId = "hub_id"
        case institutionId = "institution_id"
        case itemCode = "item_code"
        case performedAt = "performed_at"
        case reportStatus = "report_status"
        case expiresAt = "expires_at"
    }
}

/// Province groups that recognize each other at `region` scope (e.g. Beijing-Tianjin-Hebei: 11, 12, 13).
public struct RegionGroups: Sendable, Equatable {
    public var groups: [[String]]

    public init(_ groups: [[String]] = RegionGroups.defaults) { self.groups = groups }

    /// Beijing-Tianjin-Hebei; the Yangtze River Delta; Guangdong with Hong Kong and Macau; Chengdu-Chongqing.
    public static let defaults = [["11", "12", "13"], ["31", "32", "33", "34"], ["44", "81", "82"], ["50", "51"]]

    public func together(_ a: String, _ b: String) -> Bool {
        a == b || groups.contains { $0.contains(a) && $0.contains(b) }
    }
}

/// The mutual-recognition rules (检查检验结果互认): a pure function of the result, the catalog in force, the requester,
/// and the time.
public enum RecognitionRules {
    /// Judges `result` for a request by `requester` at `now`. `catalog` is the version in force at `now`.
    public static func evaluate(
        _ result: ResultRecord, hubId: String, catalog: CatalogIndex?, requester: Institution,
        performerLevel: InstitutionLevel?,
        regions: RegionGroups, now: Timestamp, utcOffsetMinutes: Int
    ) -> RecognitionCandidate {
        var reasons: [RecognitionReason] = []
        let item = catalog?.item(result.itemCode)
        if item == nil {
            reasons.append(
                RecognitionReason(
                    code: .notInCatalog,
                    detail:
                        "\(result.itemCode) is not in the recognition catalog in force (\(catalog?.version.version ?? "none"))"
                ))
        }
        let performed = result.performedAt.civilDate(utcOffsetMinutes: utcOffsetMinutes)
        if result.recognition.qualification == nil {
            reasons.append(
                RecognitionReason(
                    code: .qualificationLapsed,
                    detail: "the performing center held no quality-control qualification for the item on \(performed)"))
        }
        switch result.reportStatus {
        case .final, .amended, .corrected: break
        case .enteredInError, .cancelled:
            reasons.append(
                RecognitionReason(
                    code: .withdrawn, detail: "the result was withdrawn (\(result.reportStatus.rawValue))"))
        case .partial, .preliminary:
            reasons.append(
                RecognitionReason(
                    code: .reportNotFinal, detail: "the report is \(result.reportStatus.rawValue), not final"))
        }
        var expiresAt: Timestamp?
        if let item {
            let age = Int((now.millisecondsSinceEpoch - result.performedAt.millisecondsSinceEpoch) / 86_400_000)
            expiresAt = result.performedAt.adding(days: item.validityDays)
            if age > item.validityDays {
                reasons.append(
                    RecognitionReason(
                        code: .expired,
                        detail: "\(age) days old; \(item.code) is recognized for \(item.validityDays) days",
                        ageDays: age, validityDays: item.validityDays))
            }
            if let problem = scopeProblem(
                item.scope, requester: requester, performerRegion: result.recognition.region,
                performerAlliances: result.recognition.alliances, regions: regions)
            {
                reasons.append(RecognitionReason(code: .outOfScope, detail: problem))
            } else if let performerLevel, requester.level > performerLevel {
                reasons.append(
                    RecognitionReason(
                        code: .outOfScope,
                        detail:
                            "a \(requester.level.rawValue) institution is not bound by a \(performerLevel.rawValue) institution's result; lower levels accept higher"
                    ))
            }
        }
        return RecognitionCandidate(
            resultId: result.id, hubId: hubId, institutionId: result.institutionId, itemCode: result.itemCode,
            category: item?.category ?? result.category, performedAt: result.performedAt,
            reportStatus: result.reportStatus, recognizable: reasons.isEmpty, reasons: reasons, expiresAt: expiresAt,
            mark: item?.mark, scope: item?.scope, price: item?.price)
    }

    /// Whether the requester is inside the scope the item is recognized in, around the performing institution.
    static func scopeProblem(
        _ scope: RecognitionScope, requester: Institution, performerRegion: String?, performerAlliances: [String],
        regions: RegionGroups
    ) -> String? {
        let theirs = performerRegion ?? ""
        let mine = requester.region.value
        switch scope {
        case .national:
            return nil
        case .region:
            return regions.together(String(mine.prefix(2)), String(theirs.prefix(2)))
                ? nil : "recognized within a cross-province region; \(mine) and \(theirs) are not in one"
        case .province:
            return mine.prefix(2) == theirs.prefix(2)
                ? nil : "recognized within the province; the result is from \(theirs)"
        case .city:
            return mine.prefix(4) == theirs.prefix(4) ? nil : "recognized within the city; the result is from \(theirs)"
        case .alliance:
            return Set(requester.alliances).isDisjoint(with: performerAlliances)
                ? "recognized within the alliance; the requester is not in the performer's alliances" : nil
        }
    }

    /// Recognizable candidates first, then newest first.
    public static func order(_ candidates: [RecognitionCandidate]) -> [RecognitionCandidate] {
        candidates.sorted {
            if $0.recognizable != $1.recognizable { return $0.recognizable }
            if $0.performedAt != $1.performedAt { return $0.performedAt > $1.performedAt }
            return $0.resultId < $1.resultId
        }
    }
}

/// The six national re-test reasons (plus provincial ones from configuration).
public enum RetestReasons {
    public static let national: [Int: String] = [
        RetestReason.conditionChanged.code: "the condition changed and the result no longer reflects it",
        RetestReason.changesFast.code: "the value changes fast as the disease evolves",
        RetestReason.beforeIntervention.code: "the item is critical before a major intervention (surgery, transfusion)",
        RetestReason.emergency.code: "emergency or rescue",
        RetestReason.appraisal.code: "forensic, disability or sick-retirement appraisal",
        RetestReason.other.code: "other cases that truly need a re-test (note required)",
    ]
}

/// Why a test is done again although a recognizable result exists: one of the six national re-test reasons, or one a
/// province adds (`recognition.retest_reasons`). Written as its number.
public struct RetestReason: Sendable, Hashable, Codable {
    public var code: Int

    public init(code: Int) { self.code = code }

    /// The condition changed and the result no longer reflects it.
    public static let conditionChanged = RetestReason(code: 1)
    /// The value changes fast as the disease evolves.
    public static let changesFast = RetestReason(code: 2)
    /// The item is critical before a major intervention (surgery, transfusion).
    public static let beforeIntervention = RetestReason(code: 3)
    /// An emergency or a rescue: never blocked.
    public static let emergency = RetestReason(code: 4)
    /// A forensic, disability or sick-retirement appraisal.
    public static let appraisal = RetestReason(code: 5)
    /// Another case that truly needs a re-test; it says why in free text.
    public static let other = RetestReason(code: 6)

    public init(from decoder: any Decoder) throws {
        code = try decoder.singleValueContainer().decode(Int.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}
