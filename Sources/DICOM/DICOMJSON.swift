/// Encodes datasets as DICOM JSON (`application/dicom+json`, PS3.18 F.2).
public enum DICOMJSON {
    /// Returns the DICOM JSON object for `dataset`.
    ///
    /// - Parameters:
    ///   - includeBulkData: emit binary values (OB/OD/OF/OL/OV/OW/UN) as
    ///     base64 `InlineBinary`. When false they are left out, or emitted as
    ///     `BulkDataURI` if `bulkDataBaseURI` is given.
    ///   - bulkDataBaseURI: prefix for bulk data URIs; each element gets
    ///     `<base>/<tag>[/<item>/<tag>...]` so nested values stay addressable.
    /// Group length elements (gggg,0000) are omitted, as PS3.18 F.2 requires.
    public static func encode(
        _ dataset: DataSet, includeBulkData: Bool = false,
        bulkDataBaseURI: String? = nil
    ) -> String {
        var out = ""
        var writer = Writer(includeBulkData: includeBulkData, base: bulkDataBaseURI)
        writer.object(dataset, path: [], into: &out)
        return out
    }

    /// The DICOM JSON object of only the top-level attributes in `tags` (nested sequences whole), e.g. the study-
    /// or series-level attributes of an instance.
    public static func encode(_ dataset: DataSet, only tags: Set<DICOMTag>) -> String {
        var out = ""
        var writer = Writer(includeBulkData: false, base: nil, only: tags)
        writer.object(dataset, path: [], into: &out)
        return out
    }

    private struct Writer {
        let includeBulkData: Bool
        let base: String?
        /// When set, the top-level attributes written; nested datasets are written whole.
        var only: Set<DICOMTag>? = nil

        mutating func object(_ dataset: DataSet, path: [String], into out: inout String) {
            out += "{"
            var first = true
            var seen = Set<DICOMTag>()
            let filter = path.isEmpty ? only : nil
            for element in dataset.elements.sorted(by: { $0.tag < $1.tag })
            where !element.tag.isGroupLength && (filter?.contains(element.tag) ?? true)
                && seen.insert(element.tag).inserted
            {
                if !first { out += "," }
                first = false
                out += "\"\(element.tag.hex)\":"
                attribute(element, in: dataset, path: path + [element.tag.hex], into: &out)
            }
            out += "}"
        }

        mutating func attribute(_ element: DataElement, in dataset: DataSet, path: [String], into out: inout String) {
            let vr: VR = element.isSequence ? .SQ : element.vr
            out += "{\"vr\":\"\(vr.rawValue)\""
            defer { out += "}" }
            if let items = element.items {
                guard !items.isEmpty else { return }
                out += ",\"Value\":["
                for (i, item) in items.enumerated() {
                    if i > 0 { out += "," }
                    object(item, path: path + [String(i)], into: &out)
                }
                out += "]"
                return
            }
            if vr.isBulkBinary {
                if includeBulkData && !element.isEncapsulated, let raw = dataset.bytes(of: element), !raw.isEmpty {
                    out += ",\"InlineBinary\":\"" + Base64.encode(raw) + "\""
                } else if let base {
                    out += ",\"BulkDataURI\":" + quoted(base + "/" + path.joined(separator: "/"))
                }
                return
            }
            // A value that is only padding is empty (PS3.18 F.2.5): no "Value" at all.
            guard element.length > 0, let values = values(element, vr: vr, in: dataset), !values.isEmpty,
                values != ["null"]
            else { return }
            out += ",\"Value\":[" + values.joined(separator: ",") + "]"
        }

        /// Each value already rendered as a JSON fragment.
        func values(_ element: DataElement, vr: VR, in dataset: DataSet) -> [String]? {
            switch vr {
            case .PN:
                return dataset.personNames(of: element)?.map { name in
                    if name.raw.isEmpty { return "null" }
                    var parts: [String] = []
                    if !name.alphabetic.isEmpty { parts.append("\"Alphabetic\":" + quoted(name.alphabetic)) }
                    if !name.ideographic.isEmpty { parts.append("\"Ideographic\":" + quoted(name.ideographic)) }
                    if !name.phonetic.isEmpty { parts.append("\"Phonetic\":" + quoted(name.phonetic)) }
                    return "{" + parts.joined(separator: ",") + "}"
                }
            case .IS:
                return dataset.strings(of: element)?.map { s in
                    if s.isEmpty { return "null" }
                    return DataSet.parseInt(s).map { String($0) } ?? quoted(s)
                }
            case .DS:
                return dataset.strings(of: element)?.map { s in
                    if s.isEmpty { return "null" }
                    return Double(s).map(number) ?? quoted(s)
                }
            case .US, .SS, .UL, .SL, .SV, .UV:
                return dataset.ints(of: element)?.map { String($0) }
            case .FL, .FD:
                return dataset.doubles(of: element)?.map(number)
            case .AT:
                return dataset.tagValues(element.tag)?.map { quoted($0.hex) }
            default:
                return dataset.strings(of: element)?.map { $0.isEmpty ? "null" : quoted($0) }
            }
        }

        func number(_ value: Double) -> String {
            guard value.isFinite else { return "null" }  // JSON has no NaN/Infinity
            if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
            return String(value)
        }
    }

    /// A JSON string literal for `s`.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let h = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
