// A blocking HTTP client for tests (libcurl), with streaming reads for
// watches.
//
//   auto r = herd::testing::Fetch({.method = "GET", .url = sim->url() + "/api/v1/pods"});
//   EXPECT_EQ(r.status, 200);
#ifndef HERD_COMMON_TESTING_HTTP_CLIENT_H_
#define HERD_COMMON_TESTING_HTTP_CLIENT_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace herd::testing {

struct FetchRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  long timeout_ms = 10000;
  std::string ca_file;  // PEM bundle to trust for https

  // Called with each piece of the body as it arrives; return false to hang up.
  std::function<bool(const std::string& chunk)> on_data;
};

struct FetchResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;                           // curl's error, "" when the exchange completed
};

FetchResponse Fetch(const FetchRequest& request);

}  // namespace herd::testing

#endif  // HERD_COMMON_TESTING_HTTP_CLIENT_H_
