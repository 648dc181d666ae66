import Foundation
import Testing

@testable import HubServer

@Suite struct MultipartReaderTests {
    /// Reads a whole body fed in chunks of the given sizes (cycled); returns each part's headers and content.
    static func read(_ body: Data, boundary: String, chunks: [Int]) throws -> ([[String: String]], [Data], Bool) {
        var reader = MultipartReader(boundary: boundary)
        var headers: [[String: String]] = []
        var parts: [Data] = []
        var current = Data()
        var offset = 0
        var turn = 0
        while offset < body.count {
            let size = max(1, chunks[turn % chunks.count])
            turn += 1
            let end = min(body.count, offset + size)
            for event in try reader.feed(body[offset..<end]) {
                switch event {
                case .headers(let h):
                    headers.append(h)
                    current = Data()
                case .content(let bytes): current.append(contentsOf: bytes)
                case .end: parts.append(current)
                }
            }
            offset = end
        }
        return (headers, parts, reader.isComplete)
    }

    @Test func partsSurviveEveryWayOfCuttingTheBody() throws {
        // Contents that look like the delimiter, end in CR or LF, are empty, or are large.
        let boundary = "b0undary"
        let contents: [Data] = [
            Data("hello".utf8), Data("--b0undar\r\n--b0undarx".utf8), Data(), Data("\r\n\r".utf8),
            Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }),
        ]
        var body = Data("preamble to ignore\r\n".utf8)
        for (i, content) in contents.enumerated() {
            body += Data("--\(boundary)  \r\nContent-Type: application/dicom\r\nX-Part: \(i)\r\n\r\n".utf8)
            body += content + Data("\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\nepilogue".utf8)
        for chunks in [[1], [2, 3], [7], [64], [1000, 1], [1 << 20]] {
            let (headers, parts, complete) = try Self.read(body, boundary: boundary, chunks: chunks)
            #expect(parts == contents, "chunks \(chunks)")
            #expect(headers.map { $0["x-part"] } == contents.indices.map { String($0) })
            #expect(headers.allSatisfy { $0["content-type"] == "application/dicom" })
            #expect(complete)
        }
    }

    @Test func aBodyThatEndsEarlyIsIncompleteAndABrokenDelimiterIsRefused() throws {
        let truncated = Data("--x\r\nContent-Type: application/dicom\r\n\r\nhalf a fi".utf8)
        let (_, parts, complete) = try Self.read(truncated, boundary: "x", chunks: [5])
        #expect(parts.isEmpty)
        #expect(!complete)
        #expect(throws: MultipartReader.Malformed.self) {
            _ = try Self.read(Data("--xGARBAGE".utf8), boundary: "x", chunks: [3])
        }
        // Endless padding after a delimiter is refused, not buffered.
        #expect(throws: MultipartReader.Malformed.self) {
            _ = try Self.read(Data("--x".utf8) + Data(repeating: 32, count: 5000), boundary: "x", chunks: [512])
        }
        let (type, parameters) = MultipartReader.parameters(
            of: "Multipart/Related; type=\"application/dicom\"; boundary=\"a b\"")
        #expect(type == "multipart/related")
        #expect(parameters["type"] == "application/dicom")
        #expect(parameters["boundary"] == "a b")
    }
}
