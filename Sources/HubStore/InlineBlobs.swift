import Crypto
import Foundation
import GRDB
import HubCore

/// Small blobs kept in the database, beside the rows that refer to them, instead of as files.
///
/// A small DICOM instance (a structured report, a key-object selection, an ECG, a thumbnail-sized image) stored as a
/// file waits for three flushes before it is stored: its bytes, its folder's entry, and the commit of its index rows.
/// Kept in the database, its bytes are written in the same transaction as its index rows, and one commit (shared with
/// the writes beside it) makes both durable at once; nothing can refer to a file a crash lost. SQLite reads and
/// writes blobs of this size faster than the file system does (sqlite.org/intern-v-extern-blob.html).
extension InlineBlobs {
    /// Keeps a blob's bytes. The same digest is the same bytes, so a blob kept already is left alone, unless its bytes
    /// were damaged: storing it again repairs them.
    public static func insert(_ db: Database, sha256: String, bytes: [UInt8]) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO blob_data (sha256, bytes) VALUES (?, ?)
                ON CONFLICT (sha256) DO UPDATE SET bytes = excluded.bytes WHERE bytes <> excluded.bytes
                """)
        try statement.execute(arguments: [sha256, Data(bytes)])
    }

    /// A blob's bytes, when it is kept in the database.
    public static func bytes(_ db: Database, sha256: String) throws -> [UInt8]? {
        let statement = try db.cachedStatement(sql: "SELECT bytes FROM blob_data WHERE sha256 = ?")
        return try Data.fetchOne(statement, arguments: [sha256]).map { Array($0) }
    }

    /// Where a blob's bytes are: in the database, or in the blob store's file (which may be missing).
    public static func content(_ db: Database, sha256: String, files: BlobStore) throws -> BlobContent {
        if let bytes = try bytes(db, sha256: sha256) { return .bytes(bytes) }
        return .file(files.path(for: sha256))
    }

    /// The digests of the blobs the database refers to (attachments and stored DICOM instances) that are not kept in
    /// it, and so must be files in the blob store. Works on databases of any schema version.
    public static func filesReferenced(_ db: Database) throws -> Set<String> {
        var sources: [String] = []
        if try db.tableExists("attachments") { sources.append("SELECT sha256 FROM attachments") }
        if try db.tableExists("dicom_instances") { sources.append("SELECT sha256 FROM dicom_instances") }
        guard !sources.isEmpty else { return [] }
        var sql = sources.joined(separator: " UNION ")
        if try db.tableExists("blob_data") {
            sql = "SELECT sha256 FROM (\(sql)) WHERE sha256 NOT IN (SELECT sha256 FROM blob_data)"
        }
        return Set(try String.fetchAll(db, sql: sql))
    }

    /// The digests of blobs kept in the database whose bytes no longer hash to them.
    public static func damaged(_ db: Database) throws -> [String] {
        guard try db.tableExists("blob_data") else { return [] }
        var damaged: [String] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT sha256, bytes FROM blob_data ORDER BY sha256")
        while let row = try rows.next() {
            let name: String = row[0]
            let bytes: Data = row[1]
            if SHA256.hash(data: bytes).withUnsafeBytes(Hex.encode) != name { damaged.append(name) }
        }
        return damaged
    }
}
