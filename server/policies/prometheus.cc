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

}  // namespace

absl::StatusOr<double> ParseQueryAnswer(long http_status, const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (http_status >= 500 && (j.is_discarded() || j.value("status", "") != "error")) {
    return absl::UnavailableError(absl::StrCat("Prometheus answered HTTP ", http_status));
  }
  if (j.is_discarded() || !j.is_object()) {
    return absl::UnavailableError(absl::StrCat("Prometheus answered HTTP ", http_status, " with no JSON"));
  }
  if (j.value("status", "") != "success") {
    const std::string message = absl::StrCat("Prometheus refused the query: ", j.value("errorType", "error"), ": ",
                                             j.value("error", "(no message)"));
    return http_status >= 500 ? absl::UnavailableError(message) : absl::InvalidArgumentError(message);
  }
  const Json& data = j.contains("data") ? j["data"] : Json();
  const std::string type = data.is_object() ? data.value("resultType", "") : "";
  const Json& result = data.is_object() && data.contains("result") ? data["result"] : Json();
  if (type == "scalar") return Sample(result);
  if (type == "vector" && result.is_array()) {
    if (result.empty()) return absl::FailedPreconditionError("the query returned no sample (no series matched)");
    if (result.size() > 1) {
      return absl::FailedPreconditionError(absl::StrCat("the query returned ", result.size(),
                                                        " series, not one: aggregate them (sum(…), max(…))"));
    }
    return Sample(result[0].is_object() && result[0].contains("value") ? result[0]["value"] : Json());
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
