import Foundation
import HubCore
import HubStore
import TestSupport
import Testing

/// The result document the hub's own encoder writes against `JSONEncoder`'s: the same bytes for every shape a record
/// can take, so stored documents do not depend on which of the two wrote them.
@Suite struct ResultDocumentTests {
    /// Text that exercises every escape: controls, quotes, backslashes, slashes, DEL, line separators, CJK, emoji.
    static let pieces = [
        "胸部CT平扫", "a", "\"", "\\", "/", "\u{0}", "\u{1F}", "\u{7F}", "\n", "\r\n", "\t", "\u{8}", "\u{C}",
        "\u{2028}", "😀", "é", "Ω", " ", "0", "}", "{", ",", ":", "[",
    ]

    static func text(_ random: inout SplitMix64) -> String {
        (0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    static func maybe<T>(_ random: inout SplitMix64, _ make: (inout SplitMix64) -> T) -> T? {
        Bool.random(using: &random) ? make(&random) : nil
    }

    static func labValue(_ random: inout SplitMix64) throws -> LabValue {
        var object: [String: Any] = ["value": text(&random)]
        for key in ["code", "loinc", "unit", "reference_range", "flag"] where Bool.random(using: &random) {
            object[key] = text(&random)
        }
        return try JSONDecoder().decode(LabValue.self, from: JSONSerialization.data(withJSONObject: object))
    }

    static func record(_ random: inout SplitMix64) throws -> ResultRecord {
        let day = { (random: inout SplitMix64) in
            CivilDate(daysSinceEpoch: Int.random(in: -20_000...40_000, using: &random))
        }
        let qualification = maybe(&random) { random in
            Qualification(
                type: QualificationType.allCases.randomElement(using: &random)!,
                items: (0..<Int.random(in: 0...3, using: &random)).map { _ in text(&random) }, validFrom: day(&random),
                validTo: day(&random), issuer: text(&random), certificate: maybe(&random, text))
        }
        let patient = Patient(
            identifiers: (0..<Int.random(in: 1...3, using: &random)).map { _ in
                PatientIdentifier(system: text(&random), value: text(&random))
            }, name: maybe(&random, text), sex: maybe(&random) { Sex.allCases.randomElement(using: &$0)! },
            birthDate: maybe(&random, day))
        return ResultRecord(
            id: text(&random), patient: patient, itemCode: text(&random), itemName: maybe(&random, text),
            category: maybe(&random) { ItemCategory.allCases.randomElement(using: &$0)! },
            institutionId: text(&random), centerId: maybe(&random, text), examId: maybe(&random, text),
            performedAt: Timestamp(
                millisecondsSinceEpoch: Int64.random(in: -1_000_000_000_000...4_000_000_000_000, using: &random)),
            reportStatus: ReportStatus.allCases.randomElement(using: &random)!,
            reportVersion: Int.random(in: Int.min...Int.max, using: &random), findings: maybe(&random, text),
            conclusion: maybe(&random, text),
            values: try (0..<Int.random(in: 0...3, using: &random)).map { _ in try labValue(&random) },
            attachments: (0..<Int.random(in: 0...2, using: &random)).map { _ in text(&random) },
            recognition: RecognitionMetadata(
                catalogVersion: maybe(&random, text), inCatalog: Bool.random(using: &random),
                scope: maybe(&random) { RecognitionScope.allCases.randomElement(using: &$0)! },
                mark: maybe(&random, text),
                validityDays: maybe(&random) { Int.random(in: -5...400, using: &$0) }, qualification: qualification,
                region: maybe(&random, text),
                alliances: (0..<Int.random(in: 0...3, using: &random)).map { _ in text(&random) }),
            createdAt: Timestamp(millisecondsSinceEpoch: Int64.random(in: 0...4_000_000_000_000, using: &random)))
    }

    @Test(arguments: 0..<8)
    func theDocumentIsJSONEncodersToTheByte(seed: UInt64) throws {
        var random = SplitMix64(state: seed)
        for _ in 0..<250 {
            let record = try Self.record(&random)
            let written = record.jsonDocument
            #expect(written == String(decoding: try HubJSON.encoder().encode(record), as: UTF8.self), "seed \(seed)")
            #expect(try HubJSON.decoder().decode(ResultRecord.self, from: Data(written.utf8)) == record)
        }
    }

    @Test func aStoredResultReadsBackAsRegistered() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(state: 99)
        var record = try Self.record(&random)
        record.id = "res_document"
        try await database.write { [record] db in
            try ResultStore.insert(db, record, patientKeys: ["key-1"])
        }
        let stored = try await database.read { try ResultStore.result($0, id: "res_document") }
        #expect(stored == record)
    }
}
