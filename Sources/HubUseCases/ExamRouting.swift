import HubCore
import HubStorage

/// Where an exam is read: a center of this hub that fits it, or a peer hub's center it is forwarded to.
public struct ExamRouting: Sendable {
    let catalog: CatalogInForce
    let forwarding: ExamForwarding
    let hl7: HL7Outbound

    public init(_ env: HubEnvironment) {
        catalog = CatalogInForce(env)
        forwarding = ExamForwarding(env)
        hl7 = HL7Outbound(env)
    }

    /// The exam routed to a center of this hub, its order queued for the center's RIS or LIS.
    func routed(_ db: any StoreWriter, _ exam: Exam, to center: Center, now: Timestamp) throws -> Exam {
        let routed = try ExamWorkflow.apply(.route(centerId: center.id), to: exam, at: now)
        try hl7.order(db, routed, center: center, now: now)
        return routed
    }

    /// Routes an exam: to the named center when it fits (a peer hub's center: forwarded there), otherwise to the
    /// least-loaded fitting center of the clinic's alliances, otherwise to a peer hub's center that offers the item;
    /// with none, the exam waits with the reason.
    func route(
        _ db: any StoreWriter, _ exam: Exam, item: CatalogItem, clinic: Institution, requested: String?, now: Timestamp
    ) throws -> Exam {
        let today = catalog.today(at: now)
        if let requested {
            if try db.center(id: requested) == nil,
                let remote = try db.remoteCenter(centerId: requested)
            {
                // A peer hub's center, as its directory lists it: the exam is forwarded there.
                guard remote.items.contains(item.code) else {
                    throw HubError.validation(
                        "center_id", "\(remote.hubId)'s center '\(requested)' does not offer \(item.code)")
                }
                return try forwarding.forward(db, exam, to: remote, clinic: clinic, now: now)
            }
            guard let center = try db.center(id: requested),
                let host = try db.institution(id: center.institutionId)
            else {
                throw HubError.validation("center_id", "center '\(requested)' does not exist")
            }
            let load = try db.openWork(centerIds: [center.id])
            let candidate = RoutingCandidate(center: center, host: host, openWork: load[center.id] ?? 0)
            if let reason = Routing.refusal(candidate, item: item, clinic: clinic, on: today, requireAlliance: false) {
                throw HubError.validation("center_id", reason)
            }
            return try routed(db, exam, to: center, now: now)
        }
        let offering = try db.centers(kind: nil, item: item.code, after: nil, limit: 500).items
        let load = try db.openWork(centerIds: offering.map(\.id))
        var candidates: [RoutingCandidate] = []
        for center in offering {
            if let host = try db.institution(id: center.institutionId) {
                candidates.append(RoutingCandidate(center: center, host: host, openWork: load[center.id] ?? 0))
            }
        }
        switch Routing.choose(item: item, clinic: clinic, candidates: candidates, on: today) {
        case .success(let center):
            return try routed(db, exam, to: center, now: now)
        case .failure(let failure):
            // No local center fits: a peer hub's center that offers the item reads it instead.
            if let remote = try forwardTarget(db, item: item, priority: exam.priority) {
                return try forwarding.forward(db, exam, to: remote, clinic: clinic, now: now)
            }
            var waiting = exam
            waiting.routingNote = failure.reason
            return waiting
        }
    }

    /// Routes an exam again with the catalog in force (a resubmission); unchanged when its item or its clinic is
    /// gone.
    func reroute(_ db: any StoreWriter, _ exam: Exam, now: Timestamp) throws -> Exam {
        guard let catalog = try catalog.index(db, at: now), let item = catalog.item(exam.itemCode),
            let clinic = try db.institution(id: exam.clinicId)
        else { return exam }
        return try route(db, exam, item: item, clinic: clinic, requested: nil, now: now)
    }

    /// Exams that found no center wait; once a center opens, regains its qualification or is reactivated, they are
    /// routed without anyone resubmitting them.
    func retryWaiting(_ db: any StoreWriter, now: Timestamp) throws {
        let waiting = try db.exams(step: .awaitingRouting, after: nil, limit: 200).items
        guard !waiting.isEmpty, let catalog = try catalog.index(db, at: now) else { return }
        for exam in waiting {
            guard let item = catalog.item(exam.itemCode),
                let clinic = try db.institution(id: exam.clinicId)
            else { continue }
            let routed = try route(db, exam, item: item, clinic: clinic, requested: nil, now: now)
            guard routed.step == .waiting else { continue }
            try db.update(routed)
            try db.appendAudit(
                AuditEvent(
                    actor: "system", institutionId: exam.clinicId, action: "exam.route", targetType: "exam",
                    targetId: exam.id, detail: "routed to \(routed.centerId ?? "-") after waiting"), at: now)
        }
    }

    /// The peer center an exam with no fitting local center goes to: active peers that serve the center's kind,
    /// centers offering the item, the shortest turnaround target for the exam's priority first.
    func forwardTarget(_ db: any StoreWriter, item: CatalogItem, priority: Priority) throws -> RemoteCenter? {
        let peers = Dictionary(uniqueKeysWithValues: try db.peers().map { ($0.id, $0) })
        return try db.remoteCenters(item: item.code)
            .filter { center in
                guard let peer = peers[center.hubId], peer.status == .active else { return false }
                return peer.serves.contains(center.kind.rawValue)
            }
            .min { a, b in
                let ta = a.turnaroundMinutes[priority] ?? Int.max
                let tb = b.turnaroundMinutes[priority] ?? Int.max
                return ta != tb ? ta < tb : (a.hubId, a.centerId) < (b.hubId, b.centerId)
            }
    }
}
