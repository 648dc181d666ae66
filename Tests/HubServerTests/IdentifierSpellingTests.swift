import Crypto
import Foundation
import HubCore
import HubStore
import Testing

/// A resident ID is one patient however it is spelled: a result registered with a lower-case `x`, or stored by an
/// older hub under that spelling, is found by a check that writes `X`, and the other way round.
@Suite struct IdentifierSpellingAcrossTheHubTests {
    static let start = Timestamp(rfc3339: "2026-06-01T08:00:00+08:00")!
    /// Ends in the check character X.
    static let patient = residentID(sequence: "108")

    func candidates(_ hub: HubClient, _ setup: RecognitionSetup, patient: String) async throws -> [[String: Any]] {
        let check = try await hub.call(
            .post, "/v1/recognition/checks", token: setup.clinician, json: ["patient": patient, "item_code": "K"])
        try #require(check.status == 201, "\(check.text)")
        return try #require(check.json["candidates"] as? [[String: Any]])
    }

    @Test func aResultRegisteredWithALowerCaseXIsFoundByACheckWithUpperCase() async throws {
        try #require(Self.patient.hasSuffix("X"))
        let lower = Self.patient.lowercased()
        try await withHub(clock: { Self.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let reply = try await hub.call(
                .post, "/v1/results", token: setup.lab,
                json: RecognitionSetup.result(patient: lower, item: "K", performedAt: Self.start.adding(days: -2)))
            try #require(reply.status == 201, "\(reply.text)")
            let stored = try #require((reply.json["patient"] as? [String: Any])?["identifiers"] as? [[String: Any]])
            #expect(stored.first?["value"] as? String == Self.patient, "stored in its canonical spelling")

            for spelling in [Self.patient, lower, "cn-resident-id| \(lower) ", "４２０１０２１９８００１０１１０８Ｘ"] {
                let found = try await candidates(hub, setup, patient: spelling)
                #expect(found.count == 1, "checked as \(spelling)")
                #expect(found.first?["recognizable"] as? Bool == true)
            }
            let listed = try await hub.get("/v1/results?patient=\(lower)", token: setup.clinician)
            #expect(listed.status == 200, "\(listed.text)")
            #expect(listed.items.count == 1)
        }
    }

    @Test func resultsAndExamsStoredUnderAnOldSpellingAreRekeyedAtTheNextStart() async throws {
        let hub = try TestHub()
        defer { hub.remove() }
        let lower = Self.patient.lowercased()
        let (resultId, examId, clinic) = try await hub.run(clock: { Self.start }) { hub in
            let setup = try await RecognitionSetup.make(hub)
            let reply = try await hub.call(
                .post, "/v1/results", token: setup.lab,
                json: RecognitionSetup.result(
                    patient: Self.patient, item: "K", performedAt: Self.start.adding(days: -2)))
            try #require(reply.status == 201, "\(reply.text)")
            let alliance = try await Alliance.make(hub)
            let exam = try await hub.call(
                .post, "/v1/exams", token: alliance.clinicToken, json: Alliance.examBody(patientID: Self.patient))
            try #require(exam.status == 201, "\(exam.text)")
            return (try #require(reply["id"]), try #require(exam["id"]), alliance.clinicToken)
        }

        // The store as a hub before canonical identifiers left it: the document holds the spelling it was given and
        // the index the keyed hash of that spelling; the migration left the task to do.
        let secret = try #require(
            Data(
                base64Encoded: try String(contentsOfFile: hub.config.identifierKeyPath, encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)))
        let key = { (value: String) in
            Data(HMAC<SHA256>.authenticationCode(for: Data(value.utf8), using: SymmetricKey(data: secret)))
                .map { String(format: "%02x", $0) }.joined()
        }
        let (oldKey, newKey) = (key("cn-resident-id|\(lower)"), key("cn-resident-id|\(Self.patient)"))
        let database = try AppDatabase(path: hub.config.databasePath)
        try await database.write { db in
            try db.execute(
                sql: "UPDATE results SET body = replace(body, ?, ?) WHERE id = ?",
                arguments: [Self.patient, lower, resultId])
            try db.execute(
                sql: "UPDATE result_patients SET patient_key = ? WHERE result_id = ?", arguments: [oldKey, resultId])
            try db.execute(
                sql: "UPDATE exams SET body = replace(body, ?, ?) WHERE id = ?",
                arguments: [Self.patient, lower, examId])
            try db.execute(
                sql: "UPDATE exam_patients SET patient_key = ? WHERE exam_id = ? AND patient_key = ?",
                arguments: [oldKey, examId, newKey])
            try db.execute(
                sql: "INSERT INTO maintenance_tasks (name, created_at) VALUES (?, 0)", arguments: [PatientRekey.task])
        }
        let before = try await database.read { db in
            try String.fetchOne(db, sql: "SELECT body FROM results WHERE id = ?", arguments: [resultId])
        }
        #expect(before?.contains(lower) == true)
        try database.close()

        try await hub.run(clock: { Self.start }) { client in
            let clinician = try await client.practitioner(at: "wh-second", title: "attending", roles: ["clinician"]).1
            let check = try await client.call(
                .post, "/v1/recognition/checks", token: clinician, json: ["patient": Self.patient, "item_code": "K"])
            #expect(check.status == 201, "\(check.text)")
            #expect((check.json["candidates"] as? [[String: Any]])?.count == 1, "found after the rekey")
            let exams = try await client.get("/v1/exams?patient=\(Self.patient)", token: clinic)
            #expect(exams.status == 200, "\(exams.text)")
            #expect(exams.items.map { $0["id"] as? String } == [examId])
        }
        let reopened = try AppDatabase(path: hub.config.databasePath)
        defer { try? reopened.close() }
        let (body, keys, examBody, examKeys, pending) = try await reopened.read { db in
            (
                try String.fetchOne(db, sql: "SELECT body FROM results WHERE id = ?", arguments: [resultId]),
                try String.fetchAll(
                    db, sql: "SELECT patient_key FROM result_patients WHERE result_id = ?", arguments: [resultId]),
                try String.fetchOne(db, sql: "SELECT body FROM exams WHERE id = ?", arguments: [examId]),
                try String.fetchAll(
                    db, sql: "SELECT patient_key FROM exam_patients WHERE exam_id = ?", arguments: [examId]),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM maintenance_tasks") ?? -1
            )
        }
        #expect(body?.contains(Self.patient) == true && body?.contains(lower) == false, "the document is rewritten")
        #expect(keys == [newKey])
        #expect(examBody?.contains(Self.patient) == true && examBody?.contains(lower) == false)
        #expect(examKeys.contains(newKey) && !examKeys.contains(oldKey) && examKeys.count == 2)
        #expect(pending == 0, "the task is done once")
    }
}
