import Foundation
import GRDB
import HubCore
import HubStore
import Testing

func temporaryDatabase() throws -> (AppDatabase, URL) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-store-\(UUID().uuidString)")
    let database = try AppDatabase(path: directory.appendingPathComponent("hub.sqlite").path)
    try database.migrate()
    return (database, directory)
}

@Suite struct AuditLogTests {
    func fill(_ database: AppDatabase, count: Int) async throws {
        for i in 0..<count {
            _ = try await database.write { db in
                try AuditLog.append(
                    db,
                    AuditEvent(
                        actor: "prc_\(i % 3)", institutionId: "inst", action: "institution.update",
                        targetType: "institution", targetId: "t\(i)", remoteAddress: "127.0.0.1", requestId: "r\(i)"),
                    at: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + Int64(i)))
            }
        }
    }

    @Test func anIntactChainVerifies() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await fill(database, count: 25)
        let result = try await database.read { try AuditLog.verify($0) }
        #expect(result.isIntact)
        #expect(result.checked == 25)
    }

    @Test func theLogRefusesUpdatesAndDeletes() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await fill(database, count: 3)
        await #expect(throws: DatabaseError.self) {
            try await database.write { try $0.execute(sql: "UPDATE audit_log SET actor = 'x' WHERE seq = 2") }
        }
        await #expect(throws: DatabaseError.self) {
            try await database.write { try $0.execute(sql: "DELETE FROM audit_log WHERE seq = 2") }
        }
    }

    @Test(arguments: [
        "UPDATE audit_log SET actor = 'intruder' WHERE seq = 7", "DELETE FROM audit_log WHERE seq = 7",
        "UPDATE audit_log SET detail = 'changed' WHERE seq = 7",
    ])
    func tamperingIsFoundAtTheFirstBrokenRecord(_ tamper: String) async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await fill(database, count: 12)
        // An intruder with file access removes the guard triggers first.
        try await database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete")
            try db.execute(sql: tamper)
        }
        let result = try await database.read { try AuditLog.verify($0) }
        #expect(!result.isIntact)
        #expect(result.firstBroken == (tamper.hasPrefix("DELETE") ? 8 : 7))
        #expect(result.checked == 6)
    }

    @Test func recomputingOneHashStillBreaksTheNextLink() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await fill(database, count: 5)
        try await database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_update")
            try db.execute(
                sql: "UPDATE audit_log SET hash = ? WHERE seq = 3", arguments: [String(repeating: "a", count: 64)])
        }
        let result = try await database.read { try AuditLog.verify($0) }
        #expect(result.firstBroken == 3)
    }

    @Test func recordsFilterByActorAndPage() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await fill(database, count: 9)
        let first = try await database.read { try AuditLog.records($0, actor: "prc_1", after: nil, limit: 2) }
        #expect(first.items.map(\.targetId) == ["t1", "t4"])
        let second = try await database.read { try AuditLog.records($0, actor: "prc_1", after: first.next, limit: 2) }
        #expect(second.items.map(\.targetId) == ["t7"])
        #expect(second.next == nil)
    }
}

@Suite struct TokenStoreTests {
    @Test func secretsAreStoredOnlyAsDigests() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let now = Timestamp.now()
        let (record, secret) = try await database.write { db in
            try TokenStore.issue(
                db, practitionerId: nil, institutionId: nil, roles: [.admin, .admin], label: nil, createdBy: nil,
                lifetimeDays: nil, now: now)
        }
        #expect(record.roles == [.admin])
        let stored = try await database.read { db in try String.fetchOne(db, sql: "SELECT digest FROM tokens") }
        #expect(stored == TokenStore.digest(secret))
        let raw =
            try Data(contentsOf: directory.appendingPathComponent("hub.sqlite"))
            + ((try? Data(contentsOf: directory.appendingPathComponent("hub.sqlite-wal"))) ?? Data())
        #expect(raw.range(of: Data(secret.utf8)) == nil, "the secret must not appear in the database files")
        let principal = try await database.read { try TokenStore.resolve($0, secret: secret) }
        #expect(principal?.roles == [.admin])
        try await database.write { try TokenStore.revoke($0, id: record.id, now: now) }
        #expect(try await database.read { try TokenStore.resolve($0, secret: secret) } == nil)
    }

    @Test func secretsAreRandomAndWellFormed() {
        let secrets = (0..<200).map { _ in TokenStore.newSecret() }
        #expect(Set(secrets).count == 200)
        #expect(secrets.allSatisfy { $0.hasPrefix("hub_") && $0.count == 47 })
    }
}

