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

extension NDJSON {
    /// The lines of NDJSON that arrives in pieces: the same lines, with the same numbers, as `lines(in:)` finds in
    /// the whole text, while holding only the line that is still incomplete.
    public struct Splitter: Sendable {
        private var partial: [UInt8] = []
        private var number = 0

        public init() {}

        /// Appends to `lines` every line that `bytes` completes.
        public mutating func feed(_ bytes: UnsafeRawBufferPointer, into lines: inout [(number: Int, bytes: [UInt8])]) {
            var start = 0
            for index in 0..<bytes.count where bytes[index] == 0x0A {
                let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                if partial.isEmpty {
                    end(piece, into: &lines)
                } else {
                    partial.append(contentsOf: piece)
                    let line = partial
                    partial = []
                    line.withUnsafeBytes { end($0, into: &lines) }
                }
                start = index + 1
            }
            partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
        }

        /// Appends the last line, which no newline ends.
        public mutating func finish(into lines: inout [(number: Int, bytes: [UInt8])]) {
            let line = partial
            partial = []
            line.withUnsafeBytes { end($0, into: &lines) }
        }

        /// Bytes of the line still incomplete.
        public var pendingBytes: Int { partial.count }

        /// One line without its `\n`: a `\r` before it is left out, and a line of spaces and tabs only is counted
        /// but not kept.
        private mutating func end(_ line: UnsafeRawBufferPointer, into lines: inout [(number: Int, bytes: [UInt8])]) {
            number += 1
            var last = line.count
            if last > 0, line[last - 1] == 0x0D { last -= 1 }
            guard line[0..<last].contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
            lines.append((number, Array(line[0..<last])))
        }
    }
}
