import CCurl
import CCurlShim

/// Process-wide libcurl setup.
enum CurlGlobal {
    /// `curl_global_init` must run once before any other libcurl call and is
    /// not thread-safe on every build; a lazily initialised `static let` gives
    /// exactly-once semantics across threads.
    static let initError: CurlHTTPError? = {
        // CURLOPT_PROTOCOLS_STR needs 7.85; the headers may be newer than the
        // shared library actually loaded, so check the runtime version.
        if let info = ccs_version_info_now(), info.pointee.version_num < Self.minimumVersion {
            let version = info.pointee.version.map { String(cString: $0) } ?? "unknown"
            return CurlHTTPError.internalError.with(
                detail: "libcurl \(version) is too old; 7.85.0 or later is required")
        }
        let code = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        guard code == CURLE_OK else {
            return CurlHTTPError.internalError.with(
                curlCode: Int(code.rawValue),
                detail: "curl_global_init failed: \(CurlGlobal.describe(code))"
            )
        }
        return nil
    }()

    static let minimumVersion: UInt32 = 0x07_55_00

    /// libcurl's static text for a `CURLcode`.
    static func describe(_ code: CURLcode) -> String {
        guard let text = curl_easy_strerror(code) else { return "CURLcode \(code.rawValue)" }
        return String(cString: text)
    }

    /// libcurl's static text for a `CURLMcode`.
    static func describe(_ code: CURLMcode) -> String {
        guard let text = curl_multi_strerror(code) else { return "CURLMcode \(code.rawValue)" }
        return String(cString: text)
    }

    /// Builds the error for a failed `curl_multi_*` call.
    static func multiError(_ code: CURLMcode, _ call: String) -> CurlHTTPError {
        CurlHTTPError.internalError.with(
            curlMultiCode: Int(code.rawValue),
            detail: "\(call) failed: \(describe(code))"
        )
    }

    /// `CURL_ERROR_SIZE`, the length `CURLOPT_ERRORBUFFER` must have.
    static let errorBufferSize = ccs_error_size()
}
