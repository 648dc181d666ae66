/// DICOM JSON text (`application/dicom+json`, PS3.18 F.2) written attribute by attribute: each attribute from its
/// tag, its VR and its typed values, so no part of a DICOM JSON answer is put together from strings. What
/// `DICOMJSON.encode` writes of a dataset, and what a DICOMweb answer adds to it (Retrieve URLs, counts, the
/// references of a store), are written with it; attributes written by it before (stored with an instance) are
/// copied in member by member.
public struct DICOMJSONWriter: Sendable {
    public private(set) var text = ""
    /// Whether the next member or element is its container's first (no comma before it).
    private var first = true

    public init() {}

    // MARK: containers

    /// A DICOM JSON object (a dataset, or an item of a sequence): `members` writes its attributes.
    public mutating func object(_ members: (inout DICOMJSONWriter) -> Void) {
        container("{", "}", members)
    }

    /// A JSON array of objects or values (a search answer, say).
    public mutating func array(_ elements: (inout DICOMJSONWriter) -> Void) {
        container("[", "]", elements)
    }

    private mutating func container(_ open: String, _ close: String, _ contents: (inout DICOMJSONWriter) -> Void) {
        separate()
        text += open
        first = true
        contents(&self)
        text += close
        first = false
    }

    /// An attribute: `"GGGGEEEE":{"vr":"VR"…}`; `content` writes its `Value`, `InlineBinary` or `BulkDataURI`, or
    /// nothing for an empty attribute.
    public mutating func attribute(_ tag: DICOMTag, _ vr: VR, _ content: (inout DICOMJSONWriter) -> Void = { _ in }) {
        separate()
        text += "\"" + tag.hex + "\":{\"vr\":\"" + vr.rawValue + "\""
        content(&self)
        text += "}"
        first = false
    }

    /// An attribute whose values are strings (UIDs, codes, URLs).
    public mutating func attribute(_ tag: DICOMTag, _ vr: VR, strings: [String]) {
        attribute(tag, vr) { $0.values { for string in strings { $0.string(string) } } }
    }

    /// An attribute whose values are whole numbers (counts, US values).
    public mutating func attribute(_ tag: DICOMTag, _ vr: VR, integers: [Int]) {
        attribute(tag, vr) { $0.values { for integer in integers { $0.integer(integer) } } }
    }

    /// A sequence attribute, one item per element of `items`.
    public mutating func sequence<Item>(
        _ tag: DICOMTag, _ items: [Item], _ item: (inout DICOMJSONWriter, Item) -> Void
    ) {
        attribute(tag, .SQ) { writer in
            writer.values { writer in
                for each in items { writer.object { item(&$0, each) } }
            }
        }
    }

    /// Inside an attribute: its `Value` array, whose elements `elements` writes.
    public mutating func values(_ elements: (inout DICOMJSONWriter) -> Void) {
        text += ",\"Value\":["
        first = true
        elements(&self)
        text += "]"
    }

    /// Inside an attribute: its bytes, already in base64.
    public mutating func inlineBinary(_ base64: String) {
        text += ",\"InlineBinary\":\"" + base64 + "\""
    }

    /// Inside an attribute: where its bytes can be fetched.
    public mutating func bulkDataURI(_ uri: String) {
        text += ",\"BulkDataURI\":"
        text += DICOMJSON.quoted(uri)
    }

    // MARK: values

    public mutating func string(_ value: String) {
        separate()
        text += DICOMJSON.quoted(value)
        first = false
    }

    public mutating func integer(_ value: Int) {
        separate()
        text += String(value)
        first = false
    }

    /// A decimal or floating-point value: whole values without a fraction, and `null` for what JSON cannot write
    /// (NaN, infinities).
    public mutating func number(_ value: Double) {
        separate()
        if !value.isFinite {
            text += "null"
        } else if value == value.rounded(), abs(value) < 1e15 {
            text += String(Int(value))
        } else {
            text += String(value)
        }
        first = false
    }

