#ifndef CCURLSHIM_H
#define CCURLSHIM_H

// Non-variadic wrappers over libcurl's variadic entry points.
//
// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt take their value
// through `...`, which Swift cannot call. Each wrapper below fixes the C type
// of that value, so the compiler performs the same promotion libcurl expects
// (long, pointer, curl_off_t, function pointer). Picking the wrapper that
// matches the option's documented argument type is the caller's job.

#include <curl/curl.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Callback signatures (the exact types libcurl documents).

/// CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION.
typedef size_t (*ccs_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
/// CURLOPT_READFUNCTION.
typedef size_t (*ccs_read_callback)(char *buffer, size_t size, size_t nitems, void *userdata);
/// CURLOPT_SEEKFUNCTION.
typedef int (*ccs_seek_callback)(void *userdata, curl_off_t offset, int origin);
/// CURLOPT_PREREQFUNCTION (libcurl >= 7.80): runs once the connection, TLS
/// included, is established or reused, just before the request is sent.
typedef int (*ccs_prereq_callback)(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                                   int conn_primary_port, int conn_local_port);
/// CURLOPT_XFERINFOFUNCTION.
typedef int (*ccs_xferinfo_callback)(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
                                     curl_off_t ultotal, curl_off_t ulnow);

// MARK: curl_easy_setopt

CURLcode ccs_easy_setopt_long(CURL *handle, CURLoption option, long value);
/// For string options (libcurl copies strings, except CURLOPT_POSTFIELDS) and
/// for opaque userdata pointers such as CURLOPT_WRITEDATA.
CURLcode ccs_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value);
CURLcode ccs_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode ccs_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode ccs_easy_setopt_write_function(CURL *handle, ccs_write_callback callback);
CURLcode ccs_easy_setopt_header_function(CURL *handle, ccs_write_callback callback);
CURLcode ccs_easy_setopt_read_function(CURL *handle, ccs_read_callback callback);
CURLcode ccs_easy_setopt_seek_function(CURL *handle, ccs_seek_callback callback);
CURLcode ccs_easy_setopt_xferinfo_function(CURL *handle, ccs_xferinfo_callback callback);
/// Returns CURLE_NOT_BUILT_IN when compiled against libcurl older than 7.80.
CURLcode ccs_easy_setopt_prereq_function(CURL *handle, ccs_prereq_callback callback);

// MARK: curl_easy_getinfo

CURLcode ccs_easy_getinfo_long(CURL *handle, CURLINFO info, long *out);
CURLcode ccs_easy_getinfo_double(CURL *handle, CURLINFO info, double *out);
CURLcode ccs_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *out);
/// The returned string is owned by the handle and valid until it is reset or cleaned up.
CURLcode ccs_easy_getinfo_string(CURL *handle, CURLINFO info, const char **out);

// MARK: curl_multi_setopt

CURLMcode ccs_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
CURLMcode ccs_multi_setopt_pointer(CURLM *multi, CURLMoption option, const void *value);

// MARK: Constants that are macros built from expressions Swift does not import.

/// CURLPAUSE_CONT: unpause both directions.
int ccs_pause_cont(void);
/// CURL_WRITEFUNC_PAUSE: returned from a write callback to pause the transfer.
size_t ccs_writefunc_pause(void);
/// CURL_READFUNC_ABORT: returned from a read callback to abort the transfer.
size_t ccs_readfunc_abort(void);
/// CURL_ERROR_SIZE: the size CURLOPT_ERRORBUFFER must have.
size_t ccs_error_size(void);
/// curl_version_info(CURLVERSION_NOW): the loaded library's version data.
curl_version_info_data *ccs_version_info_now(void);
/// LIBCURL_VERSION_NUM of the headers compiled against.
long ccs_header_version_num(void);

#ifdef __cplusplus
}
#endif

#endif
