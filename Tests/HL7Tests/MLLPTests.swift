import Testing

@testable import HL7

@Suite struct MLLPTests {
    /// Every frame the decoder gives for `chunks` fed in turn, and the errors it throws, in order.
    func decode(
        _ chunks: [[UInt8]], maximum: Int = 1 << 20
    ) -> (frames: [[UInt8]], errors: Int, decoder: MLLPFrameDecoder) {
        var decoder = MLLPFrameDecoder(maximumFrameLength: maximum)
        var frames: [[UInt8]] = []
        var errors = 0
        for chunk in chunks {
            decoder.append(chunk)
            while true {
                do {
                    guard let frame = try decoder.nextFrame() else { break }
                    frames.append(frame)
                } catch {
                    #expect(error == .frameTooLong(limit: maximum))
                    errors += 1
                }
            }
        }
        return (frames, errors, decoder)
    }

    @Test func framing() {
        #expect(MLLP.frame([0x41, 0x42]) == [0x0B, 0x41, 0x42, 0x1C, 0x0D])
        #expect(MLLP.frame([]) == [0x0B, 0x1C, 0x0D])
    }

    @Test func framesSplitAtEveryByteBoundary() {
        let messages = [Fixtures.oru, Fixtures.oru231, Fixtures.gb18030]
        let stream = messages.flatMap(MLLP.frame)
        for cut in 0...stream.count {
            let result = decode([Array(stream[..<cut]), Array(stream[cut...])])
            #expect(result.frames == messages)
            #expect(result.decoder.discardedByteCount == 0)
        }
        for cut in stride(from: 1, to: stream.count, by: 97) {
            for second in stride(from: cut, to: stream.count, by: 211) {
                let result = decode([Array(stream[..<cut]), Array(stream[cut..<second]), Array(stream[second...])])
                #expect(result.frames == messages)
            }
        }
    }

    @Test func byteByByte() throws {
        let stream = MLLP.frame(Fixtures.oru) + MLLP.frame(Fixtures.oru231)
        let result = decode(stream.map { [$0] })
        #expect(result.frames == [Fixtures.oru, Fixtures.oru231])
        #expect(result.decoder.bufferedByteCount == 0)
        #expect(try HL7Message.parse(result.frames[0]).controlID == "MSG00001")
    }

    @Test func severalFramesInOneChunk() {
        let frames: [[UInt8]] = [[0x41], [], [0x42, 0x43], Fixtures.oru]
        let result = decode([frames.flatMap(MLLP.frame)])
        #expect(result.frames == frames)
    }

    @Test func garbageBetweenFramesIsDiscardedAndCounted() {
        let garbage: [UInt8] = [0x0D, 0x0A, 0x1C, 0x0D, 0x41]
        let stream = garbage + MLLP.frame([0x31]) + [0x0A, 0x0A] + MLLP.frame([0x32]) + garbage
        let result = decode([stream])
        #expect(result.frames == [[0x31], [0x32]])
        #expect(result.decoder.discardedByteCount == 12)
        #expect(result.decoder.bufferedByteCount == 0)
    }

    @Test func endBlockWithoutCarriageReturnIsData() {
        let message: [UInt8] = [0x41, 0x1C, 0x42, 0x1C, 0x1C, 0x0D]
        let result = decode([[0x0B] + message])
        // The first 0x1C is followed by B and is data; the second by 0x1C, so data too; the third ends the frame.
        #expect(result.frames == [[0x41, 0x1C, 0x42, 0x1C]])
        let split = decode([[0x0B, 0x41, 0x1C], [0x42, 0x1C], [0x0D]])
        #expect(split.frames == [[0x41, 0x1C, 0x42]])
    }

    @Test func partialFrameIsHeld() throws {
        var decoder = MLLPFrameDecoder()
        decoder.append([0x41, 0x0B, 0x41, 0x42])
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.bufferedByteCount == 2)
        #expect(decoder.discardedByteCount == 1)
        decoder.append([0x1C])
        #expect(try decoder.nextFrame() == nil)
        decoder.append([0x0D, 0x0B])
        #expect(try decoder.nextFrame() == [0x41, 0x42])
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func endBlockFollowedByStartBlockEndsTheFrame() {
        let result = decode([[0x0B, 0x41, 0x1C, 0x0B, 0x42, 0x1C, 0x0D]])
        #expect(result.frames == [[0x41], [0x42]])
        #expect(result.decoder.abandonedFrameCount == 0)
    }

    @Test func startBlockInsideAFrameAbandonsIt() {
        let result = decode([[0x0B, 0x41, 0x42, 0x0B, 0x43, 0x1C, 0x0D]])
        #expect(result.frames == [[0x43]])
        #expect(result.decoder.abandonedFrameCount == 1)
        #expect(result.decoder.discardedByteCount == 3)
    }

    @Test func tooLongFrameThenAGoodOne() throws {
        let long = [UInt8](repeating: 0x41, count: 100)
        let good = [UInt8](repeating: 0x42, count: 10)
        let exact = [UInt8](repeating: 0x43, count: 50)
        let stream = MLLP.frame(long) + MLLP.frame(good) + MLLP.frame(exact)
        let whole = decode([stream], maximum: 50)
        #expect(whole.frames == [good, exact])
        #expect(whole.errors == 1)
        #expect(whole.decoder.discardedByteCount == 103)
        let bytewise = decode(stream.map { [$0] }, maximum: 50)
        #expect(bytewise.frames == [good, exact])
        #expect(bytewise.errors == 1)
        // A frame that never ends is refused as soon as it passes the limit, not kept growing.
        var decoder = MLLPFrameDecoder(maximumFrameLength: 1000)
        decoder.append([0x0B])
        decoder.append(repeatElement(0x41, count: 1001))
        #expect(throws: MLLPError.frameTooLong(limit: 1000)) { try decoder.nextFrame() }
        #expect(try decoder.nextFrame() == nil)
        decoder.append(repeatElement(0x41, count: 5000))
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.bufferedByteCount == 0)
        decoder.append(MLLP.frame(good))
        #expect(try decoder.nextFrame() == good)
    }

    @Test func largeStreamsStayLinear() throws {
        // Two megabytes of garbage fed in small chunks, then a frame of a megabyte fed in small chunks.
        var decoder = MLLPFrameDecoder()
        let chunk = [UInt8](repeating: 0x41, count: 4096)
        for _ in 0..<512 {
            decoder.append(chunk)
            #expect(try decoder.nextFrame() == nil)
        }
        #expect(decoder.discardedByteCount == 512 * 4096)
        decoder.append([0x0B])
        for _ in 0..<256 {
            decoder.append(chunk)
            #expect(try decoder.nextFrame() == nil)
        }
        decoder.append([0x1C, 0x0D])
        #expect(try decoder.nextFrame()?.count == 256 * 4096)
        #expect(decoder.bufferedByteCount == 0)
    }
}
