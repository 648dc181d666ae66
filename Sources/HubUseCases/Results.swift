import HubConfig
import HubCore
import HubFederation
import HubStorage

/// The registry of results that other institutions may recognize: registering a result performed outside the
/// workflow (a lab's LIS, a hospital's own exam), reading one (here or at the peer hub that holds it), a patient's
/// results, and corrections. Recognition metadata is derived here, never taken from the input.
public struct Results: Sendable {
    let database: any Storage
    let catalog: CatalogInForce
    let patientKeys: PatientKeys
    let peers: RemoteResults
    let hubId: String
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        catalog = CatalogInForce(env)
        patientKeys = env.patientKeys
        peers = RemoteResults(
            client: env.peerClient, hubId: env.config.hubId,
            timeoutMilliseconds: env.config.federationPeerTimeoutMilliseconds, clock: env.clock)
        hubId = env.config.hubId
        clock = env.clock
    }

    /// A result registered outside the workflow.
    public struct Input: Decodable, Sendable {
        public var patient: Patient?
        public var itemCode: String?
        public var performedAt: Timestamp?
        public var reportStatus: ReportStatus?
        public var centerId: String?
        public var findings: String?
        public var conclusion: String?
        public var values: [LabValue]?
        public var attachments: [String]?

        enum CodingKeys: String, CodingKey {
            case patient, findings, conclusion, values, attachments
            case itemCode = "item_code"
            case performedAt = "performed_at"
            case reportStatus = "report_status"
            case centerId = "center_id"
        }
    }

    /// A correction of a registered result: a new version, or `entered-in-error` to withdraw it.
    public struct Correction: Decodable, Sendable {
        public var reportStatus: ReportStatus?
        public var findings: String?
        public var conclusion: String?
        public var values: [LabValue]?
        public var reason: String?

        enum CodingKeys: String, CodingKey {
            case findings, conclusion, values, reason
            case reportStatus = "report_status"
        }
    }

    /// A result with its earlier versions.
    public struct View: Encodable, Sendable {
        var result: ResultRecord
        var history: [ResultRecord]

        public func encode(to encoder: any Encoder) throws {
            try result.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(history.map(\.reportVersion), forKey: .previousVersions)
            if !history.isEmpty { try container.encode(history, forKey: .history) }
        }

        enum Keys: String, CodingKey {
            case history
            case previousVersions = "previous_versions"
        }
    }

    /// A result held by a peer hub, with the hub and the performer's level.
    public struct RemoteView: Encodable, Sendable {
        var remote: FederatedResult

        public func encode(to encoder: any Encoder) throws {
            try remote.result.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(remote.hubId, forKey: .hubId)
            try container.encodeIfPresent(remote.performerLevel, forKey: .performerLevel)
        }

        enum Keys: String, CodingKey {
            case hubId = "hub_id"
            case performerLevel = "performer_level"
        }
    }

    /// A result read here, or at a peer hub.
    public enum Found: Sendable {
        case local(View)
        case remote(RemoteView)
    }

    /// Who may read results: clinicians deciding on recognition, and the staff who produce or receive them.
    public static let readers: [Role] = [.clinician, .reader, .verifier, .clinic]

    /// Results are registered by the staff of a performing center or hospital; checked before the request's body is
    /// read, and again by each registration.
    public func authorizeRegistration(by caller: Caller) throws(HubError) {
        try caller.authenticated().require(.reader, .verifier)
    }

    public func register(_ input: Input, by caller: Caller, idempotency: Idempotency?) async throws -> Created {
        try authorizeRegistration(by: caller)
        let principal = try caller.authenticated()
        let (catalog, patientKeys) = (catalog, patientKeys)
        return try await database.create(idempotency: idempotency, now: clock()) { db, now in
            let prepared = try ResultRegistrar(
                catalog: catalog, patientKeys: patientKeys, db: db, caller: principal, now: now
            ).prepare(input)
            try PatientLinker(keys: patientKeys).insert(prepared, caller: caller, in: db, now: now)
            let result = prepared.record
            try db.appendAudit(
                caller.audit(
                    "result.register", "result", result.id, patientKey: patientKeys.keys(for: result.patient).first),
                at: now)
            return result
        }
    }

    /// One result with its history, for clinicians and the staff who produce or receive results; `hubId` names the
    /// peer hub that holds it, if not this one. The reading is audited.
    public func result(_ id: String, at hubId: String?, for caller: Caller) async throws -> Found {
        try caller.authenticated().requireAny(of: Self.readers)
        let now = clock()
        let patientKeys = patientKeys
        if let hubId, hubId != self.hubId {
            guard let peer = try await database.read({ try $0.peer(id: hubId) }), peer.status == .active
            else { throw HubError.notFound("peer", hubId) }
            let remote = try await peers.result(id, at: peer)
            try await database.write { db -> Void in
                try db.appendAudit(
                    caller.audit(
                        "result.read.remote", "result", id,
                        patientKey: patientKeys.keys(for: remote.result.patient).first, detail: "hub=\(hubId)"),
                    at: now)
            }
            return .remote(RemoteView(remote: remote))
        }
        return .local(
            try await database.write { db -> View in
                guard let result = try db.result(id: id) else { throw HubError.notFound("result", id) }
                try db.appendAudit(
                    caller.audit(
                        "result.read", "result", id, patientKey: patientKeys.keys(for: result.patient).first),
                    at: now)
                return View(result: result, history: try db.resultHistory(id: id))
            })
    }

    /// A patient's results (`system|value`, or a bare resident ID), latest performed first; for one item (or an
    /// equivalent code of it) when `itemCode` is given. The search is audited.
    public func list(patient: String?, itemCode: String?, for caller: Caller) async throws -> [ResultRecord] {
        try caller.authenticated().requireAny(of: Self.readers)
        guard let text = patient, let identifier = PatientIdentifier(query: text) else {
            throw HubError.validation("patient", "is required: system|value, or a bare resident ID")
        }
        let key = patientKeys.key(for: identifier)
        let now = clock()
        let catalog = catalog
        return try await database.write { db -> [ResultRecord] in
            var results: [ResultRecord]
            // The patient index's whole person: a result filed under a linked identifier is the same patient's.
            let match = try PatientMatch(db, patientKeys: patientKeys, keys: [key])
            if let itemCode {
                let canonical = try catalog.index(db, at: now)?.item(itemCode)?.code ?? itemCode
                results = try db.candidates(patientKeys: match.keys, itemCode: canonical)
                    .sorted { $0.performedAt > $1.performedAt }
            } else {
                results = try db.results(patientKeys: match.keys)
            }
            results = results.filter { match.matches($0.patient) }
            try db.appendAudit(
                caller.audit(
                    "result.search", "results", itemCode ?? "*", patientKey: key, detail: "count=\(results.count)"),
                at: now)
            return results
        }
    }

    /// Only the performing institution corrects its results; checked before the request's body is read, and again by
    /// the correction.
    public func authorizeCorrection(by caller: Caller) throws(HubError) {
        try caller.authenticated().require(.reader, .verifier)
    }

    /// A new version of a result (corrected, amended), or its withdrawal (entered-in-error), with the reason.
    public func correct(_ id: String, with input: Correction, by caller: Caller) async throws -> ResultRecord {
        try authorizeCorrection(by: caller)
        let principal = try caller.authenticated()
        var v = Validator()
        let reason = v.text(input.reason, "reason", maxLength: 1000, multiline: true)
        if let status = input.reportStatus, ![.corrected, .amended, .enteredInError].contains(status) {
            v.fail("report_status", "a correction is corrected, amended or entered-in-error")
        }
        try v.check()
        let now = clock()
        let patientKeys = patientKeys
        return try await database.write { db -> ResultRecord in
            guard let old = try db.result(id: id) else { throw HubError.notFound("result", id) }
            guard old.institutionId == principal.institutionId else {
                throw HubError.forbidden("only the performing institution corrects its results")
            }
            if old.reportStatus == .enteredInError {
                throw HubError.invalidTransition("the result is already withdrawn")
            }
            var new = old
            new.reportVersion = old.reportVersion + 1
            new.reportStatus = input.reportStatus ?? .corrected
            if let findings = input.findings { new.findings = findings }
            if let conclusion = input.conclusion { new.conclusion = conclusion }
            if let values = input.values { new.values = values }
            new.createdAt = now
            try db.supersede(old: old, new: StorableResult(new, keys: patientKeys), now: now)
            try db.appendAudit(
                caller.audit(
                    "result.correct", "result", id, patientKey: patientKeys.keys(for: old.patient).first,
                    detail: "\(new.reportStatus.rawValue): \(reason ?? "")"),
                at: now)
            return new
        }
    }
}