    /// An empty value among others (PS3.18 F.2.5).
    public mutating func null() {
        separate()
        text += "null"
        first = false
    }

    /// A person name, by its component groups (the empty ones left out).
    public mutating func personName(_ name: PersonName) {
        separate()
        text += "{"
        var firstGroup = true
        for (key, group) in [
            ("Alphabetic", name.alphabetic), ("Ideographic", name.ideographic),
            ("Phonetic", name.phonetic),
        ] where !group.isEmpty {
            text += (firstGroup ? "\"" : ",\"") + key + "\":" + DICOMJSON.quoted(group)
            firstGroup = false
        }
        text += "}"
        first = false
    }

    // MARK: stored attributes

    /// The attributes of `object`, a DICOM JSON object this writer wrote (stored with an instance), copied in as
    /// they are: all of them, or those whose tags are in `tags`.
    public mutating func members(of object: some StringProtocol, keeping tags: Set<DICOMTag>? = nil) {
        guard let tags else { return allMembers(of: object) }
        let utf8 = Array(object.utf8)
        var index = 0
        func skipWhitespace() {
            while index < utf8.count, [0x20, 0x0A, 0x0D, 0x09].contains(utf8[index]) { index += 1 }
        }
        skipWhitespace()
        guard index < utf8.count, utf8[index] == 0x7B else { return }
        index += 1
        // Each member is a tag's eight hex digits and the attribute's object.
        while true {
            skipWhitespace()
            guard index + 10 <= utf8.count, utf8[index] == 0x22, utf8[index + 9] == 0x22,
                let tag = UInt32(String(decoding: utf8[(index + 1)..<(index + 9)], as: UTF8.self), radix: 16)
            else { return }
            let start = index
            index += 10
            skipWhitespace()
            guard index < utf8.count, utf8[index] == 0x3A else { return }
            index += 1
            skipWhitespace()
            guard let end = Self.end(ofObjectAt: index, in: utf8) else { return }
            index = end
            if tags.contains(DICOMTag(tag)) {
                separate()
                text += String(decoding: utf8[start..<end], as: UTF8.self)
                first = false
            }
            skipWhitespace()
            guard index < utf8.count, utf8[index] == 0x2C else { return }
            index += 1
        }
    }

    /// Every attribute of `object`: its text between the braces, as it is.
    private mutating func allMembers(of object: some StringProtocol) {
        let object = Substring(object)
        let utf8 = object.utf8
        let isWhitespace = { (byte: UInt8) in byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        var start = utf8.startIndex
        var end = utf8.endIndex
        func trim() {
            while start < end, isWhitespace(utf8[start]) { utf8.formIndex(after: &start) }
            while start < end, isWhitespace(utf8[utf8.index(before: end)]) { utf8.formIndex(before: &end) }
        }
        trim()
        guard start < end, utf8[start] == 0x7B, utf8[utf8.index(before: end)] == 0x7D,
            utf8.distance(from: start, to: end) >= 2
        else { return }
        utf8.formIndex(after: &start)
        utf8.formIndex(before: &end)
        trim()
        guard start < end else { return }
        separate()
        text.append(contentsOf: object[start..<end])
        first = false
    }

    /// Where the JSON object at `start` ends, past its closing brace; nil when it does not.
    private static func end(ofObjectAt start: Int, in utf8: [UInt8]) -> Int? {
        guard start < utf8.count, utf8[start] == 0x7B else { return nil }
        var index = start
        var depth = 0
        var inString = false
        while index < utf8.count {
            let byte = utf8[index]
            index += 1
            if inString {
                if byte == 0x5C {
                    index += 1
                } else if byte == 0x22 {
                    inString = false
                }
            } else if byte == 0x22 {
                inString = true
            } else if byte == 0x7B || byte == 0x5B {
                depth += 1
            } else if byte == 0x7D || byte == 0x5D {
                depth -= 1
                if depth == 0 { return index }
            }
        }
        return nil
    }

    private mutating func separate() {
        if !first { text += "," }
    }
}
