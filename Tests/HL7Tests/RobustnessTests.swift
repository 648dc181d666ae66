import Testing

@testable import HL7

/// A small deterministic pseudo-random generator (SplitMix64), so that a failure can be reproduced.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct RobustnessTests {
    /// Bytes that matter to the parser, drawn more often than others.
    static let interesting: [UInt8] = [
        0x7C, 0x5E, 0x7E, 0x5C, 0x26, 0x23, 0x0D, 0x0A, 0x22, 0x58, 0x2E, 0x46, 0x53, 0x54, 0x52, 0x45, 0x48, 0x4E,
        0x0B, 0x1C, 0x1B, 0x00, 0x80, 0xFF, 0xC3, 0xE5, 0x81, 0x30, 0xD5, 0x4D,
    ]

    /// Parses `bytes` and, when that succeeds, uses the result: every access and a re-encoding must work.
    func exercise(_ bytes: [UInt8]) {
        _ = HL7MessageHeader.scan(bytes)
        guard let message = try? HL7Message.parse(bytes) else { return }
        for segment in message.segments {
            for number in 0...(segment.fields.count + 1) {
                _ = segment.value(number, component: 2, subcomponent: 2, repetition: 2)
                _ = segment.isExplicitNull(number, component: 1)
            }
        }
        _ = (message.type, message.event, message.controlID, message.version, message.charset)
        if let encoded = try? message.encoded() {
            let again = try? HL7Message.parse(encoded)
            #expect(again != nil)
            #expect((try? again?.encoded()) == encoded)
        }
    }

    @Test func randomBytes() {
        var random = SeededGenerator(state: 1)
        for _ in 0..<3000 {
            let count = Int.random(in: 0..<300, using: &random)
            var bytes = (0..<count).map { _ in
                Bool.random(using: &random)
                    ? Self.interesting.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { bytes = Array(#"MSH|^~\&|"#.utf8) + bytes }
            exercise(bytes)
        }
    }

    @Test func mutatedMessages() {
        var random = SeededGenerator(state: 2)
        let samples = [Fixtures.oru, Fixtures.oru231, Fixtures.gb18030]
        for round in 0..<3000 {
            var bytes = samples[round % samples.count]
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                guard !bytes.isEmpty else { break }
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: bytes[index] = Self.interesting.randomElement(using: &random)!
                case 1: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 2: bytes.insert(Self.interesting.randomElement(using: &random)!, at: index)
                case 3: bytes.remove(at: index)
                default: bytes.removeSubrange(index...)
                }
            }
            exercise(bytes)
        }
    }

    @Test func mutatedFramesDecode() {
        var random = SeededGenerator(state: 3)
        let stream = [Fixtures.oru, Fixtures.gb18030].flatMap(MLLP.frame)
        for _ in 0..<300 {
            var bytes = stream
            for _ in 0..<4 {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = Self.interesting.randomElement(using: &random)!
            }
            var decoder = MLLPFrameDecoder(maximumFrameLength: Int.random(in: 1...2000, using: &random))
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + Int.random(in: 1...300, using: &random))
                decoder.append(bytes[offset..<end])
                offset = end
                while true {
                    guard let frame = try? decoder.nextFrame() else { break }
                    exercise(frame)
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func hostileShapesStayFast() throws {
        let header = Array("MSH|^~\\&|\r".utf8)
        let size = 1 << 20
        let shapes: [[UInt8]] = [
            Array(repeating: 0x7C, count: size),  // a million empty fields
            Array(repeating: 0x5E, count: size),  // a million empty components
            Array(repeating: 0x5C, count: size),  // a million escape characters
            Array(repeating: 0x0D, count: size),  // a million empty lines
            Array("\\X".utf8) + Array(repeating: 0x41, count: size) + [0x5C],  // one huge hex escape
            Array((0..<(size / 8)).flatMap { _ in Array("\\.sp 99\\".utf8) }),  // many bounded expansions
            Array((0..<(size / 4)).flatMap { _ in Array("Z\\F|".utf8) }),
        ]
        for shape in shapes {
            let bytes = header + Array("OBX|1|ST|X||".utf8) + shape
            let message = try HL7Message.parse(bytes)
            #expect(message.segments.count >= 2)
        }
        let many = header + Array(repeating: Array("OBX|1|NM|X||1\r".utf8), count: 50_000).flatMap { $0 }
        #expect(try HL7Message.parse(many).segments.count == 50_001)
    }
}
