/// A DICOM attribute tag, `(gggg,eeee)`.
public struct DICOMTag: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The group number (odd groups are private).
    public let group: UInt16
    /// The element number within the group.
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// Creates a tag from its 32-bit `0xGGGGEEEE` form.
    public init(_ value: UInt32) {
        self.group = UInt16(truncatingIfNeeded: value >> 16)
        self.element = UInt16(truncatingIfNeeded: value)
    }

    /// The tag as `0xGGGGEEEE`; also its sort key.
    public var value: UInt32 { UInt32(group) << 16 | UInt32(element) }

    /// True for tags in odd groups, whose meaning is vendor-defined.
    public var isPrivate: Bool { group & 1 == 1 }

    /// True for `(gggg,0000)` group length elements.
    public var isGroupLength: Bool { element == 0 }

    /// True for private creator elements `(gggg,0010-00FF)` in odd groups.
    public var isPrivateCreator: Bool { isPrivate && element >= 0x10 && element <= 0xFF }

    /// Eight upper-case hex digits, the key form used by DICOM JSON.
    public var hex: String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    public var description: String {
        let h = hex
        return "(\(h.prefix(4)),\(h.suffix(4)))"
    }

    public static func < (lhs: DICOMTag, rhs: DICOMTag) -> Bool { lhs.value < rhs.value }
}

extension DICOMTag {
    // Delimitation items; these never carry a VR, even in explicit VR syntaxes.
    public static let item = DICOMTag(0xFFFE, 0xE000)
    public static let itemDelimitation = DICOMTag(0xFFFE, 0xE00D)
    public static let sequenceDelimitation = DICOMTag(0xFFFE, 0xE0DD)

    // File meta information.
    public static let fileMetaInformationGroupLength = DICOMTag(0x0002, 0x0000)
    public static let fileMetaInformationVersion = DICOMTag(0x0002, 0x0001)
    public static let mediaStorageSOPClassUID = DICOMTag(0x0002, 0x0002)
    public static let mediaStorageSOPInstanceUID = DICOMTag(0x0002, 0x0003)
    public static let transferSyntaxUID = DICOMTag(0x0002, 0x0010)
    public static let implementationClassUID = DICOMTag(0x0002, 0x0012)
    public static let implementationVersionName = DICOMTag(0x0002, 0x0013)

    // Identification and patient/study/series attributes used by the summary.
    public static let specificCharacterSet = DICOMTag(0x0008, 0x0005)
    public static let sopClassUID = DICOMTag(0x0008, 0x0016)
    public static let sopInstanceUID = DICOMTag(0x0008, 0x0018)
    public static let studyDate = DICOMTag(0x0008, 0x0020)
    public static let studyTime = DICOMTag(0x0008, 0x0030)
    public static let accessionNumber = DICOMTag(0x0008, 0x0050)
    public static let modality = DICOMTag(0x0008, 0x0060)
    public static let institutionName = DICOMTag(0x0008, 0x0080)
    public static let codeMeaning = DICOMTag(0x0008, 0x0104)
    public static let studyDescription = DICOMTag(0x0008, 0x1030)
    public static let patientName = DICOMTag(0x0010, 0x0010)
    public static let patientID = DICOMTag(0x0010, 0x0020)
    public static let patientBirthDate = DICOMTag(0x0010, 0x0030)
    public static let patientSex = DICOMTag(0x0010, 0x0040)
    public static let studyInstanceUID = DICOMTag(0x0020, 0x000D)
    public static let seriesInstanceUID = DICOMTag(0x0020, 0x000E)
    public static let seriesNumber = DICOMTag(0x0020, 0x0011)
    public static let instanceNumber = DICOMTag(0x0020, 0x0013)
    public static let numberOfFrames = DICOMTag(0x0028, 0x0008)
    public static let rows = DICOMTag(0x0028, 0x0010)
    public static let pixelRepresentation = DICOMTag(0x0028, 0x0103)
    public static let columns = DICOMTag(0x0028, 0x0011)

