import Foundation
import TestSupport
import Testing

@testable import DICOM

/// Hostile and damaged input: every outcome must be a `DICOMError` or a
/// successful parse, never a trap, hang or runaway allocation.
@Suite(.timeLimit(.minutes(5))) struct MalformedInputTests {
    func pydicomFile(_ name: String) throws -> [UInt8] {
        try #require(Pydicom.unavailableReason == nil, "\(Pydicom.unavailableReason ?? "")")
        let path = try #require(Pydicom.file(name), "\(name) missing from pydicom")
        return try #require(TestSupport.read(path))
    }

    /// Parses and exercises the decoders; returns the error code or nil.
    @discardableResult
    func attempt(_ bytes: [UInt8], options: DICOMParseOptions = .default, json: Bool = true) -> String? {
        do {
            let file = try DICOMFile.parse(bytes, options: options)
            if json { _ = DICOMJSON.encode(file.dataset, bulkDataBaseURI: "http://x") }
            _ = file.summary.patientNameComponents
            return nil
        } catch {
            return error.code
        }
    }

    func code(_ bytes: [UInt8], options: DICOMParseOptions = .default) -> String? { attempt(bytes, options: options) }

    // The two sweeps below parse thousands of inputs; they run off the cooperative pool (`offPool`), which the hubs
    // of the tests beside them in this process need.
    @Test(arguments: ["reportsi.dcm", "JPEG2000.dcm", "image_dfl.dcm", "MR_small_bigendian.dcm", "nested_priv_SQ.dcm"])
    func everyPrefix(name: String) async throws {
        let bytes = try pydicomFile(name)
        #expect(attempt(bytes) == nil)
        let full = try DICOMFile.parse(bytes)
        let lastElementStart = full.transferSyntax.isDeflated ? nil : full.dataset.elements.last?.headerOffset
        // The lengths past the start of the last element whose prefix parsed anyway.
        let accepted = await offPool {
            var accepted: [Int] = []
            for length in 0..<min(bytes.count, 6000) {
                let prefix = Array(bytes[0..<length])
                let outcome = attempt(prefix)
                _ = try? DICOMFile.parseHeader(prefix)
                if let start = lastElementStart, length > start, outcome == nil { accepted.append(length) }
            }
            return accepted
        }
        #expect(accepted.isEmpty, "a cut inside the last element must fail (lengths \(accepted.prefix(20)))")
    }

    @Test func randomCutPoints() async throws {
        var files: [(String, [UInt8])] = []
        for name in [
            "CT_small.dcm", "waveform_ecg.dcm", "examples_ybr_color.dcm", "test-SR.dcm", "liver_1frame.dcm",
            "chrX2.dcm", "SC_rgb_rle_2frame.dcm",
        ] {
            files.append((name, try pydicomFile(name)))
        }
        let inputs = files
        // The cuts within the meta group's reach that parsed anyway.
        let accepted = await offPool {
            var rng = TestSupport.SeededRandom(seed: 42)
            var accepted: [String] = []
            for (name, bytes) in inputs {
                for _ in 0..<150 {
                    let cut = Int.random(in: 0..<bytes.count, using: &rng)
                    if attempt(Array(bytes[0..<cut])) == nil && cut <= 132 { accepted.append("\(name) cut at \(cut)") }
                }
            }
            return accepted
        }
        #expect(accepted.isEmpty, "\(accepted)")
    }

    /// Offset of the 32-bit length field of `tag` in an explicit VR LE file.
    func lengthField(of tag: DICOMTag, in bytes: [UInt8]) throws -> Int {
        let element = try #require(try DICOMFile.parse(bytes).dataset[tag])
        return element.headerOffset + 8
    }

    func patched(_ bytes: [UInt8], at offset: Int, uint32 value: UInt32) -> [UInt8] {
        var b = bytes
        for i in 0..<4 { b[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
        return b
    }

    @Test func lengthsPastTheEnd() throws {
        let ct = try pydicomFile("CT_small.dcm")
        let pixelLength = try lengthField(of: .pixelData, in: ct)
        #expect(code(patched(ct, at: pixelLength, uint32: UInt32(ct.count))) == DICOMError.lengthPastEnd)
        #expect(code(patched(ct, at: pixelLength, uint32: 0xFFFF_FFF0)) == DICOMError.absurdLength)
        #expect(code(patched(ct, at: pixelLength, uint32: 0x7FFF_FFFF)) == DICOMError.lengthPastEnd)
        var small = DICOMParseOptions()
        small.maxValueLength = 1000
        #expect(code(ct, options: small) == DICOMError.absurdLength)

        // Sequence and item lengths.
        let rich = try DICOMWriter.write(GeneratedFiles.rich(undefinedLengths: false))
        let seq = try lengthField(of: DICOMTag(0x0008, 0x1140), in: rich)
        #expect(code(patched(rich, at: seq, uint32: 0x00FF_FFFF)) == DICOMError.lengthPastEnd)
        #expect(code(patched(rich, at: seq, uint32: 0xFFFF_FFF0)) == DICOMError.absurdLength)
        let itemLength = seq + 8  // first item header follows the SQ length
        #expect(code(patched(rich, at: itemLength, uint32: 0x0000_FFFF)) == DICOMError.lengthPastEnd)
        #expect(code(patched(rich, at: itemLength, uint32: 0xFFFF_FFF0)) == DICOMError.absurdLength)
    }

    @Test func missingMeta() throws {
        let dataset: [UInt8] = [0x08, 0x00, 0x60, 0x00] + Array("CS".utf8) + [0x02, 0x00] + Array("CT".utf8)
        let noMeta = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + dataset
        #expect(code(noMeta) == DICOMError.missingMeta)
        let versionOnly: [UInt8] = [0x02, 0x00, 0x01, 0x00] + Array("OB".utf8) + [0, 0, 2, 0, 0, 0, 0, 1]
        let noSyntax = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + versionOnly + dataset
        #expect(code(noSyntax) == DICOMError.missingMeta)
        #expect(code(try pydicomFile("meta_missing_tsyntax.dcm")) == DICOMError.missingMeta)
    }

    @Test func notDICOM() throws {
        #expect(code([]) == DICOMError.notDICOM)
        #expect(code([UInt8](repeating: 0, count: 100)) == DICOMError.notDICOM)
        #expect(code([UInt8](repeating: 0x44, count: 4000)) == DICOMError.notDICOM)
        #expect(code(try pydicomFile("no_meta.dcm")) == DICOMError.notDICOM)
        #expect(code(try pydicomFile("ExplVR_BigEndNoMeta.dcm")) == DICOMError.notDICOM)
    }

    @Test func unsupportedTransferSyntax() throws {
        let bytes = try DICOMWriter.write(
            GeneratedFiles.identity(), syntax: .encapsulated(transferSyntaxUID: "1.2.840.113619.5.2"))
        #expect(code(bytes) == DICOMError.unsupportedTransferSyntax)
    }

    @Test func badVR() throws {
        let bytes = try DICOMWriter.write(GeneratedFiles.rich(undefinedLengths: true))
        let element = try #require(try DICOMFile.parse(bytes).dataset[.modality])
        var b = bytes
        b[element.headerOffset + 4] = 0x00
        b[element.headerOffset + 5] = 0x7F
        #expect(code(b) == DICOMError.badVR)
    }

    @Test func strayDelimitersAndItems() throws {
        let bytes = try DICOMWriter.write(GeneratedFiles.identity())
        for tag: UInt32 in [0xFFFE_E000, 0xFFFE_E00D, 0xFFFE_E0DD] {
            let stray: [UInt8] = [0xFE, 0xFF, UInt8(tag & 0xFF), UInt8(tag >> 8 & 0xFF), 0, 0, 0, 0]
            #expect(code(bytes + stray) == DICOMError.malformedSequence)
        }
    }

    func nested(_ depth: Int) -> [DICOMWriter.Element] {
        var item: [DICOMWriter.Element] = [.string(.codeMeaning, .LO, "leaf")]
        for _ in 0..<depth {
            item = [DICOMWriter.Element(DICOMTag(0x0040, 0xA730), .SQ, .sequence([item], undefinedLength: true))]
        }
        return GeneratedFiles.identity() + item
    }

    @Test func nestingDepthIsBounded() throws {
        #expect(code(try DICOMWriter.write(nested(60))) == nil)
        #expect(code(try DICOMWriter.write(nested(100))) == DICOMError.malformedSequence)
        var deep = DICOMParseOptions()
        deep.maxDepth = 150
        #expect(code(try DICOMWriter.write(nested(100)), options: deep) == nil)

        // 100,000 unterminated levels: refused at the limit, no stack overflow.
        let header = try DICOMWriter.write(GeneratedFiles.identity())
        let level: [UInt8] =
            [0x40, 0x00, 0x30, 0xA7] + Array("SQ".utf8) + [
                0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF,
            ]
        var bomb = header
        for _ in 0..<100_000 { bomb += level }
        #expect(code(bomb) == DICOMError.malformedSequence)
    }

    @Test func damagedDeflateStream() throws {
        let bytes = try pydicomFile("image_dfl.dcm")
        let start = try DICOMFile.parse(bytes).datasetOffset
        var limited = DICOMParseOptions()
        limited.maxInflatedSize = 1000
        #expect(code(bytes, options: limited) == DICOMError.inflateFailed)
        var corrupt = bytes
        for i in stride(from: start + 10, to: min(start + 200, bytes.count), by: 7) { corrupt[i] ^= 0xA5 }
        #expect(code(corrupt) != nil)
        #expect(code(Array(bytes[0..<(start + 100)])) == DICOMError.truncated)
    }

    /// Bounded randomized mutation with a fixed seed, over seeds covering each
    /// transfer syntax family.
    @Test func randomMutations() throws {
        let seeds: [[UInt8]] = [
            try DICOMWriter.write(GeneratedFiles.rich(undefinedLengths: true)),
            try DICOMWriter.write(GeneratedFiles.rich(undefinedLengths: false), syntax: .implicitVRLittleEndian),
            try pydicomFile("reportsi.dcm"),
            try pydicomFile("JPEG2000.dcm"),
            try pydicomFile("nested_priv_SQ.dcm"),
            try pydicomFile("image_dfl.dcm"),
            try pydicomFile("MR_small_bigendian.dcm"),
            try pydicomFile("chrH31.dcm"),
        ]
        let interesting: [UInt32] = [
            0, 1, 2, 0xFFFF_FFFF, 0xFFFF_FFFE, 0xFFFF_FFF0, 0x7FFF_FFFF, 0x8000_0000, 0xFFFE_E000,
            0xE000_FFFE, 0xFFFE_E0DD, 0xFFFE_E00D,
        ]
        var rng = TestSupport.SeededRandom(seed: 0xD1C0_4D)
        var outcomes: [String: Int] = [:]
        let clock = ContinuousClock()
        let started = clock.now
        for iteration in 0..<20_000 {
            var b = seeds[iteration % seeds.count]
            // Keep mutations mostly past the preamble, where they matter.
            let low = b.count > 200 ? 128 : 0
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    b[Int.random(in: low..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
            case 1:
                let at = Int.random(in: low..<(b.count - 4), using: &rng)
                let v =
                    Bool.random(using: &rng)
                    ? interesting.randomElement(using: &rng)! : UInt32.random(in: 0...UInt32.max, using: &rng)
                for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
            case 2:
                b.removeSubrange(Int.random(in: low..<b.count, using: &rng)...)
            case 3:
                let from = Int.random(in: low..<b.count, using: &rng)
                let to = min(b.count, from + Int.random(in: 1...64, using: &rng))
                b.insert(contentsOf: b[from..<to], at: Int.random(in: low..<b.count, using: &rng))
            default:
                let at = Int.random(in: low..<(b.count - 2), using: &rng)
                b[at] = UInt8.random(in: 0x41...0x5A, using: &rng)
                b[at + 1] = UInt8.random(in: 0x41...0x5A, using: &rng)
            }
            // JSON and header parsing on a subset keep the debug-build run short.
            outcomes[attempt(b, json: iteration % 8 == 0) ?? "ok", default: 0] += 1
            if iteration % 4 == 0 { _ = try? DICOMFile.parseHeader(b) }
        }
        let elapsed = clock.now - started
        #expect(outcomes.values.reduce(0, +) == 20_000)
        #expect(outcomes.keys.allSatisfy { $0 != "internal" })
        print("mutation outcomes in \(elapsed): \(outcomes.sorted { $0.key < $1.key })")
    }
}
