import DICOM
import Foundation
import HubCore
import HubStorage

/// A search of the DICOM archive (QIDO-RS, PS3.18 10.6): matching attributes, the extra attributes asked for, and
/// the page. Built from the query's parameters, whichever door they came through.
public struct DICOMQuery: Sendable {
    public var level: DICOMStore.Level
    /// Keyword and how its value matches.
    public var matches: [(String, DICOMMatch)]
    /// Attributes to add to each answer (`includefield`), beyond the level's defaults.
    public var includes: Set<DICOMTag>
    /// `includefield=all`.
    public var includeAll: Bool
    public var limit: Int
    public var offset: Int

    /// Attribute keywords a search accepts, with their tags.
    public static let keywords: [String: DICOMTag] = [
        "PatientID": .patientID, "PatientName": .patientName, "StudyDate": .studyDate, "StudyTime": .studyTime,
        "StudyInstanceUID": .studyInstanceUID, "AccessionNumber": .accessionNumber,
        "ModalitiesInStudy": .modalitiesInStudy, "SeriesInstanceUID": .seriesInstanceUID, "Modality": .modality,
        "SOPInstanceUID": .sopInstanceUID, "SOPClassUID": .sopClassUID, "StudyDescription": .studyDescription,
        "PatientBirthDate": .patientBirthDate, "PatientSex": .patientSex, "SeriesNumber": .seriesNumber,
        "InstanceNumber": .instanceNumber, "NumberOfFrames": .numberOfFrames, "Rows": .rows, "Columns": .columns,
        "StudyID": .studyID, "ReferringPhysicianName": .referringPhysicianName,
        "SeriesDescription": .seriesDescription,
    ]

    /// Attributes whose single value finds a few studies through an index (a UID finds one study, series or
    /// instance at any level).
    static let pinningKeywords: Set<String> = ["PatientID", "AccessionNumber"]

    /// The attributes each level's index keeps (PS3.18 Table 10.6.3-3, -4, -5).
    public static let studyLevel: Set<DICOMTag> = [
        .specificCharacterSet, .studyDate, .studyTime, .accessionNumber, .referringPhysicianName, .studyDescription,
        .patientName, .patientID, .patientBirthDate, .patientSex, .studyInstanceUID, .studyID,
    ]
    public static let seriesLevel: Set<DICOMTag> = [
        .modality, .seriesDescription, .seriesInstanceUID, .seriesNumber, .seriesDate, .seriesTime,
    ]
    public static let instanceLevel: Set<DICOMTag> = [
        .sopClassUID, .sopInstanceUID, .modality, .studyInstanceUID, .seriesInstanceUID, .instanceNumber,
        .numberOfFrames, .rows, .columns, .bitsAllocated,
    ]

    /// A search at `level`, within a study or series named by the path, from the query's parameters in order.
    public init(
        level: DICOMStore.Level, study: String?, series: String?, parameters: [(name: String, value: String)]
    ) throws(HubError) {
        self.level = level
        limit = try Self.integer(parameters, "limit", default: 100, range: 1...1000)
        offset = try Self.integer(parameters, "offset", default: 0, range: 0...1_000_000_000)
        matches = []
        if let study { matches.append(("StudyInstanceUID", .equals(study))) }
        if let series { matches.append(("SeriesInstanceUID", .equals(series))) }
        includes = []
        includeAll = false
        let searchable = DICOMStore.searchable(at: level)
        for (name, value) in parameters {
            switch name {
            case "limit", "offset", "fuzzymatching": continue
            case "includefield":
                for field in value.split(separator: ",") {
                    if field == "all" {
                        includeAll = true
                    } else if let tag = Self.tag(String(field)) {
                        includes.insert(tag)
                    } else {
                        throw HubError.validation("includefield", "'\(field)' is not an attribute keyword or tag")
                    }
                }
                continue
            default: break
            }
            let keyword =
                Self.keywords[name] != nil ? name : Self.keywords.first { $0.value.hex == name.uppercased() }?.key
            guard let keyword, searchable.contains(keyword) else {
                throw HubError.validation(
                    name, "is not searchable here; use \(searchable.sorted().joined(separator: ", "))")
            }
            guard !value.isEmpty else { continue }
            matches.append((keyword, try Self.match(keyword, value)))
        }
    }

    /// At instance level the index keeps the default attributes; more come from the whole metadata.
    public var needsFullMetadata: Bool { level == .instance && (includeAll || !includes.isEmpty) }

    /// Pinned by an indexed identifier, without full metadata and within the default page, a search reads a handful
    /// of rows.
    var isPinned: Bool {
        !needsFullMetadata && limit <= 100 && offset == 0
            && matches.contains { keyword, match in
                guard case .equals = match else { return false }
                return keyword.hasSuffix("UID") || (level == .study && Self.pinningKeywords.contains(keyword))
            }
    }

    /// A keyword or an 8-digit hex tag, as a tag.
    static func tag(_ field: String) -> DICOMTag? {
        if let tag = keywords[field] { return tag }
        let upper = field.uppercased()
        guard upper.count == 8, upper.allSatisfy(\.isHexDigit), let value = UInt32(upper, radix: 16) else {
            return nil
        }
        return DICOMTag(value)
    }

    /// How a value matches: wildcards, date ranges, UID lists, or single values.
    static func match(_ keyword: String, _ value: String) throws(HubError) -> DICOMMatch {
        if keyword.hasSuffix("UID") && (value.contains("\\") || value.contains(",")) {
            return .list(value.split(whereSeparator: { $0 == "\\" || $0 == "," }).map(String.init))
        }
        if keyword == "StudyDate" {
            guard value.contains("-") else {
                guard isDate(value) else { throw HubError.validation(keyword, "must be YYYYMMDD or a range") }
                return .equals(value)
            }
            let ends = value.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let from = ends[0].isEmpty ? nil : ends[0]
            let to = ends.count > 1 && !ends[1].isEmpty ? ends[1] : nil
            guard from.map(isDate) ?? true, to.map(isDate) ?? true, from != nil || to != nil else {
                throw HubError.validation(keyword, "a range is YYYYMMDD-YYYYMMDD, either end may be left open")
            }
            return .dateRange(from, to)
        }
        if value.contains("*") || value.contains("?") { return .wildcard(value) }
        return .equals(value)
    }

    static func isDate(_ value: String) -> Bool { value.count == 8 && value.allSatisfy(\.isNumber) }

    static func integer(
        _ parameters: [(name: String, value: String)], _ name: String, default value: Int, range: ClosedRange<Int>
    ) throws(HubError) -> Int {
        guard let text = parameters.first(where: { $0.name == name })?.value, !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw HubError.validation(name, "must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}
