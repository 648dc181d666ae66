import Foundation
import HubCore
import HubStore
import TestSupport
import Testing

/// The check document the hub's own encoder writes against `JSONEncoder`'s: the same bytes for every shape a check
/// can take.
@Suite struct RecognitionCheckDocumentTests {
    typealias Make = ResultDocumentTests

    static func timestamp(_ random: inout SplitMix64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64.random(in: 0...4_000_000_000_000, using: &random))
    }

    static func candidate(_ random: inout SplitMix64) -> RecognitionCandidate {
        RecognitionCandidate(
            resultId: Make.text(&random), hubId: Make.text(&random), institutionId: Make.text(&random),
            itemCode: Make.text(&random),
            category: Make.maybe(&random) { ItemCategory.allCases.randomElement(using: &$0)! },
            performedAt: timestamp(&random), reportStatus: ReportStatus.allCases.randomElement(using: &random)!,
            recognizable: Bool.random(using: &random),
            reasons: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                RecognitionReason(
                    code: RecognitionReasonCode.allCases.randomElement(using: &random)!, detail: Make.text(&random),
                    ageDays: Make.maybe(&random) { Int.random(in: 0...9999, using: &$0) },
                    validityDays: Make.maybe(&random) { Int.random(in: 0...999, using: &$0) })
            }, expiresAt: Make.maybe(&random, timestamp), mark: Make.maybe(&random, Make.text),
            scope: Make.maybe(&random) { RecognitionScope.allCases.randomElement(using: &$0)! },
            // Whole yuan, tenths, cents, and amounts up to the catalog's largest.
            price: Make.maybe(&random) { random in
                Money(
                    fen: [0, 1, 10, 100, 1250, 1205, 9999, 123_456_789_00].randomElement(using: &random)!
                        + Int64.random(in: 0...2, using: &random) * Int64.random(in: 0...1_000_000, using: &random))
            })
    }

    static func check(_ random: inout SplitMix64) -> RecognitionCheck {
        RecognitionCheck(
            id: Make.text(&random), institutionId: Make.text(&random), practitionerId: Make.maybe(&random, Make.text),
            department: Make.maybe(&random, Make.text),
            patient: PatientIdentifier(system: Make.text(&random), value: Make.text(&random)),
            itemCode: Make.text(&random), requestedCode: Make.text(&random), emergency: Bool.random(using: &random),
            catalogVersion: Make.maybe(&random, Make.text),
            candidates: (0..<Int.random(in: 0...4, using: &random)).map { _ in candidate(&random) },
            peers: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                PeerOutcome(
                    hubId: Make.text(&random), status: PeerCallStatus.allCases.randomElement(using: &random)!,
                    latencyMs: Make.maybe(&random) { Int.random(in: 0...60_000, using: &$0) },
                    results: Make.maybe(&random) { Int.random(in: 0...500, using: &$0) },
                    detail: Make.maybe(&random, Make.text), via: Make.maybe(&random, Make.text))
            }, createdAt: timestamp(&random))
    }

    @Test(arguments: 0..<8)
    func theDocumentIsJSONEncodersToTheByte(seed: UInt64) throws {
        var random = SplitMix64(state: 1_000 + seed)
        for _ in 0..<250 {
            let check = Self.check(&random)
            let written = check.jsonBytes
            #expect(written == Array(try HubJSON.encoder().encode(check)), "seed \(seed)")
            #expect(try HubJSON.decoder().decode(RecognitionCheck.self, from: Data(written)) == check)
        }
    }
}
