import Foundation
import Testing

@testable import DICOM

/// Every DICOM file shipped inside the pydicom wheel, parsed by us and by
/// pydicom, compared field by field.
@Suite struct ReferenceFileTests {
    static let missing = "<pydicom is not installed: run Scripts/test>"
    /// The files, read while the tests are planned. pydicom's view of all of them (`Pydicom.references`, one python3
    /// child for some seconds) is computed here too, before any test runs: computed during the run, it would hold
    /// every cooperative thread that asks for it, and with them every hub the other tests run in this process.
    static var files: [String] {
        _ = Pydicom.references.count
        return Pydicom.bundledFiles.isEmpty ? [missing] : Pydicom.bundledFiles
    }

    @Test func pydicomIsAvailable() {
        #expect(Pydicom.unavailableReason == nil, "\(Pydicom.unavailableReason ?? "")")
        #expect(Pydicom.bundledFiles.count > 50, "expected pydicom's bundled test files")
        #expect(Pydicom.references["__error__"] == nil, "\(Pydicom.references["__error__"] ?? [:])")
    }

    @Test(arguments: files) func matchesPydicom(path: String) throws {
        try #require(path != Self.missing, "\(Pydicom.unavailableReason ?? "pydicom missing")")
        let ref = try #require(Pydicom.reference(for: path), "no pydicom reference for \(path)")
        try ReferenceComparison.check(path: path, against: ref)
    }
}
