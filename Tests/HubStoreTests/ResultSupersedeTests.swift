import Foundation
import GRDB
import HubCore
import HubStorage
import HubStore
import TestSupport
import Testing

/// A new version of a result is filed as it says: under its patient's keys, its item and its time, not those of the
/// version it replaced.
@Suite struct ResultSupersedeTests {
    @Test func aNewVersionIsFiledUnderItsOwnKeysItemAndTime() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(state: 99)
        var record = try ResultDocumentTests.record(&random)
        record.itemCode = "K"
        record.reportStatus = .final
        record.reportVersion = 1
        var next = record
        next.itemCode = "NA"
        next.reportVersion = 2
        next.reportStatus = .corrected
        next.performedAt = record.performedAt.adding(milliseconds: 3_600_000)
        let now = Timestamp(millisecondsSinceEpoch: 1_780_000_000_000)
        try await database.write { [record, next] db in
            try ResultStore.insert(db, StorableResult(record, patientKeys: ["key-old", "key-both"]))
            try ResultStore.supersede(
                db, old: record, new: StorableResult(next, patientKeys: ["key-new", "key-both"]), now: now)
        }
        try await database.read { [next] db in
            #expect(try ResultStore.results(db, patientKeys: ["key-old"]).isEmpty)
            #expect(try ResultStore.results(db, patientKeys: ["key-new"]).map(\.id) == [next.id])
            #expect(try ResultStore.results(db, patientKeys: ["key-both"]) == [next])
            let row = try #require(
                try Row.fetchOne(
                    db, sql: "SELECT item_code, performed_at, report_status FROM results WHERE id = ?",
                    arguments: [next.id]))
            #expect(row["item_code"] as String == "NA")
            #expect(row["performed_at"] as Int64 == next.performedAt.millisecondsSinceEpoch)
            #expect(row["report_status"] as String == "corrected")
            let filed = try String.fetchAll(
                db, sql: "SELECT item_code FROM result_patients WHERE result_id = ?", arguments: [next.id])
            #expect(filed == ["NA", "NA"])
            #expect(try ResultStore.history(db, id: next.id).map(\.reportVersion) == [1])
        }
    }
}
