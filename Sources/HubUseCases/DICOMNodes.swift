import HubCore
import HubStorage

/// The DICOM nodes institutions register (`/v1/institutions/{id}/dicom-nodes`), and who a DIMSE association is:
/// an association is accepted only from a registered node, at its address, and acts with its institution's rights.
public struct DICOMNodes: Sendable {
    let database: any Storage
    let clock: @Sendable () -> Timestamp

    public init(_ env: HubEnvironment) {
        database = env.database
        clock = env.clock
    }

    /// Nodes are registered and changed by an admin or the institution's integration administrator; checked before
    /// the request's body is read, and again by each change.
    public func authorizeChange(by caller: Caller, of institutionId: String) throws(HubError) {
        try caller.authenticated().requireAdminOrMember(of: institutionId, roles: [.integrationAdmin])
    }

    /// An admin, or any staff of the institution, sees its nodes.
    func authorizeRead(by caller: Caller, of institutionId: String) throws(HubError) {
        try caller.authenticated().requireAdminOrMember(of: institutionId)
    }

    public func register(
        _ input: DICOMNodeInput, for institutionId: String, by caller: Caller, idempotency: Idempotency?
    ) async throws -> Created {
        try authorizeChange(by: caller, of: institutionId)
        return try await database.create(idempotency: idempotency, now: clock()) { db, now in
            guard try db.institution(id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            let node = try input.validatedNew(
                id: GeneratedID.make("dcm", at: now), institutionId: institutionId, now: now)
            try db.insert(node)
            try db.appendAudit(
                caller.audit("dicom_node.create", "dicom_node", node.id, detail: "ae_title=\(node.aeTitle)"), at: now)
            return node
        }
    }

    public func nodes(of institutionId: String, for caller: Caller) async throws -> [DICOMNode] {
        try authorizeRead(by: caller, of: institutionId)
        return try await database.read { db in
            guard try db.institution(id: institutionId) != nil else {
                throw HubError.notFound("institution", institutionId)
            }
            return try db.dicomNodes(institutionId: institutionId)
        }
    }

    public func node(_ id: String, of institutionId: String, for caller: Caller) async throws -> DICOMNode {
        try authorizeRead(by: caller, of: institutionId)
        guard let node = try await database.read({ try $0.dicomNode(id: id) }), node.institutionId == institutionId
        else { throw HubError.notFound("DICOM node", id) }
        return node
    }

    public func update(
        _ id: String, of institutionId: String, with input: DICOMNodeInput, by caller: Caller
    ) async throws -> DICOMNode {
        try authorizeChange(by: caller, of: institutionId)
        let now = clock()
        return try await database.write { db in
            guard let current = try db.dicomNode(id: id), current.institutionId == institutionId else {
                throw HubError.notFound("DICOM node", id)
            }
            let next = try input.applied(to: current, now: now)
            try db.update(next)
            try db.appendAudit(
                caller.audit("dicom_node.update", "dicom_node", id, detail: "ae_title=\(next.aeTitle)"), at: now)
            return next
        }
    }

    public func delete(_ id: String, of institutionId: String, by caller: Caller) async throws {
        try authorizeChange(by: caller, of: institutionId)
        let now = clock()
        try await database.write { db in
            guard let current = try db.dicomNode(id: id), current.institutionId == institutionId else {
                throw HubError.notFound("DICOM node", id)
            }
            _ = try db.deleteDICOMNode(id: id)
            try db.appendAudit(
                caller.audit("dicom_node.delete", "dicom_node", id, detail: "ae_title=\(current.aeTitle)"), at: now)
        }
    }

    // MARK: Associations

    /// Why an association is refused as "calling AE title not recognized": the title names no node, the node's
    /// institution is not active, or the association comes from another address than the node's.
    public struct Refusal: Error, Sendable, Equatable {
        public var reason: String
    }

    /// The node an association calling from `callingTitle` at `address` is, or why it is refused. `hostAddresses`
    /// resolves a node's host name to the addresses it stands for (an IP address stands for itself).
    public func caller(
        callingTitle: String, address: String,
        hostAddresses: @Sendable (String) async -> Set<String>
    ) async throws -> DICOMNode {
        let found = try await database.shortRead { db -> (DICOMNode, Institution?)? in
            guard let node = try db.dicomNode(aeTitle: callingTitle) else { return nil }
            return (node, try db.cachedInstitution(id: node.institutionId))
        }
        guard let (node, institution) = found else {
            throw Refusal(reason: "AE title '\(callingTitle)' is not a registered DICOM node")
        }
        guard institution?.status == .active else {
            throw Refusal(reason: "the institution of DICOM node '\(node.aeTitle)' is not active")
        }
        guard await hostAddresses(node.host).contains(address) else {
            throw Refusal(reason: "DICOM node '\(node.aeTitle)' is registered at \(node.host), not \(address)")
        }
        return node
    }

    /// Where a C-MOVE from `node` may send: a registered node of the same institution, named by its AE title. Images
    /// never leave for another institution's node this way; nil when the title names no such node.
    public func moveDestination(aeTitle: String, from node: DICOMNode) async throws -> DICOMNode? {
        let title = AETitleRules.normalized(aeTitle)
        guard let destination = try await database.shortRead({ try $0.dicomNode(aeTitle: title) }),
            destination.institutionId == node.institutionId
        else { return nil }
        return destination
    }
}
