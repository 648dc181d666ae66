import HubCore
import Testing

@Suite struct NDJSONTests {
    /// The lines of `text` fed to the splitter whole.
    func lines(_ text: String) -> [(Int, String)] {
        var splitter = NDJSON.Splitter()
        var found: [(number: Int, bytes: [UInt8])] = []
        Array(text.utf8).withUnsafeBytes { splitter.feed($0, into: &found) }
        splitter.finish(into: &found)
        return found.map { ($0.number, String(decoding: $0.bytes, as: UTF8.self)) }
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

    /// The splitter fed a text in pieces cut anywhere finds the lines, and numbers, that it finds in the text whole.
    @Test func piecesCutAnywhereGiveTheSameLines() {
        let texts = [
            "{\"a\":1}\r\n\n  \t\n{\"b\":\"中\"}\n\r\n{\"c\":3}", "{}\n", "", "\n\n \n", " x ", "\r \n{}",
            "a\r\r\nb\r", "\r", "x\n\r\n\r\r\ny",
        ]
        var seed: UInt64 = 2026
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        for text in texts {
            let expected = lines(text).map { "\($0.0):\($0.1)" }
            let bytes = Array(text.utf8)
            for _ in 0..<50 {
                var splitter = NDJSON.Splitter()
                var found: [(number: Int, bytes: [UInt8])] = []
                var start = 0
                while start < bytes.count {
                    let end = min(bytes.count, start + 1 + next(4))
                    bytes[start..<end].withUnsafeBytes { splitter.feed($0, into: &found) }
                    start = end
                }
                splitter.finish(into: &found)
                #expect(
                    found.map { "\($0.number):\(String(decoding: $0.bytes, as: UTF8.self))" } == expected, "\(text)")
            }
        }
    }
}
