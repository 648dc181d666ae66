/// The rewrite of patient keys stored before identifiers had one spelling (`PatientIdentifier.canonical`).
public enum PatientRekey {
    /// What a run changed.
    public struct Outcome: Sendable, Equatable {
        public var exams = 0
        public var results = 0
        public var ran = false

        public init() {}
    }
}
