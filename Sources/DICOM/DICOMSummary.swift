/// The attributes a server needs to index, route and display an instance,
/// decoded to plain Swift values.
public struct DICOMSummary: Sendable, Codable, Equatable {
    public var transferSyntaxUID: String
    public var sopClassUID: String?
    public var sopInstanceUID: String?
    public var studyInstanceUID: String?
    public var seriesInstanceUID: String?
    public var patientID: String?
    /// The decoded Person Name, e.g. `Zhang^San=张^三`, without trailing
    /// empty component groups.
    public var patientName: String?
    public var patientBirthDate: String?
    public var patientSex: String?
    public var studyDate: String?
    public var studyTime: String?
    public var accessionNumber: String?
    public var modality: String?
    public var studyDescription: String?
    public var seriesNumber: Int?
    public var instanceNumber: Int?
    public var numberOfFrames: Int?
    public var rows: Int?
    public var columns: Int?
    /// The values of (0008,0005), e.g. `["", "ISO 2022 IR 58"]`.
    public var specificCharacterSet: [String]?
    public var institutionName: String?
    /// True when the transfer syntax stores pixel data as compressed fragments.
    public var isEncapsulated: Bool
    /// Byte range of the pixel data value in the input file (for
    /// encapsulated data: every item through the sequence delimiter). Nil
    /// without pixel data, and for deflated syntaxes, whose pixels have no
    /// position in the file.
    public var pixelDataRange: Range<Int>?
    /// Waveform facts for ECG SOP classes; nil for everything else.
    public var ecg: ECGSummary?

    public init(meta: DataSet, dataset: DataSet, transferSyntax: TransferSyntax, pixelDataRange: Range<Int>?) {
        transferSyntaxUID = transferSyntax.uid
        sopClassUID = dataset.uid(.sopClassUID) ?? meta.uid(.mediaStorageSOPClassUID)
        sopInstanceUID = dataset.uid(.sopInstanceUID) ?? meta.uid(.mediaStorageSOPInstanceUID)
        studyInstanceUID = dataset.uid(.studyInstanceUID)
        seriesInstanceUID = dataset.uid(.seriesInstanceUID)
        patientID = dataset.string(.patientID)
        // Trailing empty component groups ("Wang^XiaoDong=王^小东=") carry no
        // information and are dropped, as pydicom and DCMTK display them.
        patientName = dataset.string(.patientName).map { name in
            var s = Substring(name)
            while s.last == "=" { s = s.dropLast() }
            return String(s)
        }
        patientBirthDate = dataset.string(.patientBirthDate)
        patientSex = dataset.string(.patientSex)
        studyDate = dataset.string(.studyDate)
        studyTime = dataset.string(.studyTime)
        accessionNumber = dataset.string(.accessionNumber)
        modality = dataset.string(.modality)
        studyDescription = dataset.string(.studyDescription)
        seriesNumber = dataset.int(.seriesNumber)
        instanceNumber = dataset.int(.instanceNumber)
        numberOfFrames = dataset.int(.numberOfFrames)
        rows = dataset.int(.rows)
        columns = dataset.int(.columns)
        specificCharacterSet = dataset[.specificCharacterSet] != nil ? dataset.characterSet.terms : nil
        institutionName = dataset.string(.institutionName)
        isEncapsulated = transferSyntax.isEncapsulated
        self.pixelDataRange = pixelDataRange
        ecg = sopClassUID.flatMap { ECGSummary.isECG(sopClassUID: $0) } == true ? ECGSummary(dataset) : nil
    }

    /// The decoded patient name split into component groups.
    public var patientNameComponents: PersonName? { patientName.map { PersonName($0) } }
}
