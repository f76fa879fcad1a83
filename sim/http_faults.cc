// Faults kubesim injects into its own API (flags, PUT /kubesim/faults).
#include <algorithm>

#include "sim/errors.h"
#include "sim/http_api.h"
#include "sim/http_body.h"

namespace herd::sim {

using Json = nlohmann::json;

// ---- Faults ----

absl::StatusOr<Faults> Faults::FromJson(const Json& j) {
  Faults f;
  try {
    if (j.contains("latencyMillis")) f.latency = absl::Milliseconds(j["latencyMillis"].get<int64_t>());
    if (j.contains("errorRate")) {
      for (const auto& [k, v] : j["errorRate"].items()) f.error_rate[k] = v.get<double>();
    }
    if (j.contains("errorCode")) f.error_code = j["errorCode"].get<int>();
    if (j.contains("retryAfterSeconds")) f.retry_after_seconds = j["retryAfterSeconds"].get<int>();
    if (j.contains("failNext")) {
      for (const auto& [k, v] : j["failNext"].items()) f.fail_next[k] = v.get<int>();
    }
    if (j.contains("dropWatchesAfterMillis")) {
      f.drop_watches_after = absl::Milliseconds(j["dropWatchesAfterMillis"].get<int64_t>());
    }
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("bad faults document: ", e.what()));
  }
  if (f.error_code != 429 && f.error_code != 500 && f.error_code != 503 && f.error_code != 504) {
    return absl::InvalidArgumentError("errorCode must be 429, 500, 503 or 504");
  }
  return f;
}

Json Faults::ToJson() const {
  Json j = {{"latencyMillis", absl::ToInt64Milliseconds(latency)},
            {"errorRate", Json::object()},
            {"errorCode", error_code},
            {"retryAfterSeconds", retry_after_seconds},
            {"failNext", Json::object()},
            {"dropWatchesAfterMillis", absl::ToInt64Milliseconds(drop_watches_after)}};
  for (const auto& [k, v] : error_rate) j["errorRate"][k] = v;
  for (const auto& [k, v] : fail_next) j["failNext"][k] = v;
  return j;
}


bool HttpApi::InjectFault(const std::string& verb, http::Responder& res) {
  Faults& f = options_.faults;
  bool fail = false;
  for (const std::string& key : {verb, std::string("*")}) {
    auto it = f.fail_next.find(key);
    if (it != f.fail_next.end() && it->second > 0) {
      if (--it->second == 0) f.fail_next.erase(it);
      fail = true;
      break;
    }
  }
  if (!fail) {
    double rate = 0;
    if (auto it = f.error_rate.find(verb); it != f.error_rate.end()) rate = it->second;
    if (auto it = f.error_rate.find("*"); it != f.error_rate.end()) rate = std::max(rate, it->second);
    if (rate > 0) fail = std::uniform_real_distribution<double>(0, 1)(rng_) < rate;
  }
  if (!fail) return false;
  absl::Status st;
  switch (f.error_code) {
    case 429:
      st = ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                    {{"retryAfterSeconds", f.retry_after_seconds}});
      break;
    case 503:
      st = ApiError(503, "ServiceUnavailable", "The server is currently unable to handle the request (injected fault)");
      break;
    case 504:
      st = ApiError(504, "Timeout", "The server was unable to return a response in the time allotted (injected fault)");
      break;
    default:
      st = ApiError(500, "InternalError", "Internal error occurred: injected fault", Json::object());
  }
  res.Respond(ErrorResponse(st));
  return true;
}


}  // namespace herd::sim
