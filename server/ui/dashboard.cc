#include "server/ui/dashboard.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/auth/policy.h"
#include "server/ui/internal_assets.h"

namespace herd::ui {
namespace {

using Json = nlohmann::json;

constexpr auth::Verb kAllVerbs[] = {auth::Verb::kRead,    auth::Verb::kRollout, auth::Verb::kUndo,
                                    auth::Verb::kScale,   auth::Verb::kPurge,   auth::Verb::kKill,
                                    auth::Verb::kCronJob, auth::Verb::kCancel,  auth::Verb::kApprove};
constexpr size_t kMaxNames = 1000;

const internal::Asset* FindAsset(absl::string_view path) {
  if (path == "/" || path == "/index.html") path = "/ui/index.html";
  for (size_t i = 0; i < internal::kAssetCount; ++i) {
    if (path == internal::kAssets[i].path) return &internal::kAssets[i];
  }
  return nullptr;
}

// A namespace, workload or pod name as Kubernetes allows them (a DNS-1123
// subdomain: lower-case letters, digits, '-' and '.', at most 253), or "".
bool IsKubernetesName(absl::string_view s) {
  if (s.size() > 253) return false;
  for (char c : s) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-' && c != '.') return false;
  }
  return true;
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

// Text from callers (a certificate's CN, names) may be any bytes: invalid
// UTF-8 is replaced, never thrown about.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void RespondJson(http::Responder& res, int status, const Json& body, http::Headers extra = {}) {
  http::Response r{.status = status, .headers = SecurityHeaders("application/json"), .body = Dump(body)};
  r.headers.Add("Cache-Control", "no-store");
  for (const auto& [k, v] : extra.fields()) r.headers.Add(k, v);
  res.Respond(std::move(r));
}

}  // namespace

Dashboard::Dashboard(DashboardOptions options) : options_(std::move(options)) {}

const char* Dashboard::ContentSecurityPolicy() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
         "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
         "require-trusted-types-for 'script'; trusted-types 'none'";
}

bool Dashboard::Serves(const http::Request& req) {
  return req.path == "/" || req.path == "/index.html" || absl::StartsWith(req.path, "/ui/");
}

void Dashboard::Handle(http::Request req, http::Responder res) const {
  if (req.path == "/ui/access") {
    if (req.method != "GET") return RespondJson(res, 405, {{"error", "GET only"}}, {{"Allow", "GET"}});
    return Access(req, std::move(res));
  }
  const internal::Asset* a = FindAsset(req.path);
  if (a == nullptr) {
    return res.Respond({.status = 404, .headers = SecurityHeaders("text/plain; charset=utf-8"),
                        .body = absl::StrCat("not found: ", req.path, "\n")});
  }
  if (req.method != "GET" && req.method != "HEAD") {
    http::Response r{.status = 405, .headers = SecurityHeaders("text/plain; charset=utf-8"), .body = "GET only\n"};
    r.headers.Add("Allow", "GET, HEAD");
    return res.Respond(std::move(r));
  }
  // Always revalidated: a new herdd's page replaces the old one at once.
  // The server leaves a HEAD's body out itself, after its length is known.
  http::Response r{.status = 200, .headers = SecurityHeaders(a->content_type)};
  r.headers.Add("ETag", a->etag);
  r.headers.Add("Cache-Control", "no-cache");
  if (req.headers.Get("If-None-Match") == a->etag) {
    r.status = 304;
  } else {
    r.body.assign(reinterpret_cast<const char*>(a->data), a->size);
  }
  res.Respond(std::move(r));
}

void Dashboard::Access(const http::Request& req, http::Responder res) const {
  auto who = options_.authenticator->Authenticate(
      {.authorization = req.headers.Get("Authorization"), .client_cert_cn = req.client_cert_cn});
  if (!who.ok()) {
    if (options_.denied) options_.denied("unauthenticated");
    return RespondJson(res, 401, {{"error", std::string(who.status().message())}}, {{"WWW-Authenticate", "Bearer"}});
  }
  const auth::Principal& p = **who;
  Json out = {{"principal", p.name}, {"insecure", options_.authenticator->insecure()}, {"verbs", Json::object()}};
  if (const std::string* ns = req.Query("namespace"); ns != nullptr) {
    std::vector<std::string> names;
    for (const auto& [k, v] : req.query) {
      if (k == "name") names.push_back(v);
    }
    if (names.empty()) names.push_back("");
    if (names.size() > kMaxNames) {
      return RespondJson(res, 400, {{"error", absl::StrCat("at most ", kMaxNames, " names in one call")}});
    }
    for (const std::string& s : names) {
      if (!IsKubernetesName(s) || !IsKubernetesName(*ns)) {
        return RespondJson(res, 400, {{"error", "namespace and name must be Kubernetes names (a-z, 0-9, '-', '.')"}});
      }
    }
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
