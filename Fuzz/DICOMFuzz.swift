// libFuzzer entry point for the DICOM parser. Not a SwiftPM target: it is
// compiled together with the library sources into one module, because
// SwiftPM cannot pass -sanitize=fuzzer to a single executable.
//
// Build and run from the package root (Fuzz/run.sh does both):
//   swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DICOMFuzz -use-ld=lld \
//       -I Sources/CZlib Fuzz/DICOMFuzz.swift Sources/DICOM/*.swift -o .build/dicomfuzz
//   .build/dicomfuzz -max_total_time=60 -max_len=65536 .build/fuzz-corpus
//
// lld avoids a flood of harmless ld.gold warnings about ASan symbols.
// -O keeps Swift's overflow and bounds checks (only -Ounchecked drops them),
// so any arithmetic overflow or out-of-range index shows up as a crash.

@_cdecl("LLVMFuzzerTestOneInput")
public func dicomFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var small = DICOMParseOptions()
    // Keep inflation bombs from dominating the time budget of one input.
    small.maxInflatedSize = 4 << 20
    if let file = try? DICOMFile.parse(input, options: small) {
        // Decode everything a DICOMweb layer would touch.
        _ = DICOMJSON.encode(file.dataset, includeBulkData: true)
        _ = DICOMJSON.encode(file.dataset, bulkDataBaseURI: "http://localhost/bulk")
        _ = file.summary.patientNameComponents
        _ = file.summary.ecg?.channelLabels
        for element in file.dataset.elements {
            _ = file.dataset.strings(of: element)
            _ = file.dataset.doubles(of: element)
        }
    }
    _ = try? DICOMFile.parseHeader(input, options: small)
    // The same bytes as a bare data set, as a DIMSE identifier or C-STORE data set arrives.
    for uid in [TransferSyntax.implicitVRLittleEndian, TransferSyntax.explicitVRLittleEndian] {
        if let syntax = TransferSyntax(uid: uid),
            let dataset = try? DataSet.parse(input, transferSyntax: syntax, options: small)
        {
            for element in dataset.elements { _ = dataset.strings(of: element) }
        }
    }
    return 0
}
