import HubCore
import Testing

@Suite struct JSONScannerTests {
    /// Reads `{"a":{"a":1},"b":[{"a":2},{"a":3}],"c":4}` by hand; nil when the scanner refused it.
    func read(_ text: String) -> [Int]? {
        JSONScanner.read(text) { json throws(JSONScanner.Mismatch) in
            var values: [Int] = []
            try json.object { key, json throws(JSONScanner.Mismatch) in
                if key == "a" {
                    try json.object { _, json throws(JSONScanner.Mismatch) in values.append(try json.int()) }
                } else if key == "b" {
                    values += try json.array { json throws(JSONScanner.Mismatch) in
                        var value = 0
                        try json.object { _, json throws(JSONScanner.Mismatch) in value = try json.int() }
                        return value
                    }
                } else {
                    values.append(try json.int())
                }
            }
            return values
        }
    }

    @Test func oneKeyInAParentItsChildAndSiblingObjectsIsNoRepeat() {
        #expect(read(#"{"a":{"a":1},"b":[{"a":2},{"a":3}],"c":4}"#) == [1, 2, 3, 4])
        // After a child object closes, its keys no longer count against the parent's, and the parent's still do.
        #expect(read(#"{"a":{"c":1},"c":4}"#) == [1, 4])
        #expect(read(#"{"c":4,"a":{"a":1},"c":5}"#) == nil)
        #expect(read(#"{"a":{"a":1,"a":2}}"#) == nil)
    }
}
