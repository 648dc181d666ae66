import Foundation
import TestSupport

/// Runs python3 with pydicom to locate its bundled test files and to dump
/// pydicom's reading of them, the independent reference these tests compare
/// against. Nothing expected is hard-coded: every reference value comes from
/// this subprocess.
enum Pydicom {
    /// Why pydicom cannot be used, or nil when it can.
    static let unavailableReason: String? = {
        switch probe {
        case .success: return nil
        case .failure(let error): return error.message
        }
    }()

    /// pydicom's package directory (its `data/test_files` and `data/charset_files` ship in the wheel).
    static var packageDirectory: String? {
        if case .success(let dir) = probe { return dir }
        return nil
    }

    private static let probe: Result<String, ProbeError> = {
        let result = run(["-c", "import pydicom, os; print(os.path.dirname(pydicom.__file__))"])
        guard result.status == 0, let dir = result.stdout.split(separator: "\n").last.map(String.init), !dir.isEmpty
        else {
            return .failure(
                ProbeError(
                    message: """
                        pydicom is required for the reference tests but `python3 -c "import pydicom"` failed \
                        (status \(result.status)): \(result.stderr.suffix(400)). \(OutsideTools.missing("pydicom")).
                        """))
        }
        return .success(dir)
    }()

    struct ProbeError: Error { let message: String }

    /// Every file pydicom ships for offline use that looks like DICOM.
    static let bundledFiles: [String] = {
        guard let dir = packageDirectory else { return [] }
        let roots = ["\(dir)/data/test_files", "\(dir)/data/charset_files"]
        var files: [String] = []
        for root in roots {
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            for case let relative as String in walker {
                let path = "\(root)/\(relative)"
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
                    continue
                }
                if relative.hasSuffix(".dcm") || relative.contains("dicomdirtests/") { files.append(path) }
            }
        }
        return files.sorted()
    }()

    /// Path of one bundled test file by name, e.g. `CT_small.dcm`.
    static func file(_ name: String) -> String? {
        bundledFiles.first { $0.hasSuffix("/" + name) }
    }

    /// pydicom's view of every bundled file, keyed by path; computed once.
    /// Never mutated after initialisation, so sharing it across test tasks is safe.
    nonisolated(unsafe) static let references: [String: [String: Any]] = {
        guard !bundledFiles.isEmpty else { return [:] }
        return dumpNow(bundledFiles)
    }()

    /// pydicom's view of arbitrary files (e.g. ones our writer produced), read while the python3 child runs off the
    /// cooperative pool.
    static func dump(_ paths: [String]) async -> [String: [String: Any]] {
        await offPool { Frozen(dumpNow(paths)) }.value
    }

    private static func dumpNow(_ paths: [String]) -> [String: [String: Any]] {
        let result = run(["-c", dumpScript] + paths)
        guard result.status == 0,
            let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)),
            let dict = object as? [String: [String: Any]]
        else {
            return ["__error__": ["message": "pydicom dump failed: \(result.stderr.suffix(2000))"]]
        }
        return dict
    }

    static func reference(for path: String) -> [String: Any]? { references[path] }

    struct RunResult { let status: Int32; let stdout: String; let stderr: String }

    /// Runs `python3` with `arguments`; used for pydicom and for encoding
    /// test strings with Python's codecs, independently of our iconv use.
    static func run(_ arguments: [String]) -> RunResult {
        // Standard error goes to a file, so a large dump on standard output cannot block on a full pipe.
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("python-\(UUID().uuidString).err")
        defer { try? FileManager.default.removeItem(at: errFile) }
        let child: ChildProcess
        do {
            child = try ChildProcess("python3", arguments, stdout: .pipe, stderr: .file(errFile.path))
        } catch {
            return RunResult(status: -1, stdout: "", stderr: "cannot start python3: \(error)")
        }
        let stdout = child.readAll()
        let status = child.wait()
        let stderr = (try? Data(contentsOf: errFile)) ?? Data()
        return RunResult(
            status: status,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Encodes `text` with a Python codec (e.g. "gb18030") and returns the bytes.
    static func encode(_ text: String, codec: String) async -> [UInt8]? {
        await offPool { encodeNow(text, codec: codec) }
    }

    private static func encodeNow(_ text: String, codec: String) -> [UInt8]? {
        let script = "import sys; sys.stdout.write(sys.argv[1].encode(sys.argv[2]).hex())"
        let result = run(["-c", script, text, codec])
        guard result.status == 0 else { return nil }
        var bytes: [UInt8] = []
        var hex = Substring(result.stdout)
        while hex.count >= 2, let b = UInt8(hex.prefix(2), radix: 16) { bytes.append(b); hex = hex.dropFirst(2) }
        return bytes
    }
}

/// A value computed once and only read afterwards, handed from the thread that computed it.
struct Frozen<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
