import DICOM
import Foundation

/// What a record holds for one attribute, as a C-FIND answer gives it back: text values (numbers as text), or the
/// items of a sequence.
enum FindValue: Sendable, Equatable {
    case text([String])
    case items([FindRecord])
}

/// A worklist entry or an archived study, series or instance, by attribute.
typealias FindRecord = [DICOMTag: FindValue]

/// One key of a C-FIND identifier (PS3.4 C.2.2.1): the attribute, its VR, the values to match (none: universal
/// matching), and for a sequence the keys of its item.
struct FindKey: Sendable {
    var tag: DICOMTag
    var vr: VR
    var values: [String]
    var item: [FindKey]?
}

/// The keys of a C-FIND request's identifier, matched against records and answered from them (PS3.4 C.2.2.2).
struct FindIdentifier: Sendable {
    var keys: [FindKey]
    /// The character sets the identifier names in (0008,0005).
    var characterSets: [String]

    init(_ dataset: DataSet) {
        characterSets = dataset.strings(.specificCharacterSet) ?? []
        keys = Self.keys(of: dataset)
    }

    private static func keys(of dataset: DataSet) -> [FindKey] {
        dataset.elements.compactMap { element -> FindKey? in
            guard element.tag != .specificCharacterSet, !element.tag.isGroupLength, !element.tag.isPrivate else {
                return nil
            }
            if let items = element.items {
                return FindKey(
                    tag: element.tag, vr: .SQ, values: [], item: items.first.map { keys(of: $0) } ?? [])
            }
            let values = (dataset.strings(of: element) ?? []).filter { !$0.isEmpty }
            return FindKey(tag: element.tag, vr: element.vr, values: values, item: nil)
        }
    }

    /// The key for `tag` at the top level.
    func key(_ tag: DICOMTag) -> FindKey? { keys.first { $0.tag == tag } }

    /// The single value asked for `tag`, if any.
    func value(_ tag: DICOMTag) -> String? { key(tag)?.values.first }

    /// Whether `record` matches every key with a value. A key for an attribute the record does not hold at all is a
    /// return key only: the hub cannot match on it, and answers it empty.
    func matches(_ record: FindRecord) -> Bool { Self.matches(keys, record) }

    private static func matches(_ keys: [FindKey], _ record: FindRecord) -> Bool {
        keys.allSatisfy { key in
            guard let held = record[key.tag] else { return true }
            switch held {
            case .items(let items):
                guard let itemKeys = key.item, itemKeys.contains(where: { !$0.values.isEmpty || $0.item != nil }) else {
                    return true
                }
                return items.contains { matches(itemKeys, $0) }
            case .text(let values):
                guard !key.values.isEmpty else { return true }
                return values.contains { FindMatch.matches($0, key: key) }
            }
        }
    }

    /// The answer's character set: the first the identifier names that the hub writes, or UTF-8.
    var answerCharacterSet: String { DICOMText.answerTerm(for: characterSets) }

    /// The answer for `record`: every key of the identifier with the record's value, empty where it has none, plus
    /// `extra` attributes the answer always carries, in `characterSet`.
    func answer(_ record: FindRecord, extra: FindRecord = [:], characterSet: String) -> [DICOMWriter.Element] {
        let record = record.merging(extra) { _, added in added }
        var elements = Self.answer(keys, record, characterSet: characterSet)
        for (tag, value) in extra where !keys.contains(where: { $0.tag == tag }) {
            elements.append(
                Self.element(FindKey(tag: tag, vr: Self.vr(tag), values: [], item: nil), value, characterSet))
        }
        elements.append(.string(.specificCharacterSet, .CS, characterSet))
        return elements
    }

    private static func answer(
        _ keys: [FindKey], _ record: FindRecord, characterSet: String
    ) -> [DICOMWriter.Element] {
        keys.map { key in element(key, record[key.tag], characterSet) }
    }

    private static func element(_ key: FindKey, _ value: FindValue?, _ characterSet: String) -> DICOMWriter.Element {
        switch value {
        case .items(let items):
            let itemKeys = key.item ?? []
            return DICOMWriter.Element(
                key.tag, .SQ,
                .sequence(items.map { answer(itemKeys, $0, characterSet: characterSet) }, undefinedLength: false))
        case .text(let values):
            if key.vr == .SQ { return DICOMWriter.Element(key.tag, .SQ, .sequence([], undefinedLength: false)) }
            return DICOMWriter.Element(key.tag, key.vr, Self.encoded(values, vr: key.vr, characterSet))
        case nil:
            if key.vr == .SQ { return DICOMWriter.Element(key.tag, .SQ, .sequence([], undefinedLength: false)) }
            return DICOMWriter.Element(key.tag, key.vr, .bytes([]))
        }
    }

    /// Values as the VR stores them: binary for the numeric VRs, text in the answer's character set otherwise.
    private static func encoded(_ values: [String], vr: VR, _ characterSet: String) -> DICOMWriter.Element.Value {
        switch vr {
        case .US: return .uint16s(values.compactMap { UInt16($0) })
        case .UL: return .uint32s(values.compactMap { UInt32($0) })
        case .FD: return .float64s(values.compactMap { Double($0) })
        case .SS, .SL, .FL, .OB, .OW, .OD, .OF, .OL, .OV, .UN, .AT, .SV, .UV: return .bytes([])
        default:
            let text = values.joined(separator: "\\")
            return .bytes(DICOMText.encode(text, in: characterSet) ?? Array(text.utf8))
        }
    }

