import HubCore

/// How a change to a registry record is named in the audit log: a suspension and a reactivation are named as such,
/// every other change is an update.
enum RegistryChange {
    static func action(_ record: String, from before: RecordStatus, to after: RecordStatus) -> String {
        before == after ? "\(record).update" : "\(record).\(after == .suspended ? "suspend" : "reactivate")"
    }
}
