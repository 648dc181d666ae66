import Crypto
import Foundation
import GRDB
import HubCore
import HubStore
import Testing

@Suite struct InlineBlobsTests {
    static func digest(_ bytes: [UInt8]) -> String { Hex.encode(SHA256.hash(data: bytes)) }

    @Test func aBlobIsKeptOnceAndDamagedBytesAreFoundAndRepairedByStoringItAgain() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = Array("DICM 结构化报告".utf8) + (0..<4000).map { UInt8($0 % 256) }
        let sha = Self.digest(bytes)
        for _ in 0..<2 {
            try await database.write { try InlineBlobs.insert($0, sha256: sha, bytes: bytes) }
        }
        try await database.read { (db: Database) throws in
            #expect(try InlineBlobs.bytes(db, sha256: sha) == bytes)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blob_data") == 1)
            #expect(try InlineBlobs.damaged(db).isEmpty)
            #expect(try InlineBlobs.bytes(db, sha256: Self.digest([1, 2, 3])) == nil)
        }
        try await database.write { db in
            try db.execute(
                sql: "UPDATE blob_data SET bytes = ? WHERE sha256 = ?", arguments: [Data(bytes.dropLast()), sha])
        }
        #expect(try await database.read { try InlineBlobs.damaged($0) } == [sha])
        try await database.write { try InlineBlobs.insert($0, sha256: sha, bytes: bytes) }
        try await database.read { (db: Database) throws in
            #expect(try InlineBlobs.bytes(db, sha256: sha) == bytes)
            #expect(try InlineBlobs.damaged(db).isEmpty)
        }
    }

    @Test func aBlobIsReadFromTheDatabaseOrElseFromItsFile() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try BlobStore(root: directory.appendingPathComponent("blobs").path)
        let (kept, other) = (Array("kept in the database".utf8), Array("a file".utf8))
        try await database.write { try InlineBlobs.insert($0, sha256: Self.digest(kept), bytes: kept) }
        try await database.read { (db: Database) throws in
            #expect(try InlineBlobs.content(db, sha256: Self.digest(kept), files: files) == .bytes(kept))
            #expect(
                try InlineBlobs.content(db, sha256: Self.digest(other), files: files)
                    == .file(files.path(for: Self.digest(other))))
        }
    }

    /// The blobs that must be files: those referred to by attachments or stored instances and not kept in the
    /// database, on the schema of today and on databases written before stored instances or kept blobs existed.
    @Test func theBlobsThatMustBeFilesAreFoundOnEverySchema() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            #expect(try InlineBlobs.filesReferenced(db).isEmpty)
            try db.execute(sql: "CREATE TABLE attachments (sha256 TEXT NOT NULL)")
            try db.execute(sql: "INSERT INTO attachments VALUES ('a'), ('b'), ('a')")
            #expect(try InlineBlobs.filesReferenced(db) == ["a", "b"])
            #expect(try InlineBlobs.damaged(db).isEmpty)
            try db.execute(sql: "CREATE TABLE dicom_instances (sha256 TEXT NOT NULL)")
            try db.execute(sql: "INSERT INTO dicom_instances VALUES ('b'), ('c'), ('d')")
            #expect(try InlineBlobs.filesReferenced(db) == ["a", "b", "c", "d"])
            try db.execute(sql: "CREATE TABLE blob_data (sha256 TEXT PRIMARY KEY NOT NULL, bytes BLOB NOT NULL)")
            try db.execute(sql: "INSERT INTO blob_data VALUES ('b', x'00'), ('d', x'00')")
            #expect(try InlineBlobs.filesReferenced(db) == ["a", "c"])
            #expect(try InlineBlobs.damaged(db) == ["b", "d"])
        }
    }
}
