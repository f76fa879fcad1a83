// Faults kubesim injects into its own API (flags, PUT /kubesim/faults).
#include <algorithm>

#include "absl/strings/match.h"
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
    if (j.contains("throttleRate")) {
      for (const auto& [k, v] : j["throttleRate"].items()) f.throttle_rate[k] = v.get<double>();
    }
    if (j.contains("userAgent")) f.user_agent = j["userAgent"].get<std::string>();
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
  for (const auto* rates : {&f.error_rate, &f.throttle_rate}) {
    for (const auto& [verb, rate] : *rates) {
      if (!(rate >= 0 && rate <= 1)) {
        return absl::InvalidArgumentError(absl::StrCat("the rate of \"", verb, "\" must be within [0, 1]"));
      }
    }
  }
  return f;
}

Json Faults::ToJson() const {
  Json j = {{"latencyMillis", absl::ToInt64Milliseconds(latency)},
            {"errorRate", Json::object()},
            {"errorCode", error_code},
            {"throttleRate", Json::object()},
            {"retryAfterSeconds", retry_after_seconds},
            {"failNext", Json::object()},
            {"dropWatchesAfterMillis", absl::ToInt64Milliseconds(drop_watches_after)},
            {"userAgent", user_agent}};
  for (const auto& [k, v] : error_rate) j["errorRate"][k] = v;
  for (const auto& [k, v] : throttle_rate) j["throttleRate"][k] = v;
  for (const auto& [k, v] : fail_next) j["failNext"][k] = v;
  return j;
}

Json FaultCounts::ToJson() const {
  Json j = {{"errors", Json::object()},
            {"byVerb", Json::object()},
            {"delayed", delayed},
            {"droppedWatches", dropped_watches}};
  for (const auto& [code, n] : by_code) j["errors"][std::to_string(code)] = n;
  for (const auto& [verb, n] : by_verb) j["byVerb"][verb] = n;
  return j;
}

bool HttpApi::Faulted(const http::Request& req) const {
  const std::string& ua = options_.faults.user_agent;
  return ua.empty() || absl::StartsWith(req.headers.Get("User-Agent"), ua);
}


bool HttpApi::InjectFault(const http::Request& req, const std::string& verb, http::Responder& res) {
  if (!Faulted(req)) return false;
  Faults& f = options_.faults;
  auto sample = [&](const std::map<std::string, double>& rates) {
    double rate = 0;
    if (auto it = rates.find(verb); it != rates.end()) rate = it->second;
    if (auto it = rates.find("*"); it != rates.end()) rate = std::max(rate, it->second);
    return rate > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < rate;
  };
  int code = f.error_code;
  bool fail = false;
  for (const std::string& key : {verb, std::string("*")}) {
    auto it = f.fail_next.find(key);
    if (it != f.fail_next.end() && it->second > 0) {
      if (--it->second == 0) f.fail_next.erase(it);
      fail = true;
      break;
    }
  }
  if (!fail) fail = sample(f.error_rate);
  if (!fail && sample(f.throttle_rate)) {
    fail = true;
    code = 429;
  }
  if (!fail) return false;
  injected_.by_code[code]++;
  injected_.by_verb[verb]++;
  absl::Status st;
  switch (code) {
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
