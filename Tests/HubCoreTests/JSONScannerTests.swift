import HubCore
import Testing

@Suite struct JSONScannerTests {
    /// Reads `{"a":{"a":1},"b":[{"a":2},{"a":3}],"c":4}` by hand; nil when the scanner refused it.
    func read(_ text: String) -> [Int]? {
        var text = text
        return text.withUTF8 { utf8 -> [Int]? in
            var json = JSONScanner(utf8)
            var values: [Int] = []
            do throws(JSONScanner.Mismatch) {
                try json.beginObject()
                var first = true
                while let key = try json.nextKey(&first) {
                    if key == "a" {
                        try json.beginObject()
                        var inner = true
                        while try json.nextKey(&inner) != nil { values.append(try json.int()) }
                    } else if key == "b" {
                        values += try json.array { json throws(JSONScanner.Mismatch) in
                            try json.beginObject()
                            var inner = true
                            var value = 0
                            while try json.nextKey(&inner) != nil { value = try json.int() }
                            return value
                        }
                    } else {
                        values.append(try json.int())
                    }
                }
                try json.end()
                return values
            } catch {
                return nil
            }
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
