#include "CCurlShim.h"

// Each wrapper forwards one fixed C type through libcurl's variadic API.
// Function pointers must be passed as the exact pointer type libcurl reads
// with va_arg, hence the dedicated setters rather than a void* one.

CURLcode ccs_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode ccs_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode ccs_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode ccs_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode ccs_easy_setopt_write_function(CURL *handle, ccs_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

CURLcode ccs_easy_setopt_header_function(CURL *handle, ccs_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}

CURLcode ccs_easy_setopt_read_function(CURL *handle, ccs_read_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}

CURLcode ccs_easy_setopt_seek_function(CURL *handle, ccs_seek_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, callback);
}

CURLcode ccs_easy_setopt_xferinfo_function(CURL *handle, ccs_xferinfo_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

CURLcode ccs_easy_setopt_prereq_function(CURL *handle, ccs_prereq_callback callback) {
#if LIBCURL_VERSION_NUM >= 0x075000
    return curl_easy_setopt(handle, CURLOPT_PREREQFUNCTION, callback);
#else
    (void)handle;
    (void)callback;
    return CURLE_NOT_BUILT_IN;
#endif
}

CURLcode ccs_easy_getinfo_long(CURL *handle, CURLINFO info, long *out) {
    return curl_easy_getinfo(handle, info, out);
}

CURLcode ccs_easy_getinfo_double(CURL *handle, CURLINFO info, double *out) {
    return curl_easy_getinfo(handle, info, out);
}

CURLcode ccs_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *out) {
    return curl_easy_getinfo(handle, info, out);
}

CURLcode ccs_easy_getinfo_string(CURL *handle, CURLINFO info, const char **out) {
    // libcurl writes a `char *` through the pointer; the const only documents
    // that the caller must not modify or free it.
    return curl_easy_getinfo(handle, info, (char **)out);
}

CURLMcode ccs_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

CURLMcode ccs_multi_setopt_pointer(CURLM *multi, CURLMoption option, const void *value) {
    return curl_multi_setopt(multi, option, value);
}

int ccs_pause_cont(void) { return CURLPAUSE_CONT; }

size_t ccs_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }

size_t ccs_readfunc_abort(void) { return CURL_READFUNC_ABORT; }

size_t ccs_error_size(void) { return CURL_ERROR_SIZE; }

curl_version_info_data *ccs_version_info_now(void) { return curl_version_info(CURLVERSION_NOW); }

long ccs_header_version_num(void) { return LIBCURL_VERSION_NUM; }
