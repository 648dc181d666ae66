/// How one peer hub answered (or did not answer) a federated request.
public enum PeerCallStatus: String, Sendable, Codable, CaseIterable, ClosedSet {
    /// It answered in time.
    case ok
    /// It did not answer within its timeout or the overall deadline.
    case timeout
    /// It refused, failed or could not be reached.
    case error
    /// It was not asked: out of the item's recognition scope, not serving recognition, or already asked upstream.
    case skipped
}

/// One prior result as a peer hub holds it: the record with its origin's identity and recognition metadata, and the
/// performing institution's level (the requester's hub cannot look it up).
public struct FederatedResult: Sendable, Codable, Equatable {
    public var hubId: String
    public var performerLevel: InstitutionLevel?
    public var result: ResultRecord
    /// The seal of the hub that holds the result (base64 Ed25519, see `ResultSeal` in HubFederation): a hub relaying
    /// another hub's result passes it on unchanged, and the asking hub keeps a relayed result only when it verifies.
    public var signature: String?

    public init(hubId: String, performerLevel: InstitutionLevel?, result: ResultRecord, signature: String? = nil) {
        self.hubId = hubId
        self.performerLevel = performerLevel
        self.result = result
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey {
        case result, signature
        case hubId = "hub_id"
        case performerLevel = "performer_level"
    }
}

/// What `POST /federation/v1/recognition/query` asks: a patient's prior results for an item.
public struct RecognitionQuery: Sendable, Codable, Equatable {
    public var patient: [PatientIdentifier]
    /// The item as the requesting hub's catalog names it, and the codes it counts as the same item.
    public var itemCode: String
    public var equivalentCodes: [String]
    /// Hubs already asked by someone upstream: a relaying hub does not ask them again.
    public var asked: [String]
    /// Milliseconds the asking hub waits for the answer; a relaying hub finishes inside it.
    public var deadlineMs: Int
    /// The requesting institution's region and the item's recognition scope there, so a relaying hub skips peers
    /// outside the scope.
    public var requesterRegion: String?
    public var scope: RecognitionScope?

    public init(
        patient: [PatientIdentifier], itemCode: String, equivalentCodes: [String] = [], asked: [String],
        deadlineMs: Int, requesterRegion: String? = nil, scope: RecognitionScope? = nil
    ) {
        self.requesterRegion = requesterRegion
        self.scope = scope
        self.patient = patient
        self.itemCode = itemCode
        self.equivalentCodes = equivalentCodes
        self.asked = asked
        self.deadlineMs = deadlineMs
    }

    enum CodingKeys: String, CodingKey {
        case patient, asked, scope
        case itemCode = "item_code"
        case equivalentCodes = "equivalent_codes"
        case deadlineMs = "deadline_ms"
        case requesterRegion = "requester_region"
    }

    /// Names the first field that is missing or wrong.
    public func problem() -> (field: String, detail: String)? {
        if patient.isEmpty { return ("patient", "at least one identifier is required") }
        if patient.count > 20 { return ("patient", "at most 20 identifiers") }
        for (i, identifier) in patient.enumerated() {
            if let problem = identifier.problem { return ("patient[\(i)]", problem) }
        }
        if itemCode.isEmpty || itemCode.count > 64 { return ("item_code", "must be 1 to 64 characters") }
        if equivalentCodes.count > 50 { return ("equivalent_codes", "at most 50 codes") }
        if asked.count > 256 { return ("asked", "at most 256 hub ids") }
        if !(1...60_000).contains(deadlineMs) { return ("deadline_ms", "must be in 1...60000") }
        if let requesterRegion, RegionCode(requesterRegion) == nil { return ("requester_region", RegionCode.rule) }
        return nil
    }
}

/// How one peer answered within a federated request, as the requester lists it.
public struct PeerOutcome: Sendable, Codable, Equatable {
    public var hubId: String
    public var status: PeerCallStatus
    public var latencyMs: Int?
    /// Results it returned (its own and those its peers relayed).
    public var results: Int?
    public var detail: String?
    /// For a peer asked by another peer on this hub's behalf: that peer's id.
    public var via: String?
    /// Results of its answer left out because they were not evidence: labelled with another hub's id without that
    /// hub's valid seal. `results` counts only those kept.
    public var dropped: Int?
    /// Why the first of them was left out.
    public var droppedReason: String?

