// One HTTP POST to the outside world (Slack, webhooks), with libcurl:
// synchronous, bounded by a timeout, http and https only. Callers decide
// about retries from what it returns.
//
//   http::PostResult r = http::Post(url, body, {"Content-Type: application/json"}, absl::Seconds(10));
//   if (!r.error.empty()) …  // no answer (DNS, connection, timeout)
//   else if (r.status == 429) … r.retry_after …
//
// Thread-safe.
#ifndef HERD_COMMON_HTTP_CLIENT_H_
#define HERD_COMMON_HTTP_CLIENT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace herd::http {

struct PostResult {
  long status = 0;          // 0 when there was no answer
  std::string body;
  std::string retry_after;  // the Retry-After header, "" when absent
  std::string error;        // why there was no answer; "" when there was one
};

// `headers` as "Name: value" lines.
PostResult Post(const std::string& url, const std::string& body, const std::vector<std::string>& headers,
                absl::Duration timeout);

}  // namespace herd::http

#endif  // HERD_COMMON_HTTP_CLIENT_H_
