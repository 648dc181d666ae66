import HubCore
import Testing

@Suite struct StrictJSONDecoderTests {
    /// Objects nested in an object and in an array of it, read through their Codable conformances.
    struct Document: Decodable {
        var a: [String: Int]?
        var b: [[String: Int]]?
        var c: Int?
    }

    /// Reads `{"a":{"a":1},"b":[{"a":2},{"a":3}],"c":4}` through `Document`; nil when the decoder refused it.
    func read(_ text: String) -> [Int]? {
        guard let document = StrictJSONDecoder().decode(Document.self, from: text) else { return nil }
        return (document.a.map { Array($0.values) } ?? []) + (document.b ?? []).flatMap(\.values)
            + (document.c.map { [$0] } ?? [])
    }

    @Test func oneKeyInAParentItsChildAndSiblingObjectsIsNoRepeat() {
        #expect(read(#"{"a":{"a":1},"b":[{"a":2},{"a":3}],"c":4}"#) == [1, 2, 3, 4])
        // After a child object closes, its keys no longer count against the parent's, and the parent's still do.
        #expect(read(#"{"a":{"c":1},"c":4}"#) == [1, 4])
        #expect(read(#"{"c":4,"a":{"a":1},"c":5}"#) == nil)
        #expect(read(#"{"a":{"a":1,"a":2}}"#) == nil)
    }
}
