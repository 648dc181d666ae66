import Foundation
import GRDB
import HubCore
import HubStorage

extension SQLiteTransaction: HL7Writes {
    public func hl7Application(id: String) throws -> HL7Application? {
        try Documents.fetch(db, "hl7_applications", id: id)
    }

    public func hl7Application(application: String, facility: String) throws -> HL7Application? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM hl7_applications WHERE application = ? AND facility = ?"),
            arguments: [application, facility]
        ).map { try HubJSON.decode(HL7Application.self, from: $0) }
    }

    public func hl7Applications(institutionId: String) throws -> [HL7Application] {
        try String.fetchAll(
            db, sql: "SELECT body FROM hl7_applications WHERE institution_id = ? ORDER BY id",
            arguments: [institutionId]
        ).map { try HubJSON.decode(HL7Application.self, from: $0) }
    }

    public func codeMap(institutionId: String) throws -> CodeMap? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT body FROM code_maps WHERE institution_id = ?"), arguments: [institutionId]
        ).map { try HubJSON.decode(CodeMap.self, from: $0) }
    }

    public func hl7Answer(applicationId: String, controlId: String) throws -> (answer: [UInt8], digest: String)? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT answer, digest FROM hl7_messages WHERE application_id = ? AND control_id = ?"),
            arguments: [applicationId, controlId]
        ).map { (Array($0["answer"] as Data), $0["digest"]) }
    }

    public func hl7Result(institutionId: String, order: String, itemCode: String) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT result_id FROM hl7_results WHERE institution_id = ? AND order_number = ? AND item_code = ?
                    """),
            arguments: [institutionId, order, itemCode])
    }

    public func insert(_ application: HL7Application) throws {
        try nameIsFree(application)
        try db.execute(
            sql:
                "INSERT INTO hl7_applications (id, institution_id, application, facility, body) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                application.id, application.institutionId, application.application, application.facility,
                try HubJSON.encodeString(application),
            ])
    }

    public func update(_ application: HL7Application) throws {
        try nameIsFree(application)
        try db.execute(
            sql: "UPDATE hl7_applications SET application = ?, facility = ?, body = ? WHERE id = ?",
            arguments: [
                application.application, application.facility, try HubJSON.encodeString(application), application.id,
            ])
    }

    public func deleteHL7Application(id: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM hl7_applications WHERE id = ?", arguments: [id])
        return db.changesCount == 1
    }

    public func save(_ map: CodeMap) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO code_maps (institution_id, body) VALUES (?, ?)",
            arguments: [map.institutionId, try HubJSON.encodeString(map)])
    }

    public func saveHL7Answer(
        applicationId: String, controlId: String, digest: String, answer: [UInt8], at time: Timestamp
    ) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO hl7_messages (application_id, control_id, received_at, answer, digest) VALUES (?, ?, ?, ?, ?)
                """
        ).execute(arguments: [applicationId, controlId, time.millisecondsSinceEpoch, Data(answer), digest])
    }

    public func forgetHL7Answers(before time: Timestamp) throws -> Int {
        try db.execute(sql: "DELETE FROM hl7_messages WHERE received_at < ?", arguments: [time.millisecondsSinceEpoch])
        return db.changesCount
    }

    public func saveHL7Result(institutionId: String, order: String, itemCode: String, resultId: String) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO hl7_results (institution_id, order_number, item_code, result_id)
                VALUES (?, ?, ?, ?)
                """
        ).execute(arguments: [institutionId, order, itemCode, resultId])
    }

    /// A conflict when another application has `application`'s sending application and facility: a message is known
    /// by them.
    private func nameIsFree(_ application: HL7Application) throws {
        if let other = try String.fetchOne(
            db,
            sql: "SELECT id FROM hl7_applications WHERE application = ? AND facility = ? AND id <> ?",
            arguments: [application.application, application.facility, application.id])
        {
            throw HubError.conflict(
                "application '\(application.application)' of facility '\(application.facility)' is taken by HL7 application \(other)",
                field: "application")
        }
    }
}
