/// Collects every field problem of one input before failing, so a client fixes all of them in one round.
public struct Validator: Sendable {
    public private(set) var problems: [HubError.FieldProblem] = []

    public init() {}

    public mutating func fail(_ field: String, _ detail: String) {
        problems.append(.init(field: field, detail: detail))
    }

    /// Returns the value when present; records `field` as required otherwise.
    public mutating func require<T>(_ value: T?, _ field: String) -> T? {
        if value == nil { fail(field, "is required") }
        return value
    }

    /// Returns a trimmed, non-empty string of bounded length, or records why not. `multiline` admits line breaks and
    /// tabs, for free text such as findings.
    public mutating func text(
        _ value: String?, _ field: String, required: Bool = true, maxLength: Int = 200, multiline: Bool = false
    ) -> String? {
        guard let value else {
            if required { fail(field, "is required") }
            return nil
        }
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty {
            fail(field, "must not be empty")
            return nil
        }
        if trimmed.count > maxLength {
            fail(field, "must be at most \(maxLength) characters")
            return nil
        }
        let allowed: Set<Unicode.Scalar> = multiline ? ["\n", "\r", "\t"] : []
        if trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && !allowed.contains($0) }
        ) {
            fail(
                field,
                multiline
                    ? "must not contain control characters other than line breaks and tabs"
                    : "must not contain control characters")
            return nil
        }
        return trimmed
    }

    /// Throws one `validation_failed` error naming every field that failed.
    public func check() throws(HubError) {
        if !problems.isEmpty { throw HubError.validation(problems) }
    }
}

extension String {
    /// Whitespace trimmed at both ends without Foundation, so HubCore stays framework-free.
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}

extension StringProtocol {
    /// Without the spaces, tabs, carriage returns and line feeds at both ends: the whitespace HTTP headers and JSON
    /// allow around a value. Works on the UTF-8 bytes, without Foundation or a copy.
    public func trimmingASCIIWhitespace() -> Substring {
        let text = Substring(self)
        let utf8 = text.utf8
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start < end, Self.isASCIIWhitespace(utf8[start]) { utf8.formIndex(after: &start) }
        while start < end {
            let before = utf8.index(before: end)
            guard Self.isASCIIWhitespace(utf8[before]) else { break }
            end = before
        }
        return text[start..<end]
    }

    private static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
    }
}

/// Identifiers chosen by clients (institution ids, center ids): safe in URLs, logs and file names.
public enum ResourceID {
    public static let maxLength = 64

    public static func isValid(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= maxLength else { return false }
        guard let first = id.unicodeScalars.first, first.properties.isAlphabetic || ("0"..."9").contains(first) else {
            return false
        }
        return id.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || scalar == "-" || scalar == "_" || scalar == ".")
        }
    }

    public static let rule =
        "1 to 64 characters: ASCII letters, digits, '-', '_' or '.', starting with a letter or digit"
}
