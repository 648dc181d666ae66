import Foundation
import GRDB
import HubCore
import HubStorage

extension SQLiteTransaction: PatientIndexWrites {
    public func persons(ofKeys keys: [String]) throws -> [String: String] {
        guard !keys.isEmpty else { return [:] }
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT patient_key, person_id FROM person_identifiers WHERE patient_key IN (\(SQLFilter.marks(keys.count)))"
            ),
            arguments: StatementArguments(keys))
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["patient_key"], $0["person_id"]) })
    }

    public func linkedMembers(ofKeys keys: [String]) throws -> [(key: String, personId: String, system: String)] {
        guard !keys.isEmpty else { return [] }
        return try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT patient_key, person_id, system FROM person_identifiers WHERE person_id IN (
                        SELECT person_id FROM person_identifiers WHERE patient_key IN (\(SQLFilter.marks(keys.count))))
                    """),
            arguments: StatementArguments(keys)
        ).map { ($0["patient_key"], $0["person_id"], $0["system"]) }
    }

    public func personMembers(id: String) throws -> [(key: String, identifier: LinkedIdentifier)] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT patient_key, system, value, linked_at, source FROM person_identifiers
                    WHERE person_id = ? ORDER BY linked_at, system, value
                    """),
            arguments: [id]
        ).map { row in
            let identifier = PatientIdentifier(system: row["system"], value: row["value"])
            return (
                row["patient_key"],
                LinkedIdentifier(
                    identifier, linkedAt: Timestamp(millisecondsSinceEpoch: row["linked_at"]), source: row["source"])
            )
        }
    }

    public func persons(demographicKey: String) throws -> [String] {
        try String.fetchAll(
            db.cachedStatement(sql: "SELECT person_id FROM person_demographics WHERE demographic_key = ? LIMIT 50"),
            arguments: [demographicKey])
    }

    public func anySeparation(among keys: [String]) throws -> Bool {
        guard keys.count > 1 else { return false }
        let marks = SQLFilter.marks(keys.count)
        return try Bool.fetchOne(
            db,
            sql: "SELECT EXISTS(SELECT 1 FROM person_separations WHERE key_a IN (\(marks)) AND key_b IN (\(marks)))",
            arguments: StatementArguments(keys + keys)) ?? false
    }

    public func personReview(id: String) throws -> PersonReview? {
        try Documents.fetch(db, "person_reviews", id: id)
    }

    public func openPersonReview(kind: PersonReview.Kind, personIds: [String]) throws -> PersonReview? {
        let pair = personIds.sorted()
        guard pair.count == 2 else { return nil }
        return try String.fetchOne(
            db,
            sql: """
                SELECT body FROM person_reviews WHERE person_a = ? AND person_b = ? AND kind = ? AND status = 'open'
                """,
            arguments: [pair[0], pair[1], kind.rawValue]
        ).map { try HubJSON.decode(PersonReview.self, from: $0) }
    }

    public func personsKeptApart(_ personIds: [String]) throws -> Bool {
        let pair = personIds.sorted()
        guard pair.count == 2 else { return false }
        return try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS(SELECT 1 FROM person_reviews
                    WHERE person_a = ? AND person_b = ? AND status = 'separate')
                """,
            arguments: [pair[0], pair[1]]) ?? false
    }

    public func personReviews(
        status: PersonReview.Status?, after cursor: String?, limit: Int
    ) throws -> Page<PersonReview> {
        var filter = SQLFilter()
        filter.add("status = ?", status?.rawValue)
        return try Documents.page(db, "person_reviews", filter, after: cursor, limit: limit, id: \.id)
    }

    public func maintenanceTaskIsPending(_ name: String) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS(SELECT 1 FROM maintenance_tasks WHERE name = ?)", arguments: [name]) ?? false
    }

    public func storedPatients(
        of kind: PatientIndexBackfill.Records, after: String, limit: Int
    ) throws -> [(id: String, patient: Patient)] {
        switch kind {
        case .result:
            return try Row.fetchAll(
                db, sql: "SELECT id, body FROM results WHERE id > ? ORDER BY id LIMIT ?", arguments: [after, limit]
            ).map { ($0["id"], try ResultStore.decode($0["body"]).patient) }
        case .exam:
            return try Row.fetchAll(
                db, sql: "SELECT id, body FROM exams WHERE id > ? ORDER BY id LIMIT ?", arguments: [after, limit]
            ).map { ($0["id"], try HubJSON.decode(Exam.self, from: $0["body"] as String).patient) }
        }
    }

    public func link(key: String, _ identifier: LinkedIdentifier, personId: String) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO person_identifiers (patient_key, person_id, system, value, linked_at, source)
                VALUES (?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            key, personId, identifier.system, identifier.value, identifier.linkedAt.millisecondsSinceEpoch,
            identifier.source,
        ])
    }

    public func mergePerson(_ from: String, into to: String) throws {
        try db.execute(sql: "UPDATE person_identifiers SET person_id = ? WHERE person_id = ?", arguments: [to, from])
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO person_demographics (demographic_key, person_id)
                    SELECT demographic_key, ? FROM person_demographics WHERE person_id = ?;
                DELETE FROM person_demographics WHERE person_id = ?;
                """,
            arguments: [to, from, from])
        // Open questions about the merged person are now about the one it joined; one about the two is answered.
        let open = try String.fetchAll(
            db, sql: "SELECT body FROM person_reviews WHERE status = 'open' AND (person_a = ? OR person_b = ?)",
            arguments: [from, from]
        ).map { try HubJSON.decode(PersonReview.self, from: $0) }
        for var review in open {
            let persons = Set(review.personIds.map { $0 == from ? to : $0 }).sorted()
            if persons.count < 2 {
                review.status = .merged
            } else {
                review.personIds = persons
            }
            let pair = review.personIds.sorted()
            try db.execute(
                sql: "UPDATE person_reviews SET person_a = ?, person_b = ?, status = ?, body = ? WHERE id = ?",
                arguments: [pair.first, pair.last, review.status.rawValue, try HubJSON.encodeString(review), review.id])
        }
    }

    public func relink(key: String, personId: String, at time: Timestamp, source: String) throws {
        try db.execute(
            sql: "UPDATE person_identifiers SET person_id = ?, linked_at = ?, source = ? WHERE patient_key = ?",
            arguments: [personId, time.millisecondsSinceEpoch, source, key])
    }

    public func addDemographicKey(_ key: String, personId: String) throws {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO person_demographics (demographic_key, person_id) VALUES (?, ?)"
        ).execute(arguments: [key, personId])
    }

    public func separate(_ keys: [String], from others: [String]) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO person_separations (key_a, key_b) VALUES (?, ?)")
        for key in keys {
            for other in others where other != key {
                // Both orders, so a lookup needs no OR.
                try statement.execute(arguments: [key, other])
                try statement.execute(arguments: [other, key])
            }
        }
    }

    public func clearSeparations(among keys: [String]) throws {
        guard keys.count > 1 else { return }
        let marks = SQLFilter.marks(keys.count)
        try db.execute(
            sql: "DELETE FROM person_separations WHERE key_a IN (\(marks)) AND key_b IN (\(marks))",
            arguments: StatementArguments(keys + keys))
    }

    public func insert(_ review: PersonReview) throws {
        let pair = review.personIds.sorted()
        try db.execute(
            sql: """
                INSERT INTO person_reviews (id, kind, status, person_a, person_b, body) VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                review.id, review.kind.rawValue, review.status.rawValue, pair.first, pair.last,
                try HubJSON.encodeString(review),
            ])
    }

    public func update(_ review: PersonReview) throws {
        try db.execute(
            sql: "UPDATE person_reviews SET status = ?, body = ? WHERE id = ?",
            arguments: [review.status.rawValue, try HubJSON.encodeString(review), review.id])
    }

    public func finishMaintenanceTask(_ name: String) throws {
        try db.execute(sql: "DELETE FROM maintenance_tasks WHERE name = ?", arguments: [name])
    }
}
