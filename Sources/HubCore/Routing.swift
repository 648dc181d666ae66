/// A center the router may consider, with what it needs to decide.
public struct RoutingCandidate: Sendable {
    public var center: Center
    public var host: Institution
    /// Exams waiting or in progress at the center.
    public var openWork: Int

    public init(center: Center, host: Institution, openWork: Int) {
        self.center = center
        self.host = host
        self.openWork = openWork
    }
}

/// Chooses where an exam is read.
public enum Routing {
    /// Why `candidate` cannot take the item for `clinic` on `date`, or nil when it can. `requireAlliance` is off
    /// when the clinic named the center itself.
    public static func refusal(
        _ candidate: RoutingCandidate, item: CatalogItem, clinic: Institution, on date: CivilDate,
        requireAlliance: Bool = true
    ) -> String? {
        let center = candidate.center
        if center.status != .active { return "center \(center.id) is suspended" }
        if candidate.host.status != .active { return "the host of center \(center.id) is suspended" }
        if center.kind.itemKind != item.kind { return "center \(center.id) is a \(center.kind.rawValue) center" }
        if !center.offers(item.code) { return "center \(center.id) does not offer \(item.code)" }
        if center.qualification(for: item.code, on: date) == nil {
            return "center \(center.id) holds no qualification for \(item.code) in force on \(date)"
        }
        if requireAlliance && Set(candidate.host.alliances).isDisjoint(with: clinic.alliances) {
            return "center \(center.id) is outside the clinic's alliances"
        }
        return nil
    }

    /// The least-loaded fitting center (open work over daily capacity), or every reason none fits.
    public static func choose(
        item: CatalogItem, clinic: Institution, candidates: [RoutingCandidate], on date: CivilDate
    ) -> Result<Center, RoutingFailure> {
        var reasons: [String] = []
        var best: (RoutingCandidate, Double)?
        for candidate in candidates {
            if let reason = refusal(candidate, item: item, clinic: clinic, on: date) {
                reasons.append(reason)
                continue
            }
            let load = Double(candidate.openWork) / Double(max(candidate.center.dailyCapacity, 1))
            if let (current, currentLoad) = best,
                currentLoad < load || (currentLoad == load && current.center.id < candidate.center.id)
            {
                continue
            }
            best = (candidate, load)
        }
        if let best { return .success(best.0.center) }
        let summary =
            candidates.isEmpty
            ? "no \(item.kind.rawValue) center offers \(item.code)"
            : "no center fits: " + reasons.joined(separator: "; ")
        return .failure(RoutingFailure(reason: summary))
    }
}

public struct RoutingFailure: Error, Sendable, Equatable {
    public var reason: String
}
