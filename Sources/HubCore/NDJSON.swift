/// Newline-delimited JSON (`application/x-ndjson`, JSON Lines): one JSON value a line.
public enum NDJSON {
    /// The lines that hold something, with their numbers (from 1, counting every line): a `\r` just before the `\n` is
    /// left out, and lines of only spaces and tabs are skipped, but counted (a `\r` elsewhere is something).
    public static func lines(in bytes: UnsafeRawBufferPointer) -> [(number: Int, range: Range<Int>)] {
        var lines: [(number: Int, range: Range<Int>)] = []
        var number = 0
        var start = 0
        var blank = true
        func end(at index: Int) {
            number += 1
            var last = index
            if last > start, bytes[last - 1] == 0x0D { last -= 1 }
            if !blank { lines.append((number, start..<last)) }
        }
        for index in 0..<bytes.count {
            switch bytes[index] {
            case 0x0A:
                end(at: index)
                start = index + 1
                blank = true
            case 0x20, 0x09: break
            case 0x0D where index + 1 == bytes.count || bytes[index + 1] == 0x0A: break
            default: blank = false
            }
        }
        end(at: bytes.count)
        return lines
    }
}