    /// The VR of an attribute the hub adds to an answer.
    static func vr(_ tag: DICOMTag) -> VR {
        switch tag {
        case .queryRetrieveLevel, .modalitiesInStudy, .modality, .patientSex: .CS
        case .retrieveAETitle: .AE
        case .numberOfStudyRelatedSeries, .numberOfStudyRelatedInstances, .numberOfSeriesRelatedInstances,
            .numberOfPatientRelatedStudies, .seriesNumber, .instanceNumber:
            .IS
        case .studyInstanceUID, .seriesInstanceUID, .sopInstanceUID, .sopClassUID: .UI
        case .patientName: .PN
        case .patientID: .LO
        default: .LO
        }
    }
}

/// Matching one value against one key (PS3.4 C.2.2.2): single value, wildcards, ranges of dates and times, and
/// lists of UIDs.
enum FindMatch {
    static func matches(_ value: String, key: FindKey) -> Bool {
        let value = value.trimmingCharacters(in: .whitespaces)
        switch key.vr {
        case .UI:
            return key.values.contains(value)
        case .DA, .TM, .DT:
            return key.values.contains { asked in
                guard asked.contains("-") else { return normalized(value, key.vr) == normalized(asked, key.vr) }
                let ends = asked.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                let low = ends[0].isEmpty ? nil : normalized(String(ends[0]), key.vr)
                let high = ends.count > 1 && !ends[1].isEmpty ? normalized(String(ends[1]), key.vr) : nil
                let held = normalized(value, key.vr)
                return (low.map { held >= $0 } ?? true) && (high.map { held <= $0 } ?? true)
            }
        default:
            let caseless = key.vr == .PN
            return key.values.contains { asked in
                let asked = asked.trimmingCharacters(in: .whitespaces)
                if asked.contains("*") || asked.contains("?") {
                    return wildcard(Array(asked.unicodeScalars), Array(value.unicodeScalars), caseless: caseless)
                }
                return caseless ? asked.lowercased() == value.lowercased() : asked == value
            }
        }
    }

    /// Dates as YYYYMMDD (the old YYYY.MM.DD too); times as HHMMSS with the fraction, padded so they compare as text.
    private static func normalized(_ text: String, _ vr: VR) -> String {
        switch vr {
        case .DA:
            return text.filter { $0 != "." }
        case .TM:
            let parts = text.filter { $0 != ":" }.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let whole = String(parts[0]).padding(toLength: 6, withPad: "0", startingAt: 0)
            let fraction = parts.count > 1 ? String(parts[1]) : ""
            return whole + "." + fraction.padding(toLength: 6, withPad: "0", startingAt: 0)
        default:
            return text
        }
    }

    /// `*` any run, `?` one character; iterative, so a hostile pattern costs at most pattern × value steps.
    static func wildcard(_ pattern: [Unicode.Scalar], _ value: [Unicode.Scalar], caseless: Bool) -> Bool {
        func same(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Bool {
            caseless ? a.properties.lowercaseMapping == b.properties.lowercaseMapping : a == b
        }
        var p = 0
        var v = 0
        var star = -1
        var resume = 0
        while v < value.count {
            if p < pattern.count && (pattern[p] == "?" || (pattern[p] != "*" && same(pattern[p], value[v]))) {
                p += 1
                v += 1
            } else if p < pattern.count && pattern[p] == "*" {
                star = p
                resume = v
                p += 1
            } else if star >= 0 {
                p = star + 1
                resume += 1
                v = resume
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

extension FindRecord {
    /// A record from the DICOM JSON the archive's index keeps (PS3.18 F.2): strings, numbers and person names as
    /// text, sequences as items.
    init(dicomJSON text: String) {
        self = [:]
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return }
        self = Self.record(object)
    }

    private static func record(_ object: [String: Any]) -> FindRecord {
        var record: FindRecord = [:]
        for (key, member) in object {
            guard key.count == 8, let raw = UInt32(key, radix: 16), let attribute = member as? [String: Any] else {
                continue
            }
            let values = attribute["Value"] as? [Any] ?? []
            if attribute["vr"] as? String == "SQ" {
                record[DICOMTag(raw)] = .items(values.compactMap { ($0 as? [String: Any]).map(Self.record) })
                continue
            }
            record[DICOMTag(raw)] = .text(
                values.compactMap { value -> String? in
                    switch value {
                    case let text as String: return text
                    case let number as NSNumber:
                        let double = number.doubleValue
                        return double == double.rounded() && abs(double) < 1e15 ? String(Int64(double)) : "\(double)"
                    case let name as [String: Any]:
                        let groups = ["Alphabetic", "Ideographic", "Phonetic"].map { name[$0] as? String ?? "" }
                        var joined = groups.joined(separator: "=")
                        while joined.hasSuffix("=") { joined.removeLast() }
                        return joined
                    default: return nil
                    }
                })
        }
        return record
    }
}
