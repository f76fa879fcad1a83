// From the bytes of an HTTP/1.1 request to a herd http::Request: the Beast
// parser's limits and the conversion the server applies to what it parsed
// (path percent-decoded, query split, headers kept in order). The server
// reads from its socket with these; tests and fuzz targets feed bytes.
#ifndef HERD_COMMON_HTTP_INTERNAL_REQUEST_H_
#define HERD_COMMON_HTTP_INTERNAL_REQUEST_H_

#include <cstddef>

#include "boost/beast/http.hpp"
#include "common/http/http.h"

namespace herd::http::internal {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Headers (request line included) longer than this are refused.
inline constexpr size_t kMaxHeaderBytes = 64 * 1024;

// Sets the limits every request is parsed with.
void LimitParser(BeastParser& parser, size_t max_body_bytes);

// The parsed request as handlers see it. What the connection adds (remote,
// client_cert_cn) is left empty.
Request FromBeast(BeastRequest&& request);

}  // namespace herd::http::internal

#endif  // HERD_COMMON_HTTP_INTERNAL_REQUEST_H_
