import CCurl
import CCurlShim

/// Typed, checked access to one `CURL *` easy handle.
///
/// Every setter and getter turns a non-OK `CURLcode` into a ``CurlHTTPError``
/// at the call site. Only the driver thread uses these, so no locking.
struct EasyHandle {
    let raw: UnsafeMutableRawPointer

    private func check(_ code: CURLcode, _ what: @autoclosure () -> String) throws(CurlHTTPError) {
        guard code == CURLE_OK else {
            let kind: CurlHTTPError = code == CURLE_OUT_OF_MEMORY ? .internalError : .invalidRequest
            throw kind.with(
                curlCode: Int(code.rawValue),
                detail: "\(what()) failed: \(CurlGlobal.describe(code))"
            )
        }
    }

    func set(_ option: CURLoption, _ value: Int) throws(CurlHTTPError) {
        try self.check(ccs_easy_setopt_long(self.raw, option, value), "curl_easy_setopt(\(option.rawValue), long)")
    }

    func set(_ option: CURLoption, _ value: Bool) throws(CurlHTTPError) {
        try self.set(option, value ? 1 : 0)
    }

    /// libcurl copies string arguments (all but CURLOPT_POSTFIELDS, which is
    /// never used here), so a temporary C string is enough.
    func set(_ option: CURLoption, string value: String) throws(CurlHTTPError) {
        let code = value.withCString { ccs_easy_setopt_pointer(self.raw, option, $0) }
        try self.check(code, "curl_easy_setopt(\(option.rawValue), string)")
    }

    func set(_ option: CURLoption, pointer value: UnsafeRawPointer?) throws(CurlHTTPError) {
        try self.check(
            ccs_easy_setopt_pointer(self.raw, option, value), "curl_easy_setopt(\(option.rawValue), pointer)")
    }

    func set(_ option: CURLoption, offset value: Int64) throws(CurlHTTPError) {
        try self.check(
            ccs_easy_setopt_off_t(self.raw, option, curl_off_t(value)),
            "curl_easy_setopt(\(option.rawValue), curl_off_t)")
    }

    func set(_ option: CURLoption, list value: UnsafeMutablePointer<curl_slist>?) throws(CurlHTTPError) {
        try self.check(ccs_easy_setopt_slist(self.raw, option, value), "curl_easy_setopt(\(option.rawValue), slist)")
    }

    func setWriteFunction(_ callback: ccs_write_callback) throws(CurlHTTPError) {
        try self.check(ccs_easy_setopt_write_function(self.raw, callback), "CURLOPT_WRITEFUNCTION")
    }

    func setHeaderFunction(_ callback: ccs_write_callback) throws(CurlHTTPError) {
        try self.check(ccs_easy_setopt_header_function(self.raw, callback), "CURLOPT_HEADERFUNCTION")
    }

    func setReadFunction(_ callback: ccs_read_callback) throws(CurlHTTPError) {
        try self.check(ccs_easy_setopt_read_function(self.raw, callback), "CURLOPT_READFUNCTION")
    }

    func setSeekFunction(_ callback: ccs_seek_callback) throws(CurlHTTPError) {
        try self.check(ccs_easy_setopt_seek_function(self.raw, callback), "CURLOPT_SEEKFUNCTION")
    }

    func setPrereqFunction(_ callback: ccs_prereq_callback) throws(CurlHTTPError) {
        try self.check(ccs_easy_setopt_prereq_function(self.raw, callback), "CURLOPT_PREREQFUNCTION")
    }

    func getLong(_ info: CURLINFO) throws(CurlHTTPError) -> Int {
        var value = 0
        try self.check(ccs_easy_getinfo_long(self.raw, info, &value), "curl_easy_getinfo(\(info.rawValue), long)")
        return value
    }

    func getOffset(_ info: CURLINFO) throws(CurlHTTPError) -> Int64 {
        var value: curl_off_t = 0
        try self.check(
            ccs_easy_getinfo_off_t(self.raw, info, &value), "curl_easy_getinfo(\(info.rawValue), curl_off_t)")
        return Int64(value)
    }

    /// Resumes a transfer paused by returning `CURL_WRITEFUNC_PAUSE`.
    func unpause() throws(CurlHTTPError) {
        try self.check(curl_easy_pause(self.raw, ccs_pause_cont()), "curl_easy_pause(CONT)")
    }
}
