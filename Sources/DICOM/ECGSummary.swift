/// Waveform facts for ECG instances, taken from the Waveform Sequence (5400,0100).
public struct ECGSummary: Sendable, Codable, Equatable {
    /// One multiplex group (one item of the Waveform Sequence), e.g. the
    /// 10 s rhythm strip or the median beat.
    public struct Group: Sendable, Codable, Equatable {
        public var label: String?
        public var channelCount: Int?
        public var sampleCount: Int?
        /// Samples per second, in Hz.
        public var samplingFrequency: Double?
        /// Channel Label (003A,0203) if present, else the Code Meaning of the
        /// Channel Source Sequence, e.g. `Lead II`.
        public var channelLabels: [String]
        public var bitsAllocated: Int?
        public var sampleInterpretation: String?
        /// Byte range of Waveform Data (5400,1010) in the dataset buffer.
        public var dataRange: Range<Int>?
    }

    /// Number of channels of the first multiplex group.
    public var channelCount: Int? { groups.first?.channelCount }
    /// Sampling frequency of the first multiplex group, in Hz.
    public var samplingFrequency: Double? { groups.first?.samplingFrequency }
    /// Number of samples per channel of the first multiplex group.
    public var sampleCount: Int? { groups.first?.sampleCount }
    /// Channel labels of the first multiplex group.
    public var channelLabels: [String] { groups.first?.channelLabels ?? [] }
    /// Every multiplex group in order.
    public var groups: [Group]

    /// 12-lead, general and ambulatory ECG waveform storage.
    public static let sopClassUIDs: Set<String> = [
        "1.2.840.10008.5.1.4.1.1.9.1.1",
        "1.2.840.10008.5.1.4.1.1.9.1.2",
        "1.2.840.10008.5.1.4.1.1.9.1.3",
    ]

    static func isECG(sopClassUID: String) -> Bool { sopClassUIDs.contains(sopClassUID) }

    /// Reads the Waveform Sequence; nil when the dataset has none.
    public init?(_ dataset: DataSet) {
        guard let items = dataset.sequence(.waveformSequence) else { return nil }
        groups = items.map { item in
            let labels: [String] = (item.sequence(.channelDefinitionSequence) ?? []).map { channel in
                if let label = channel.string(.channelLabel), !label.isEmpty { return label }
                return channel.sequence(.channelSourceSequence)?.first?.string(.codeMeaning) ?? ""
            }
            return Group(
                label: item.string(.multiplexGroupLabel),
                channelCount: item.int(.numberOfWaveformChannels),
                sampleCount: item.int(.numberOfWaveformSamples),
                samplingFrequency: item.double(.samplingFrequency),
                channelLabels: labels,
                bitsAllocated: item.int(.waveformBitsAllocated),
                sampleInterpretation: item.string(.waveformSampleInterpretation),
                dataRange: item[.waveformData]?.valueRange)
        }
    }
}
