#ifndef CCURL_H
#define CCURL_H

// Umbrella for the system libcurl headers; curl/curl.h pulls in multi.h,
// easy.h and the option/info enums that CurlHTTP uses directly from Swift.
#include <curl/curl.h>

#endif
