import Foundation

/// Flushing what a rename or a new file wrote to disk; shared by the blob store and `hubctl backup`.
public enum FileSync {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Flushes a file or folder to disk: a rename is durable only once its folder's entry is flushed too.
    public static func flush(_ path: String) throws(Failure) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(description: "cannot open \(path) to flush it: \(lastError())") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw Failure(description: "cannot flush \(path): \(lastError())") }
    }

    /// The text of the current `errno`.
    public static func lastError() -> String { String(cString: strerror(errno)) }
}
