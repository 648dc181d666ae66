/// Lower-case hexadecimal, written without Foundation's formatter (which costs a `String(format:)` per byte on hot
/// paths such as token digests, patient keys and webhook signatures).
public enum Hex {
    private static let digits: StaticString = "0123456789abcdef"

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        bytes.withContiguousStorageIfAvailable { encode(UnsafeRawBufferPointer($0)) } ?? encode(Array(bytes))
    }

    /// Bytes in place, such as a digest's `withUnsafeBytes`: written straight into the string's storage.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            digits.withUTF8Buffer { digits in
                var index = 0
                for byte in bytes {
                    out[index] = digits[Int(byte >> 4)]
                    out[index + 1] = digits[Int(byte & 0x0F)]
                    index += 2
                }
                return index
            }
        }
    }
}