    public init(
        hubId: String, status: PeerCallStatus, latencyMs: Int? = nil, results: Int? = nil, detail: String? = nil,
        via: String? = nil, dropped: Int? = nil, droppedReason: String? = nil
    ) {
        self.hubId = hubId
        self.status = status
        self.latencyMs = latencyMs
        self.results = results
        self.detail = detail
        self.via = via
        self.dropped = dropped
        self.droppedReason = droppedReason
    }

    enum CodingKeys: String, CodingKey {
        case status, results, detail, via, dropped
        case hubId = "hub_id"
        case latencyMs = "latency_ms"
        case droppedReason = "dropped_reason"
    }
}

/// The answer to a recognition query: what the hub holds, what its own peers relayed, and how they answered.
public struct RecognitionQueryAnswer: Sendable, Codable, Equatable {
    public var hubId: String
    public var results: [FederatedResult]
    public var peers: [PeerOutcome]

    public init(hubId: String, results: [FederatedResult], peers: [PeerOutcome]) {
        self.hubId = hubId
        self.results = results
        self.peers = peers
    }

    enum CodingKeys: String, CodingKey {
        case results, peers
        case hubId = "hub_id"
    }
}

/// Which peers a recognition check asks: those that serve recognition and whose region the item's recognition scope
/// covers around the requester. A peer outside the scope could only hold results the rules refuse.
public enum PeerSelection {
    /// nil when the peer is asked, otherwise why it is skipped.
    public static func skipReason(
        _ peer: Peer, scope: RecognitionScope?, requesterRegion: String, regions: RegionGroups = RegionGroups()
    ) -> String? {
        guard peer.status == .active else { return "the peer is \(peer.status.rawValue)" }
        guard peer.serves.contains("recognition") else { return "the peer does not serve recognition" }
        let mine = requesterRegion
        let theirs = peer.region
        switch scope {
        case nil, .national, .alliance:
            return nil
        case .region:
            return regions.together(String(mine.prefix(2)), String(theirs.prefix(2)))
                ? nil : "outside the item's cross-province recognition region"
        case .province:
            return mine.prefix(2) == theirs.prefix(2) ? nil : "outside the item's province-wide recognition scope"
        case .city:
            // A hub serving a whole province (e.g. 420000) can hold results from the requester's city.
            let covers = theirs.hasSuffix("0000") && theirs.prefix(2) == mine.prefix(2)
            return mine.prefix(4) == theirs.prefix(4) || covers ? nil : "outside the item's city-wide recognition scope"
        }
    }
}

/// A center a peer hub offers, as its directory advertises it.
public struct RemoteCenter: Sendable, Codable, Equatable {
    public var hubId: String
    public var centerId: String
    public var name: String
    public var kind: CenterKind
    public var institutionId: String
    public var items: [String]
    public var turnaroundMinutes: TurnaroundTargets

    public init(
        hubId: String, centerId: String, name: String, kind: CenterKind, institutionId: String, items: [String],
        turnaroundMinutes: TurnaroundTargets
    ) {
        self.hubId = hubId
        self.centerId = centerId
        self.name = name
        self.kind = kind
        self.institutionId = institutionId
        self.items = items
        self.turnaroundMinutes = turnaroundMinutes
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, items
        case hubId = "hub_id"
        case centerId = "center_id"
        case institutionId = "institution_id"
        case turnaroundMinutes = "turnaround_minutes"
    }
}

/// What this hub last learned about a peer from its directory.
public struct PeerState: Sendable, Codable, Equatable {
    public var peerId: String
    /// Whether the last directory fetch succeeded; nil before the first.
    public var reachable: Bool?
    public var lastAttemptAt: Timestamp?
    /// The last successful directory refresh.
    public var lastRefreshAt: Timestamp?
    public var lastError: String?
    public var centers: Int

    public init(
        peerId: String, reachable: Bool? = nil, lastAttemptAt: Timestamp? = nil, lastRefreshAt: Timestamp? = nil,
        lastError: String? = nil, centers: Int = 0
    ) {
        self.peerId = peerId
        self.reachable = reachable
        self.lastAttemptAt = lastAttemptAt
        self.lastRefreshAt = lastRefreshAt
        self.lastError = lastError
        self.centers = centers
    }

    enum CodingKeys: String, CodingKey {
        case reachable, centers
        case peerId = "peer_id"
        case lastAttemptAt = "last_attempt_at"
        case lastRefreshAt = "last_refresh_at"
        case lastError = "last_error"
    }
}