@Suite struct PrincipalCacheTests {
    let alice = Principal(tokenId: "tok_a", practitionerId: "prc_a", institutionId: "i", roles: [.reader])

    @Test func aLookupThatRacedWithAChangeIsNotCached() {
        let cache = PrincipalCache()
        let (missing, generation) = cache.lookup("d")
        #expect(missing == nil)
        cache.invalidate()  // a revocation commits while the lookup was reading the database
        cache.store(alice, for: "d", generation: generation)
        #expect(cache.lookup("d").0 == nil, "a principal read before the change must not be served after it")
        let (_, current) = cache.lookup("d")
        cache.store(alice, for: "d", generation: current)
        #expect(cache.lookup("d").0 == alice)
        cache.invalidate()
        #expect(cache.lookup("d").0 == nil)
    }

    @Test func entriesAgeOut() async throws {
        let cache = PrincipalCache(lifetime: .milliseconds(50))
        cache.store(alice, for: "d", generation: cache.lookup("d").generation)
        #expect(cache.lookup("d").0 == alice)
        try await Task.sleep(for: .milliseconds(80))
        #expect(cache.lookup("d").0 == nil)
    }
}

@Suite struct InstitutionCacheTests {
    static func institution(_ id: String, _ name: String, _ level: InstitutionLevel) -> Institution {
        let now = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
        return Institution(
            id: id, name: name, level: level, region: RegionCode("420115")!, alliances: ["a"], createdAt: now,
            updatedAt: now)
    }

    @Test func aCachedInstitutionIsReadOnceAndForgottenWhenAnInstitutionChanges() async throws {
        let (database, directory) = try temporaryDatabase()
        let storage = SQLiteStorage(database)
        defer { try? FileManager.default.removeItem(at: directory) }
        let hospital = Self.institution("hospital", "县医院", .secondary)
        try await database.write { try RegistryStore.insert($0, hospital) }
        #expect(try await storage.institution(id: "hospital")?.level == .secondary)
        var promoted = hospital
        promoted.level = .tertiary
        // Written behind the cache's back (no invalidation): the cached record is still served.
        try await database.write { [promoted] in try RegistryStore.update($0, promoted) }
        #expect(try await storage.institution(id: "hospital")?.level == .secondary)
        // A change made the way the API makes it clears the cache when it commits.
        var renamed = promoted
        renamed.name = "县人民医院"
        try await database.write { [renamed] db in
            try RegistryStore.update(db, renamed)
            database.invalidatePrincipals(after: db)
        }
        #expect(try await storage.institution(id: "hospital") == renamed)
        #expect(try await storage.institution(id: "nowhere") == nil)
    }

    @Test func aRecordReadBeforeAChangeIsNotCachedAfterIt() async throws {
        let (database, directory) = try temporaryDatabase()
        let storage = SQLiteStorage(database)
        defer { try? FileManager.default.removeItem(at: directory) }
        var clinic = Self.institution("clinic", "卫生院", .primary)
        try await database.write { [clinic] in try RegistryStore.insert($0, clinic) }
        // A read whose snapshot began before a change commits: it sees the old record and must not cache it.
        let before = database.institutions.generation
        clinic.status = .suspended
        try await database.write { [clinic] db in
            try RegistryStore.update(db, clinic)
            database.invalidatePrincipals(after: db)
        }
        let stale = try await database.read { try database.institution($0, id: "clinic", generation: before) }
        #expect(stale == clinic, "this read began after the commit, so it sees the change")
        #expect(database.institutions.lookup("clinic").0 == nil, "read under an older generation: not cached")
        #expect(try await storage.institution(id: "clinic")?.status == .suspended)
        // Reads on the writer may see uncommitted rows of other writes: they are never cached.
        _ = try await database.write { try database.institution($0, id: "other", generation: 0) }
        clinic.name = "中心卫生院"
        try await database.write { [clinic] db in
            try RegistryStore.update(db, clinic)
            database.invalidatePrincipals(after: db)
            _ = try database.institution(db, id: "clinic", generation: database.institutions.generation)
        }
        #expect(try await storage.institution(id: "clinic")?.name == "中心卫生院")
    }
}
