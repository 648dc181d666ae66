import Foundation
import HubCore

/// A streaming reader of `multipart/related` (RFC 2387) and `multipart/*` bodies (RFC 2046): fed chunk by chunk,
/// it hands out each part's headers and its content in pieces, keeping only a boundary's length of bytes back, so a
/// part of any size passes through without being held whole.
struct MultipartReader {
    enum Event {
        case headers([String: String])
        case content(ArraySlice<UInt8>)
        case end
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    private enum State {
        case preamble, afterDelimiter, headers, content, done
    }

    private let delimiter: [UInt8]
    private var pending: [UInt8]
    private var state = State.preamble
    private let maxHeaderBytes = 16_384

    /// Whether the closing delimiter was seen.
    var isComplete: Bool { state == .done }
    /// Whether a part's content is being read.
    var inPart: Bool { state == .content }

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // The first delimiter may open the body without a line break before it.
        pending = [13, 10]
    }

    /// The boundary parameter of a multipart Content-Type, and its other parameters (lower-cased names).
    static func parameters(of contentType: String) -> (type: String, parameters: [String: String]) {
        var parts = contentType.split(separator: ";", omittingEmptySubsequences: true).map {
            String($0.trimmingASCIIWhitespace())
        }
        let type = parts.isEmpty ? "" : parts.removeFirst().lowercased()
        var parameters: [String: String] = [:]
        for part in parts {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let name = part[..<equals].trimmingASCIIWhitespace().lowercased()
            var value = String(part[part.index(after: equals)...].trimmingASCIIWhitespace())
            if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            parameters[name] = value
        }
        return (type, parameters)
    }

    /// Consumes a chunk and returns what it completed.
    mutating func feed(_ bytes: some Collection<UInt8>) throws -> [Event] {
        pending.append(contentsOf: bytes)
        var events: [Event] = []
        var progress = true
        while progress {
            progress = false
            switch state {
            case .preamble:
                if let at = find(delimiter, in: pending) {
                    pending.removeSubrange(0..<(at + delimiter.count))
                    state = .afterDelimiter
                    progress = true
                } else if pending.count > delimiter.count {
                    pending.removeFirst(pending.count - delimiter.count)
                }
            case .afterDelimiter:
                guard pending.count >= 2 else { break }
                if pending[0] == 45 && pending[1] == 45 {  // "--": the closing delimiter
                    state = .done
                    pending.removeAll()
                    break
                }
                // Transport padding (spaces, tabs) may follow a delimiter before its line break.
                var index = 0
                while index < pending.count && (pending[index] == 32 || pending[index] == 9) { index += 1 }
                if index > 1024 {
                    throw Malformed(description: "more than 1 KiB of padding after a boundary delimiter")
                }
                guard index + 1 < pending.count else { break }
                guard pending[index] == 13 && pending[index + 1] == 10 else {
                    throw Malformed(description: "a boundary delimiter is not followed by a line break")
                }
                pending.removeSubrange(0..<(index + 2))
                state = .headers
                progress = true
            case .headers:
                if pending.count >= 2 && pending[0] == 13 && pending[1] == 10 {
                    pending.removeFirst(2)
                    events.append(.headers([:]))
                    state = .content
                    progress = true
                } else if let at = find([13, 10, 13, 10], in: pending) {
                    events.append(.headers(Self.headers(pending[0..<at])))
                    pending.removeSubrange(0..<(at + 4))
                    state = .content
                    progress = true
                } else if pending.count > maxHeaderBytes {
                    throw Malformed(description: "a part's headers are longer than \(maxHeaderBytes) bytes")
                }
            case .content:
                if let at = find(delimiter, in: pending) {
                    if at > 0 { events.append(.content(pending[0..<at])) }
                    events.append(.end)
                    pending.removeSubrange(0..<(at + delimiter.count))
                    state = .afterDelimiter
                    progress = true
                } else if pending.count > delimiter.count {
                    let keep = delimiter.count - 1
                    events.append(.content(pending[0..<(pending.count - keep)]))
                    pending.removeFirst(pending.count - keep)
                }
            case .done:
                pending.removeAll()
            }
        }
        return events
    }

    static func headers(_ block: ArraySlice<UInt8>) -> [String: String] {
        var headers: [String: String] = [:]
        for line in String(decoding: block, as: UTF8.self).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].trimmingASCIIWhitespace().lowercased()] = String(
                line[line.index(after: colon)...].trimmingASCIIWhitespace())
        }
        return headers
    }

    /// The first position of `needle` in `haystack`.
    func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        let last = haystack.count - needle.count
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pattern in
                var index = 0
                while index <= last {
                    guard let base = hay.baseAddress,
                        let found = memchr(base + index, Int32(first), last - index + 1)
                    else { return nil }
                    let position = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + position, pattern.baseAddress!, pattern.count) == 0 { return position }
                    index = position + 1
                }
                return nil
            }
        }
    }
}
