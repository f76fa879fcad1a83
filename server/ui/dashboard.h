// herd's web dashboard, served by herdd on its HTTP port: the page at `/`
// and its script and style under `/ui/` (built into the binary: no CDN, no
// files beside herdd), and `/ui/access`, which tells the page who the
// caller is and which verbs herd's rules give them, so a read-only
// principal sees no action buttons. Everything else the page reads or does
// goes through the REST API on the same port (/v1/…) with the token the
// person typed, so the page meets the same authentication, rules, audit
// and validation as every other caller; it has no backend of its own.
//
//   Dashboard ui({.authenticator = authn, .authorizer = authz});
//   http handler: if (Dashboard::Serves(req)) return ui.Handle(std::move(req), std::move(res));
//
// Every answer carries a Content-Security-Policy that allows only herdd's
// own script and style (no inline script, no other origin, no framing).
//
// Thread-safe; the authenticator and authorizer must outlive it.
#ifndef HERD_SERVER_UI_DASHBOARD_H_
#define HERD_SERVER_UI_DASHBOARD_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "server/auth/authenticator.h"
#include "server/auth/authorizer.h"

namespace herd::ui {

struct DashboardOptions {
  // Both required (not null), and must outlive the dashboard.
  auth::Authenticator* authenticator = nullptr;
  const auth::Authorizer* authorizer = nullptr;
  // Told of every refused /ui/access call (may be empty): "unauthenticated",
  // as herd's API reports it (herd_auth_denials_total).
  std::function<void(absl::string_view reason)> denied;
};

class Dashboard {
 public:
  explicit Dashboard(DashboardOptions options);

  // `/`, `/index.html` and `/ui/…`.
  static bool Serves(const http::Request& req);

  // GET (or HEAD) of an asset: 200 with it, 304 when If-None-Match names
  // its ETag, 404 for an unknown one.
  //
  // GET /ui/access?namespace=NS&name=N1&name=N2…: 200 with
  //   {"principal": "alice", "insecure": false,
  //    "verbs": {"N1": ["read", "rollout", …], …}}
  // naming, for each workload or pod name in the namespace, the verbs herd's
  // rules allow the caller there (protected namespaces take the mutating
  // ones away); a name "" stands for every workload of the namespace. No
  // namespace: only who the caller is. "insecure" is true when herdd takes
  // every caller (--sim, --insecure-no-auth). 401 with the authenticator's
  // message when the credentials are missing or wrong; 400 for a namespace
  // or name that is not a Kubernetes name, or more than 1000 names. With --impersonate the
  // cluster's RBAC has the last word; the page then learns of a refusal
  // when it acts.
  void Handle(http::Request req, http::Responder res) const;

  // The Content-Security-Policy every answer carries.
  static const char* ContentSecurityPolicy();

 private:
  void Access(const http::Request& req, http::Responder res) const;

  DashboardOptions options_;
};

}  // namespace herd::ui

#endif  // HERD_SERVER_UI_DASHBOARD_H_
