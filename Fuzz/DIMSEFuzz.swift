// libFuzzer entry point for the DIMSE reader: what a peer's bytes go through before anything else sees them. Not a
// SwiftPM target, for the same reason as DICOMFuzz.swift: it is compiled with the DIMSE sources into one module.
//
// Build and run from the package root (Fuzz/run.sh does both):
//   swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DIMSEFuzz -use-ld=lld \
//       Fuzz/DIMSEFuzz.swift Sources/DIMSE/*.swift -o .build/dimsefuzz
//
// The input is a byte stream as a connection delivers it: cut into PDUs by their headers, each decoded; an
// A-ASSOCIATE-RQ is negotiated, the PDVs of P-DATA-TF PDUs are assembled into messages and their command sets decoded,
// and every decoded PDU is encoded again and decoded back.

@_cdecl("LLVMFuzzerTestOneInput")
public func dimseFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let negotiation = Negotiation(
        implementationClassUID: "2.25.1", implementationVersionName: "FUZZ", maximumLength: 16384,
        supports: { $0 == SOPClass.verification || SOPClass.isStorage($0) || SOPClass.queryFind.contains($0) },
        takes: { _, syntax in syntax.hasPrefix("1.2.840.10008.1.2") })
    var assembler = MessageAssembler()
    var start = 0
    while start < bytes.count {
        guard let (type, length) = try? PDUFraming.header(bytes[start...], maximumDataLength: 16384),
            bytes.count - start - PDUFraming.headerLength >= length
        else { break }
        let bodyStart = start + PDUFraming.headerLength
        start = bodyStart + length
        guard let pdu = try? PDU.decode(type: type, body: bytes[bodyStart..<start]) else { continue }
        let again = pdu.encoded()
        if let (type, _) = try? PDUFraming.header(again, maximumDataLength: UInt32.max),
            let decoded = try? PDU.decode(type: type, body: again[PDUFraming.headerLength...])
        {
            precondition(decoded == pdu, "a PDU that does not survive its own encoding")
        }
        switch pdu {
        case .associateRequest(let request):
            _ = negotiation.accept(request)
        case .data(let values):
            for value in values {
                do {
                    if case .command(_, let command)? = try assembler.feed(value) {
                        _ = try? Command.decode(command.encoded())
                    }
                } catch {
                    // A PDV out of order ends the association; the next PDU starts afresh.
                    assembler = MessageAssembler()
                }
            }
        default: break
        }
    }
    return 0
}
