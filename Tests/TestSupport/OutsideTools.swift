import Foundation

/// Where the tests find the outside tools they drive. `Scripts/test` installs them: system packages through
/// apt-get, Python packages into `.build-tools/` at the repository's root (never the system's Python). Every child
/// process a test starts without an environment of its own gets that folder on `PYTHONPATH` and its scripts on
/// `PATH`, so a plain `swift test` after one `Scripts/test` finds the same tools.
public enum OutsideTools {
    /// The repository's root: this file is `Tests/TestSupport/OutsideTools.swift`.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A folder of `.build-tools/` (`python` for pydicom and dicomweb-client, `fhir` for the FHIR validator).
    public static func folder(_ name: String) -> String {
        repositoryRoot.appendingPathComponent(".build-tools").appendingPathComponent(name).path
    }

    /// The command that installs every tool the tests use, named in every message about a missing one.
    public static let installCommand = "Scripts/test (or Scripts/setup test, which only installs)"

    /// What to say when a tool is missing.
    public static func missing(_ tool: String) -> String {
        "\(tool) is not installed; run \(installCommand) at the repository's root"
    }

    /// This process's environment with `.build-tools/python` first on `PYTHONPATH` and its scripts on `PATH`, and
    /// any of `pythonFolders` (names under `.build-tools/`) before it.
    public static func environment(pythonFolders: [String] = []) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let folders = (pythonFolders + ["python"]).map(folder).filter { FileManager.default.fileExists(atPath: $0) }
        guard !folders.isEmpty else { return environment }
        let join = { (parts: [String], old: String?) in (parts + (old.map { [$0] } ?? [])).joined(separator: ":") }
        environment["PYTHONPATH"] = join(folders, environment["PYTHONPATH"])
        environment["PATH"] = join(folders.map { $0 + "/bin" }, environment["PATH"] ?? "/usr/bin:/bin")
        return environment
    }

    /// The environment every child process gets unless a test gives one.
    public static let defaultEnvironment = environment()
}
