import Foundation

@testable import DICOM

/// Builders for files generated with `DICOMWriter`.
enum GeneratedFiles {
    typealias E = DICOMWriter.Element

    static func identity(sopClass: String = "1.2.840.10008.5.1.4.1.1.7", modality: String = "OT") -> [E] {
        [
            .string(.sopClassUID, .UI, sopClass),
            .string(.sopInstanceUID, .UI, "2.25.1234567890123456789"),
            .string(.studyInstanceUID, .UI, "2.25.111"),
            .string(.seriesInstanceUID, .UI, "2.25.222"),
            .string(.modality, .CS, modality),
            .string(.patientID, .LO, "P0001"),
            .string(.seriesNumber, .IS, "3"),
            .string(.instanceNumber, .IS, "7"),
        ]
    }

    static func image(rows: UInt16, columns: UInt16) -> [E] {
        [
            E(.rows, .US, .uint16s([rows])),
            E(.columns, .US, .uint16s([columns])),
            E(DICOMTag(0x0028, 0x0100), .US, .uint16s([8])),
            E(DICOMTag(0x0028, 0x0101), .US, .uint16s([8])),
            E(DICOMTag(0x0028, 0x0102), .US, .uint16s([7])),
            E(.pixelRepresentation, .US, .uint16s([0])),
            E(DICOMTag(0x0028, 0x0002), .US, .uint16s([1])),
            .string(DICOMTag(0x0028, 0x0004), .CS, "MONOCHROME2"),
        ]
    }

    /// A small but structurally rich dataset: nested sequences of both
    /// length kinds, numbers of several VRs, and pixel data.
    static func rich(undefinedLengths: Bool) -> [E] {
        let nested: [[E]] = [
            [
                .string(DICOMTag(0x0008, 0x0100), .SH, "T-12345"),
                .string(.codeMeaning, .LO, "Chest"),
            ]
        ]
        return identity() + image(rows: 4, columns: 2) + [
            .string(.patientName, .PN, "Doe^John"),
            .string(DICOMTag(0x0018, 0x0050), .DS, "1.25"),
            E(DICOMTag(0x0018, 0x9087), .FD, .float64s([1000.5])),
            E(
                DICOMTag(0x0008, 0x1140), .SQ,
                .sequence(
                    [
                        [
                            .string(DICOMTag(0x0008, 0x1150), .UI, "1.2.840.10008.5.1.4.1.1.7"),
                            .string(DICOMTag(0x0008, 0x1155), .UI, "2.25.333"),
                            E(DICOMTag(0x0040, 0xA043), .SQ, .sequence(nested, undefinedLength: !undefinedLengths)),
                        ],
                        [],
                    ], undefinedLength: undefinedLengths)),
            E(.pixelData, .OB, .bytes([UInt8](repeating: 0x55, count: 8))),
        ]
    }

    static func write(_ bytes: [UInt8], name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dicom-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
