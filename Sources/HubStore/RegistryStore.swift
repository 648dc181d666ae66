import Foundation
import GRDB
import HubCore

/// Institutions, practitioners and centers.
public enum RegistryStore {
    // MARK: Institutions

    public static func insert(_ db: Database, _ institution: Institution) throws {
        if try Documents.exists(db, "institutions", id: institution.id) {
            throw HubError.conflict("institution '\(institution.id)' already exists", field: "id")
        }
        try db.execute(
            sql: "INSERT INTO institutions (id, level, region, status, body) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                institution.id, institution.level.rawValue, institution.region.value, institution.status.rawValue,
                try HubJSON.encodeString(institution),
            ])
    }

    public static func update(_ db: Database, _ institution: Institution) throws {
        try db.execute(
            sql: "UPDATE institutions SET level = ?, region = ?, status = ?, body = ? WHERE id = ?",
            arguments: [
                institution.level.rawValue, institution.region.value, institution.status.rawValue,
                try HubJSON.encodeString(institution), institution.id,
            ])
    }

    public static func institution(_ db: Database, id: String) throws -> Institution? {
        try Documents.fetch(db, "institutions", id: id)
    }

    /// Filters are optional; `alliance` matches any institution that belongs to it.
    public static func institutions(
        _ db: Database, level: InstitutionLevel? = nil, region: String? = nil, alliance: String? = nil,
        status: RecordStatus? = nil, after cursor: String?, limit: Int
    ) throws -> Page<Institution> {
        var filter = SQLFilter()
        filter.add("level = ?", level?.rawValue)
        // A prefix of the division code selects a province ("42") or a city ("4201").
        filter.add("region LIKE ?", region.map { $0 + "%" })
        filter.add("EXISTS (SELECT 1 FROM json_each(body, '$.alliances') WHERE value = ?)", alliance)
        filter.add("status = ?", status?.rawValue)
        return try Documents.page(db, "institutions", filter, after: cursor, limit: limit, id: \.id)
    }

    // MARK: Practitioners

    public static func insert(_ db: Database, _ practitioner: Practitioner) throws {
        try db.execute(
            sql: "INSERT INTO practitioners (id, institution_id, status, body) VALUES (?, ?, ?, ?)",
            arguments: [
                practitioner.id, practitioner.institutionId, practitioner.status.rawValue,
                try HubJSON.encodeString(practitioner),
            ])
    }

    public static func update(_ db: Database, _ practitioner: Practitioner) throws {
        try db.execute(
            sql: "UPDATE practitioners SET status = ?, body = ? WHERE id = ?",
            arguments: [practitioner.status.rawValue, try HubJSON.encodeString(practitioner), practitioner.id])
    }

    public static func practitioner(_ db: Database, id: String) throws -> Practitioner? {
        try Documents.fetch(db, "practitioners", id: id)
    }

    public static func practitioners(
        _ db: Database, institutionId: String, after cursor: String?, limit: Int
    ) throws
        -> Page<Practitioner>
    {
        var filter = SQLFilter()
        filter.add("institution_id = ?", institutionId)
        return try Documents.page(db, "practitioners", filter, after: cursor, limit: limit, id: \.id)
    }

    // MARK: Centers

    public static func insert(_ db: Database, _ center: Center) throws {
        if try Documents.exists(db, "centers", id: center.id) {
            throw HubError.conflict("center '\(center.id)' already exists", field: "id")
        }
        try db.execute(
            sql: "INSERT INTO centers (id, institution_id, kind, status, body) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                center.id, center.institutionId, center.kind.rawValue, center.status.rawValue,
                try HubJSON.encodeString(center),
            ])
        try writeItems(db, center)
    }

    public static func update(_ db: Database, _ center: Center) throws {
        try db.execute(
            sql: "UPDATE centers SET status = ?, body = ? WHERE id = ?",
            arguments: [center.status.rawValue, try HubJSON.encodeString(center), center.id])
        try db.execute(sql: "DELETE FROM center_items WHERE center_id = ?", arguments: [center.id])
        try writeItems(db, center)
    }

    private static func writeItems(_ db: Database, _ center: Center) throws {
        let statement = try db.cachedStatement(sql: "INSERT INTO center_items (center_id, item_code) VALUES (?, ?)")
        for code in center.items {
            try statement.execute(arguments: [center.id, code])
        }
    }

    public static func center(_ db: Database, id: String) throws -> Center? {
        try Documents.fetch(db, "centers", id: id)
    }

    public static func centers(
        _ db: Database, kind: CenterKind? = nil, item: String? = nil, institutionId: String? = nil,
        status: RecordStatus? = nil, after cursor: String?, limit: Int
    ) throws -> Page<Center> {
        var filter = SQLFilter()
        filter.add("kind = ?", kind?.rawValue)
        filter.add("id IN (SELECT center_id FROM center_items WHERE item_code = ?)", item)
        filter.add("institution_id = ?", institutionId)
        filter.add("status = ?", status?.rawValue)
        return try Documents.page(db, "centers", filter, after: cursor, limit: limit, id: \.id)
    }
}
