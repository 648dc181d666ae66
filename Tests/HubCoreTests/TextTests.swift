import HubCore
import Testing

@Suite struct TextTests {
    @Test(arguments: [
        ("  Bearer  ", "Bearer"), ("\t\r\napplication/json \r\n", "application/json"), ("", ""), (" \t ", ""),
        ("a b", "a b"), ("  患者 ", "患者"), ("\u{00A0}x\u{00A0}", "\u{00A0}x\u{00A0}"),
    ])
    func asciiWhitespaceIsTrimmedAtBothEndsOnly(_ text: String, _ expected: String) {
        #expect(text.trimmingASCIIWhitespace() == expected)
        // The same on a slice of a longer string: indices stay those of the base.
        let embedded = "«" + text + "»"
        let slice = embedded.dropFirst().dropLast()
        #expect(slice.trimmingASCIIWhitespace() == expected)
    }
}
