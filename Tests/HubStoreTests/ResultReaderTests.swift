import Foundation
import HubCore
import HubStore
import TestSupport
import Testing

/// The hub's own reader of stored results against `JSONDecoder`: the same record from every document, whoever wrote it
/// and however it is laid out, and never a record from a document that is not one.
@Suite struct ResultReaderTests {
    typealias Make = ResultDocumentTests

    /// The hub's own reader alone, without the fallback.
    func scanned(_ text: String) -> ResultRecord? { ResultRecord(jsonDocument: text) }

    @Test(arguments: 0..<6)
    func everyStoredShapeReadsBackEqual(seed: UInt64) throws {
        var random = SplitMix64(state: 7_000 + seed)
        for _ in 0..<200 {
            let record = try Make.record(&random)
            let stored = record.jsonDocument
            #expect(scanned(stored) == record, "seed \(seed)")
            // Another writer's layout: other key order, indentation, escaped slashes and non-ASCII as \u escapes.
            let object = try JSONSerialization.jsonObject(with: Data(stored.utf8))
            let pretty = String(
                decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]), as: UTF8.self)
            #expect(scanned(pretty) == record, "seed \(seed)")
            let escaped = pretty.unicodeScalars.map { $0.isASCII ? String($0) : Self.escape($0) }.joined()
            #expect(scanned(escaped) == record, "seed \(seed)")
            #expect(try ResultStore.decode(escaped) == record)
        }
    }

    /// `\uXXXX`, with a surrogate pair beyond the basic plane.
    static func escape(_ scalar: Unicode.Scalar) -> String {
        String(scalar).utf16.map { "\\u" + String(format: "%04X", $0) }.joined()
    }

    @Test func nullsReadAsJSONDecoderReadsThemAndUnknownMembersGoToIt() throws {
        var random = SplitMix64(state: 42)
        let record = try Make.record(&random)
        var object = try #require(
            JSONSerialization.jsonObject(with: Data(record.jsonDocument.utf8)) as? [String: Any])
        object["center_id"] = NSNull()
        var text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        let expected = try HubJSON.decoder().decode(ResultRecord.self, from: Data(text.utf8))
        #expect(scanned(text) == expected)
        #expect(expected.centerId == nil)
        // A member from another version of the hub: left to JSONDecoder, which ignores it.
        object["future_member"] = ["nested": [1, 2.5, true, NSNull(), "x"], "n": -3e-2]
        text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        #expect(scanned(text) == nil)
        #expect(try ResultStore.decode(text) == expected)
    }

    /// A key given twice: JSON parsers disagree on which value wins, so the reader leaves the document to JSONDecoder.
    @Test func aKeyGivenTwiceIsLeftToJSONDecoder() throws {
        var random = SplitMix64(state: 43)
        var record = try Make.record(&random)
        record.centerId = "ctr-imaging"
        let stored = record.jsonDocument
        for twice in [
            String(stored.dropLast()) + #","center_id":null}"#,
            String(stored.dropLast()) + #","center_id":"ctr-other"}"#,
            stored.replacingOccurrences(of: #""system":"#, with: #""system":"x","system":"#),
        ] {
            #expect(scanned(twice) == nil)
            #expect(
                try ResultStore.decode(twice)
                    == (try HubJSON.decoder().decode(ResultRecord.self, from: Data(twice.utf8))))
        }
    }

    @Test func aDocumentThatIsNotOneIsNeverRead() throws {
        var random = SplitMix64(state: 5)
        let stored = try Make.record(&random).jsonDocument
        // Every truncation, and a few corruptions: the reader refuses them all, as JSONDecoder does.
        for end in stride(from: 0, to: stored.utf8.count - 1, by: 7) {
            let cut = String(decoding: Array(stored.utf8.prefix(end)), as: UTF8.self)
            #expect(scanned(cut) == nil, "cut at \(end)")
        }
        for broken in [
            stored + "x", stored.replacingOccurrences(of: "\"report_version\":", with: "\"report_version\":01"),
            stored.replacingOccurrences(of: "\"report_status\":\"", with: "\"report_status\":\"no-such-"),
            stored.replacingOccurrences(of: ",", with: ",,"), "[" + stored + "]",
        ] {
            #expect(scanned(broken) == nil)
            #expect(throws: (any Error).self) { try ResultStore.decode(broken) }
        }
        // Malformed numbers in a member nobody reads: the reader refuses them; what JSONDecoder makes of them is
        // what the hub reads.
        for broken in [#","x":1.2.3}"#, #","x":-}"#, #","x":+1}"#].map({ String(stored.dropLast()) + $0 }) {
            #expect(scanned(broken) == nil)
            let decoded = try? HubJSON.decoder().decode(ResultRecord.self, from: Data(broken.utf8))
            #expect((try? ResultStore.decode(broken)) == decoded)
        }
    }
}
