import Foundation
import GRDB
import HubCore

extension SQLiteTransaction: DICOMNodeWrites {
    public func dicomNode(id: String) throws -> DICOMNode? {
        try Documents.fetch(db, "dicom_nodes", id: id)
    }

    public func dicomNode(aeTitle: String) throws -> DICOMNode? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM dicom_nodes WHERE ae_title = ?"),
            arguments: [AETitleRules.normalized(aeTitle)]
        ).map { try HubJSON.decode(DICOMNode.self, from: $0) }
    }

    public func dicomNodes(institutionId: String) throws -> [DICOMNode] {
        try String.fetchAll(
            db, sql: "SELECT body FROM dicom_nodes WHERE institution_id = ? ORDER BY id", arguments: [institutionId]
        ).map { try HubJSON.decode(DICOMNode.self, from: $0) }
    }

    public func insert(_ node: DICOMNode) throws {
        try titleIsFree(node)
        try db.execute(
            sql: "INSERT INTO dicom_nodes (id, institution_id, ae_title, body) VALUES (?, ?, ?, ?)",
            arguments: [node.id, node.institutionId, node.aeTitle, try HubJSON.encodeString(node)])
    }

    public func update(_ node: DICOMNode) throws {
        try titleIsFree(node)
        try db.execute(
            sql: "UPDATE dicom_nodes SET ae_title = ?, body = ? WHERE id = ?",
            arguments: [node.aeTitle, try HubJSON.encodeString(node), node.id])
    }

    public func deleteDICOMNode(id: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM dicom_nodes WHERE id = ?", arguments: [id])
        return db.changesCount == 1
    }

    /// A conflict when another node has `node`'s AE title: a caller is known by it.
    private func titleIsFree(_ node: DICOMNode) throws {
        if let other = try String.fetchOne(
            db, sql: "SELECT id FROM dicom_nodes WHERE ae_title = ? AND id <> ?", arguments: [node.aeTitle, node.id])
        {
            throw HubError.conflict("AE title '\(node.aeTitle)' is taken by DICOM node \(other)", field: "ae_title")
        }
    }
}
