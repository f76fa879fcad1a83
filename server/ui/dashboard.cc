#include "server/ui/dashboard.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "server/auth/policy.h"
#include "server/ui/internal_assets.h"

namespace herd::ui {
namespace {

using Json = nlohmann::json;

constexpr auth::Verb kAllVerbs[] = {auth::Verb::kRead,   auth::Verb::kRollout, auth::Verb::kUndo,
                                    auth::Verb::kScale,  auth::Verb::kPurge,   auth::Verb::kKill,
                                    auth::Verb::kCronJob, auth::Verb::kCancel, auth::Verb::kApprove};

const internal::Asset* FindAsset(absl::string_view path) {
  if (path == "/" || path == "/index.html") path = "/ui/index.html";
  for (size_t i = 0; i < internal::kAssetCount; ++i) {
    if (path == internal::kAssets[i].path) return &internal::kAssets[i];
  }
  return nullptr;
}

// A strong validator: FNV-1a of the bytes, made once per asset.
std::string ETagOf(const internal::Asset& a) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < a.size; ++i) h = (h ^ a.data[i]) * 1099511628211ULL;
  return absl::StrCat("\"", absl::Hex(h, absl::kZeroPad16), "\"");
}

const std::map<absl::string_view, std::string>& ETags() {
  static const auto* tags = [] {
    auto* m = new std::map<absl::string_view, std::string>;
    for (size_t i = 0; i < internal::kAssetCount; ++i) (*m)[internal::kAssets[i].path] = ETagOf(internal::kAssets[i]);
    return m;
  }();
  return *tags;
}

http::Headers SecurityHeaders(absl::string_view content_type) {
  http::Headers h;
  h.Add("Content-Type", std::string(content_type));
  h.Add("Content-Security-Policy", Dashboard::ContentSecurityPolicy());
  h.Add("X-Content-Type-Options", "nosniff");
  h.Add("Referrer-Policy", "no-referrer");
  h.Add("X-Frame-Options", "DENY");
  return h;
}

void RespondJson(http::Responder& res, int status, const Json& body) {
  http::Response r{.status = status, .headers = SecurityHeaders("application/json"), .body = body.dump()};
  r.headers.Add("Cache-Control", "no-store");
  res.Respond(std::move(r));
}

}  // namespace

Dashboard::Dashboard(DashboardOptions options) : options_(options) {}

const char* Dashboard::ContentSecurityPolicy() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
         "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

bool Dashboard::Serves(const http::Request& req) {
  return req.path == "/" || req.path == "/index.html" || absl::StartsWith(req.path, "/ui/");
}

void Dashboard::Handle(http::Request req, http::Responder res) const {
  if (req.path == "/ui/access") {
    if (req.method != "GET") return RespondJson(res, 405, {{"error", "GET only"}});
    return Access(req, std::move(res));
  }
  const internal::Asset* a = FindAsset(req.path);
  if (a == nullptr) {
    http::Response r{.status = 404, .headers = SecurityHeaders("text/plain; charset=utf-8"),
                     .body = absl::StrCat("not found: ", req.path, "\n")};
    return res.Respond(std::move(r));
  }
  if (req.method != "GET" && req.method != "HEAD") {
    http::Response r{.status = 405, .headers = SecurityHeaders("text/plain; charset=utf-8"), .body = "GET only\n"};
    r.headers.Add("Allow", "GET, HEAD");
    return res.Respond(std::move(r));
  }
  const std::string& etag = ETags().at(a->path);
  http::Response r{.status = 200, .headers = SecurityHeaders(a->content_type)};
  r.headers.Add("ETag", etag);
  // Always revalidated: a new herdd's page replaces the old one at once.
  r.headers.Add("Cache-Control", "no-cache");
  if (req.headers.Get("If-None-Match") == etag) {
    r.status = 304;
  } else if (req.method == "GET") {
    r.body.assign(reinterpret_cast<const char*>(a->data), a->size);
  }
  res.Respond(std::move(r));
}

void Dashboard::Access(const http::Request& req, http::Responder res) const {
  auto who = options_.authenticator->Authenticate(
      {.authorization = req.headers.Get("Authorization"), .client_cert_cn = req.client_cert_cn});
  if (!who.ok()) {
    http::Response r{.status = 401, .headers = SecurityHeaders("application/json"),
                     .body = Json{{"error", std::string(who.status().message())}}.dump()};
    r.headers.Add("WWW-Authenticate", "Bearer");
    r.headers.Add("Cache-Control", "no-store");
    return res.Respond(std::move(r));
  }
  const auth::Principal& p = **who;
  Json out = {{"principal", p.name}, {"insecure", p.name == auth::kAnonymous}, {"verbs", Json::object()}};
  const std::string* ns = req.Query("namespace");
  if (ns != nullptr) {
    std::vector<std::string> names;
    for (const auto& [k, v] : req.query) {
      if (k == "name") names.push_back(v);
    }
    if (names.empty()) names.push_back("");
    if (names.size() > 1000) return RespondJson(res, 400, {{"error", "at most 1000 names in one call"}});
    for (const auto& name : names) {
      Json verbs = Json::array();
      for (auth::Verb v : kAllVerbs) {
        if (options_.authorizer->Authorize(p, v, *ns, name).ok()) verbs.push_back(std::string(auth::VerbName(v)));
      }
      out["verbs"][name] = std::move(verbs);
    }
  }
  RespondJson(res, 200, out);
}

}  // namespace herd::ui
