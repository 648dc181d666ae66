import Foundation
import HubConfig
import HubCore
import HubStorage
import Logging
import Yams

/// Start-up work that must finish before the hub answers requests: migrations, the starting catalog, and the
/// first admin token.
public enum FirstStart {
    public static func run(_ env: HubEnvironment) async throws {
        try await env.database.migrate()
        let rekeyed = try await env.database.rekeyPatientsIfPending(keys: env.patientKeys)
        if rekeyed.exams + rekeyed.results > 0 {
            env.logger.notice(
                "stored patient identifiers moved to their canonical spelling",
                metadata: ["hub.exams": "\(rekeyed.exams)", "hub.results": "\(rekeyed.results)"])
        }
        let backfill = try await PatientIndex.backfillIfPending(env)
        if backfill.ran {
            env.logger.notice(
                "stored exams and results linked in the patient index", metadata: ["hub.records": "\(backfill.records)"]
            )
        }
        let now = env.clock()
        try await seedCatalog(env, now: now)
        try await ensureAdminToken(env, now: now)
        try await savePeers(env, now: now)
        let purged = try await env.database.write { try $0.purgeAnswers(now: now) }
        if purged > 0 { env.logger.info("forgot expired idempotency keys", metadata: ["hub.count": "\(purged)"]) }
        let answers = try await env.database.write {
            try $0.forgetHL7Answers(before: now.adding(milliseconds: -HL7Inbound.answersKept))
        }
        if answers > 0 { env.logger.info("forgot old HL7 acknowledgements", metadata: ["hub.count": "\(answers)"]) }
    }

    /// Publishes every catalog file in `catalog.dir` (in name order) when the database has no catalog yet.
    static func seedCatalog(_ env: HubEnvironment, now: Timestamp) async throws {
        let existing = try await env.database.read { try env.catalog.versions($0) }
        guard existing.isEmpty else { return }
        let directory = env.config.catalogDir
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
            .sorted()
        guard !files.isEmpty else {
            env.logger.warning(
                "no recognition catalog found; publish one with POST /v1/catalog/versions",
                metadata: ["hub.catalog.dir": "\(directory)"])
            return
        }
        for file in files {
            let path = (directory as NSString).appendingPathComponent(file)
            let version = try loadCatalog(path: path)
            let info = try await env.database.write { db in
                let info = try env.catalog.publish(db, version, publishedBy: "bootstrap", now: now)
                try db.appendAudit(
                    AuditEvent(
                        actor: "system", institutionId: nil, action: "catalog.publish", targetType: "catalog_version",
                        targetId: info.version, detail: "items=\(info.itemCount) source=\(file)"), at: now)
                return info
            }
            env.logger.info(
                "published catalog version",
                metadata: ["hub.catalog.version": "\(info.version)", "hub.catalog.items": "\(info.itemCount)"])
        }
    }

    /// Adds or updates the peers listed in `federation.peers`; peers added through the API stay as they are.
    static func savePeers(_ env: HubEnvironment, now: Timestamp) async throws {
        guard !env.config.federationPeers.isEmpty else { return }
        let peers = try env.config.federationPeers.map { input in
            do {
                return try input.validated(
                    now: now, ownHubId: env.config.hubId, allowPlainHTTP: env.config.federationAllowPlainHTTP)
            } catch let error as HubError {
                throw HubConfiguration.Problem(
                    key: "federation.peers[\(input.id ?? "?")]", detail: error.fields.first?.detail ?? error.detail)
            }
        }
        try await env.database.write { db in
            for var peer in peers {
                if let existing = try db.peer(id: peer.id) {
                    // Unchanged since the last start: nothing to write or audit.
                    peer.createdAt = existing.createdAt
                    peer.updatedAt = existing.updatedAt
                    if peer == existing { continue }
                    peer.updatedAt = now
                }
                try db.save(peer)
                try db.appendAudit(
                    AuditEvent(
                        actor: "system", institutionId: nil, action: "peer.save", targetType: "peer", targetId: peer.id,
                        detail: "from federation.peers: \(peer.url)"), at: now)
            }
        }
    }

    /// Reads one catalog file (YAML or JSON); a broken file stops the start with a message naming it.
    static func loadCatalog(path: String) throws -> CatalogVersion {
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let version = try YAMLDecoder().decode(CatalogVersion.self, from: text)
            try version.validate()
            return version
        } catch let error as HubError {
            throw HubConfiguration.Problem(key: path, detail: error.detail)
        } catch {
            throw HubConfiguration.Problem(key: path, detail: "is not a valid catalog: \(error)")
        }
    }

    /// On a database with no live admin token, creates one and writes it to `<data-dir>/admin.token` (mode 0600). A
    /// file whose token was revoked or expired is removed first, so what the folder holds always works.
    ///
    /// The first-start admin token never expires: an operator who holds the host's files is never locked out by a
    /// date. It is replaced with `hubctl token rotate-admin`; and should no admin token be left live at a start (all
    /// revoked or expired), the start issues a new one.
    static func ensureAdminToken(_ env: HubEnvironment, now: Timestamp) async throws {
        let path = env.config.adminTokenPath
        if try await AdminTokenFile.removeIfStale(path: path, database: env.database, now: now) {
            env.logger.notice(
                "removed admin.token: its token was revoked or has expired",
                metadata: ["hub.admin_token.file": "\(path)"])
        }
        let issued = try await env.database.write { db -> Bool in
            guard try !db.hasActiveAdmin(now: now) else { return false }
            try AdminTokenFile.issue(db, path: path, actor: "system", detail: "first-start admin token", now: now)
            return true
        }
        if issued {
            env.logger.notice(
                "created the first admin token; read it from the file (it is not logged)",
                metadata: ["hub.admin_token.file": "\(path)"])
        }
    }
}
