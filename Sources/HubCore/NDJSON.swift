/// Newline-delimited JSON (`application/x-ndjson`, JSON Lines): one JSON value a line.
public enum NDJSON {
    /// The lines of NDJSON that arrives in pieces, holding only the line that is still incomplete. Lines are numbered
    /// from 1, counting every line, as the client counts them: a `\r` just before the `\n` is left out, and lines of
    /// only spaces and tabs are skipped but counted (a `\r` elsewhere is something). The same lines come out however
    /// the text is cut into pieces.
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
