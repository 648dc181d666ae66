import Crypto
import Foundation
import GRDB
import HubCore
import HubStore
import Testing

/// The chain's end against the last head the hub signed: a chain cut short, or written again from its first record,
/// still holds link by link; only the signed head shows it.
@Suite struct AuditHeadTests {
    let key = Curve25519.Signing.PrivateKey()

    func append(_ database: AppDatabase, _ count: Int, actor: String = "prc_1") async throws {
        for i in 0..<count {
            _ = try await database.write { db in
                try AuditLog.append(
                    db,
                    AuditEvent(
                        actor: actor, institutionId: "inst", action: "institution.update", targetType: "institution",
                        targetId: "t\(i)"),
                    at: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + Int64(i)))
            }
        }
    }

    func signedHead(_ database: AppDatabase) async throws -> SignedAuditHead {
        let current = try #require(try await database.read { try AuditHead.current($0) })
        var head = SignedAuditHead(
            hubId: "hub-a", seq: current.seq, hash: current.hash,
            at: Timestamp(millisecondsSinceEpoch: 1_700_000_100_000))
        head.signature = try key.signature(for: head.statement).base64EncodedString()
        return head
    }

    func check(_ database: AppDatabase, _ head: SignedAuditHead?) async throws -> AuditHeadCheck {
        let key = key.publicKey
        return try await database.read { try AuditHead.check($0, against: head, key: key) }
    }

    /// Lets the test do what an intruder with write access to the file would.
    func dropGuards(_ database: AppDatabase) async throws {
        try await database.write { db in
            for trigger in try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
            {
                try db.execute(sql: "DROP TRIGGER \(trigger)")
            }
        }
    }

    @Test func aGrowingChainHoldsItsHeadAndCountsWhatCameAfter() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try await check(database, nil).status == .missing)
        try await append(database, 10)
        let head = try await signedHead(database)
        #expect(try await check(database, head).status == .matches)
        try await append(database, 4)
        let later = try await check(database, head)
        #expect(later.status == .matches && later.since == 4 && later.holds)
    }

    @Test func anEndCutOffIsTruncatedThoughTheChainStillHolds() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await append(database, 10)
        let head = try await signedHead(database)
        try await dropGuards(database)
        try await database.write { db in try db.execute(sql: "DELETE FROM audit_log WHERE seq > 7") }
        #expect(try await database.read { try AuditLog.verify($0) }.isIntact, "link by link it holds")
        let found = try await check(database, head)
        #expect(found.status == .truncated && !found.holds)
    }

    @Test func aChainWrittenAgainFromItsFirstRecordIsRewritten() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await append(database, 10)
        let head = try await signedHead(database)
        try await dropGuards(database)
        try await database.write { db in try db.execute(sql: "DELETE FROM audit_log") }
        try await append(database, 12, actor: "someone-else")
        #expect(try await database.read { try AuditLog.verify($0) }.isIntact)
        #expect(try await check(database, head).status == .rewritten)
    }

    @Test func aHeadTheKeyDidNotSignIsRefused() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await append(database, 5)
        var head = try await signedHead(database)
        head.seq -= 2  // moved back to hide the last records
        #expect(try await check(database, head).status == .badSignature)
        let other = Curve25519.Signing.PrivateKey()
        head = try await signedHead(database)
        head.signature = try other.signature(for: head.statement).base64EncodedString()
        #expect(try await check(database, head).status == .badSignature)
    }

    @Test func theHeadFileIsReplacedWholeAndReadBack() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await append(database, 3)
        let path = directory.appendingPathComponent("heads/audit-head.json").path
        #expect(try AuditHead.read(path: path) == nil)
        let first = try await signedHead(database)
        try AuditHead.write(first, path: path)
        try await append(database, 2)
        let second = try await signedHead(database)
        try AuditHead.write(second, path: path)
        #expect(try AuditHead.read(path: path) == second)
        #expect(!FileManager.default.fileExists(atPath: path + ".new"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try Data("{\"seq\":".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: HubError.self) { try AuditHead.read(path: path) }
    }
}
