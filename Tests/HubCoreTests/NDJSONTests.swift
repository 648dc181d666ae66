import HubCore
import Testing

@Suite struct NDJSONTests {
    func lines(_ text: String) -> [(Int, String)] {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            NDJSON.lines(in: raw).map { ($0.number, String(decoding: bytes[$0.range], as: UTF8.self)) }
        }
    }

    @Test func linesAreNumberedAsTheClientCountsThem() {
        let found = lines("{\"a\":1}\r\n\n  \t\n{\"b\":\"中\"}\n\r\n{\"c\":3}")
        #expect(found.map(\.0) == [1, 4, 6])
        #expect(found.map(\.1) == ["{\"a\":1}", "{\"b\":\"中\"}", "{\"c\":3}"])
    }

    @Test func aFinalNewlineAddsNoLineAndEmptyInputHasNone() {
        #expect(lines("{}\n").map(\.0) == [1])
        #expect(lines("").isEmpty)
        #expect(lines("\n\n \n").isEmpty)
        #expect(lines(" x ").map(\.1) == [" x "], "a line's own spaces are the JSON decoder's to judge")
        #expect(lines("\r \n{}").map(\.0) == [1, 2], "a carriage return inside a line is not blank")
        #expect(lines("\r \n{}").first?.1 == "\r ")
    }
}