    // More study, series and instance attributes that DICOMweb searches and answers with.
    public static let seriesDate = DICOMTag(0x0008, 0x0021)
    public static let seriesTime = DICOMTag(0x0008, 0x0031)
    public static let modalitiesInStudy = DICOMTag(0x0008, 0x0061)
    public static let referringPhysicianName = DICOMTag(0x0008, 0x0090)
    public static let seriesDescription = DICOMTag(0x0008, 0x103E)
    public static let studyID = DICOMTag(0x0020, 0x0010)
    public static let numberOfStudyRelatedSeries = DICOMTag(0x0020, 0x1206)
    public static let numberOfStudyRelatedInstances = DICOMTag(0x0020, 0x1208)
    public static let numberOfSeriesRelatedInstances = DICOMTag(0x0020, 0x1209)
    public static let numberOfPatientRelatedStudies = DICOMTag(0x0020, 0x1200)

    // Query/Retrieve and Modality Worklist (PS3.4 C.6, K.6).
    public static let queryRetrieveLevel = DICOMTag(0x0008, 0x0052)
    public static let retrieveAETitle = DICOMTag(0x0008, 0x0054)
    public static let failedSOPInstanceUIDList = DICOMTag(0x0008, 0x0058)
    public static let transactionUID = DICOMTag(0x0008, 0x1195)
    public static let codeValue = DICOMTag(0x0008, 0x0100)
    public static let codingSchemeDesignator = DICOMTag(0x0008, 0x0102)
    public static let issuerOfPatientID = DICOMTag(0x0010, 0x0021)
    public static let otherPatientIDsSequence = DICOMTag(0x0010, 0x1002)
    public static let requestedProcedureDescription = DICOMTag(0x0032, 0x1060)
    public static let requestedProcedureCodeSequence = DICOMTag(0x0032, 0x1064)
    public static let scheduledStationAETitle = DICOMTag(0x0040, 0x0001)
    public static let scheduledProcedureStepStartDate = DICOMTag(0x0040, 0x0002)
    public static let scheduledProcedureStepStartTime = DICOMTag(0x0040, 0x0003)
    public static let scheduledProcedureStepDescription = DICOMTag(0x0040, 0x0007)
    public static let scheduledProcedureStepID = DICOMTag(0x0040, 0x0009)
    public static let scheduledProcedureStepStatus = DICOMTag(0x0040, 0x0020)
    public static let scheduledProcedureStepSequence = DICOMTag(0x0040, 0x0100)
    public static let requestedProcedureID = DICOMTag(0x0040, 0x1001)
    public static let reasonForTheRequestedProcedure = DICOMTag(0x0040, 0x1002)
    public static let requestedProcedurePriority = DICOMTag(0x0040, 0x1003)
    public static let bitsAllocated = DICOMTag(0x0028, 0x0100)

    // References and outcomes in storage answers (PS3.4 Annex GG, PS3.18 10.5).
    public static let referencedSOPClassUID = DICOMTag(0x0008, 0x1150)
    public static let referencedSOPInstanceUID = DICOMTag(0x0008, 0x1155)
    public static let retrieveURL = DICOMTag(0x0008, 0x1190)
    public static let failureReason = DICOMTag(0x0008, 0x1197)
    public static let failedSOPSequence = DICOMTag(0x0008, 0x1198)
    public static let referencedSOPSequence = DICOMTag(0x0008, 0x1199)

    // Waveform (ECG) attributes.
    public static let numberOfWaveformChannels = DICOMTag(0x003A, 0x0005)
    public static let numberOfWaveformSamples = DICOMTag(0x003A, 0x0010)
    public static let samplingFrequency = DICOMTag(0x003A, 0x001A)
    public static let multiplexGroupLabel = DICOMTag(0x003A, 0x0020)
    public static let channelDefinitionSequence = DICOMTag(0x003A, 0x0200)
    public static let channelLabel = DICOMTag(0x003A, 0x0203)
    public static let channelSourceSequence = DICOMTag(0x003A, 0x0208)
    public static let waveformSequence = DICOMTag(0x5400, 0x0100)
    public static let waveformBitsAllocated = DICOMTag(0x5400, 0x1004)
    public static let waveformSampleInterpretation = DICOMTag(0x5400, 0x1006)
    public static let waveformData = DICOMTag(0x5400, 0x1010)

    // Pixel data variants; parsing for headers stops at the first of these.
    public static let floatPixelData = DICOMTag(0x7FE0, 0x0008)
    public static let doubleFloatPixelData = DICOMTag(0x7FE0, 0x0009)
    public static let pixelData = DICOMTag(0x7FE0, 0x0010)

    /// True for the three top-level bulk pixel attributes.
    var isPixelData: Bool {
        group == 0x7FE0 && (element == 0x0010 || element == 0x0008 || element == 0x0009)
    }
}
