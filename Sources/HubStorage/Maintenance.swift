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

/// Links the identifiers of the exams and results stored before the patient index existed, once, at the first start
/// after the migration that made the index.
public enum PatientIndexBackfill {
    /// The task's name in `maintenance_tasks`.
    public static let task = "link_patient_identifiers"

    /// The records whose patients it links, in this order.
    public enum Records: String, Sendable, CaseIterable {
        case exam, result
    }

    /// What a run linked.
    public struct Outcome: Sendable, Equatable {
        public var records = 0
        public var ran = false

        public init() {}
    }
}
