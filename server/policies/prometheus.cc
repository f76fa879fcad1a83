#include "server/policies/prometheus.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/http/client.h"
#include "nlohmann/json.hpp"

namespace herd::policies {
namespace {

using Json = nlohmann::json;

// application/x-www-form-urlencoded.
std::string FormEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

absl::StatusOr<double> Sample(const Json& pair) {
  // [ <unix time>, "<value>" ]
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) {
    return absl::FailedPreconditionError("Prometheus answered a sample herd cannot read");
  }
  const std::string text = pair[1].get<std::string>();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(v)) {
    return absl::FailedPreconditionError(absl::StrCat("the query's value is ", text, ", not a finite number"));
  }
  return v;
}

// `j`'s string member `key`, "" when `j` is no object or it is no string
// (an answer is read whatever its shape: nothing in it may throw).
std::string Str(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const Json& Member(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

}  // namespace

absl::StatusOr<double> ParseQueryAnswer(long http_status, const std::string& body) {
  if (body.size() > (1 << 20)) {
    return absl::FailedPreconditionError("Prometheus answered more than 1 MiB: the query returns too much");
  }
  const Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  const std::string status = Str(j, "status");
  if (http_status >= 500 && status != "error") {
    return absl::UnavailableError(absl::StrCat("Prometheus answered HTTP ", http_status));
  }
  if (!j.is_object()) {
    return absl::UnavailableError(absl::StrCat("Prometheus answered HTTP ", http_status, " with no JSON object"));
  }
  if (status != "success") {
    const std::string type = Str(j, "errorType"), error = Str(j, "error");
    const std::string message =
        absl::StrCat("Prometheus refused the query: ", type.empty() ? absl::StrCat("HTTP ", http_status) : type, ": ",
                     error.empty() ? "(no message)" : error);
    return http_status >= 500 || status.empty() ? absl::UnavailableError(message) : absl::InvalidArgumentError(message);
  }
  const Json& data = Member(j, "data");
  const std::string type = Str(data, "resultType");
  const Json& result = Member(data, "result");
  if (type == "scalar") return Sample(result);
  if (type == "vector" && result.is_array()) {
    if (result.empty()) return absl::FailedPreconditionError("the query returned no sample (no series matched)");
    if (result.size() > 1) {
      return absl::FailedPreconditionError(absl::StrCat("the query returned ", result.size(),
                                                        " series, not one: aggregate them (sum(…), max(…))"));
    }
    return Sample(Member(result[0], "value"));
  }
  return absl::FailedPreconditionError(absl::StrCat("the query returned a ", type.empty() ? "result" : type,
                                                    ", not a scalar or one sample"));
}

absl::StatusOr<double> QueryValue(const std::string& base_url, const std::string& query, absl::Duration timeout) {
  const std::string url = absl::StrCat(absl::StripSuffix(base_url, "/"), "/api/v1/query");
  http::PostResult r =
      http::Post(url, absl::StrCat("query=", FormEncode(query)), {"Content-Type: application/x-www-form-urlencoded"},
                 timeout);
  if (!r.error.empty()) return absl::UnavailableError(absl::StrCat("cannot reach Prometheus at ", base_url, ": ", r.error));
  return ParseQueryAnswer(r.status, r.body);
}

}  // namespace herd::policies
