// HttpApi's authentication, impersonation and authorization, and the APIs
// that answer questions about them: SelfSubjectAccessReview,
// SelfSubjectRulesReview, SubjectAccessReview, LocalSubjectAccessReview,
// TokenReview and the ServiceAccount TokenRequest.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "sim/errors.h"
#include "sim/json_text.h"
#include "sim/http_api.h"
#include "sim/http_body.h"
#include "sim/schema/schema.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

http::Response Created(const Json& body) {
  http::Response r{.status = 201, .body = JsonText(body)};
  r.headers.Add("Content-Type", "application/json");
  r.headers.Add("Cache-Control", "no-cache, private");
  return r;
}

std::vector<std::string> Strings(const Json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const auto& v : list) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

// A review's spec as the attributes to decide on.
RequestAttributes ReviewAttributes(const Json& spec, UserInfo user) {
  RequestAttributes a{.user = std::move(user)};
  if (spec.contains("nonResourceAttributes") && spec["nonResourceAttributes"].is_object()) {
    const Json& n = spec["nonResourceAttributes"];
    a.resource_request = false;
    a.verb = n.value("verb", "");
    a.path = n.value("path", "");
    return a;
  }
  const Json& r = spec.value("resourceAttributes", Json::object());
  a.verb = r.value("verb", "");
  a.api_group = r.value("group", "");
  a.resource = r.value("resource", "");
  a.subresource = r.value("subresource", "");
  a.ns = r.value("namespace", "");
  a.name = r.value("name", "");
  return a;
}

}  // namespace

// The RBAC kinds, read from the store.
class StoreRbacObjects : public RbacObjects {
 public:
  explicit StoreRbacObjects(const Store& store) : store_(store) {}
  void ForEachClusterRoleBinding(const std::function<void(const Json&)>& fn) const override {
    store_.Scan(kClusterRoleBindings, "", "", [&](const ObjectPtr& o) {
      fn(o->object);
      return true;
    });
  }
  void ForEachRoleBinding(const std::string& ns, const std::function<void(const Json&)>& fn) const override {
    store_.Scan(kRoleBindings, ns, "", [&](const ObjectPtr& o) {
      fn(o->object);
      return true;
    });
  }
  const Json* ClusterRole(const std::string& name) const override { return Find(kClusterRoles, "", name); }
  const Json* Role(const std::string& ns, const std::string& name) const override { return Find(kRoles, ns, name); }

 private:
  const Json* Find(ResourceId r, const std::string& ns, const std::string& name) const {
    // The store keeps the object alive beyond this call.
    ObjectPtr o = store_.Get(r, ns, name);
    return o ? &o->object : nullptr;
  }
  const Store& store_;
};

std::unique_ptr<RbacObjects> NewStoreRbacObjects(const Store& store) {
  return std::make_unique<StoreRbacObjects>(store);
}

Decision HttpApi::Decide(const RequestAttributes& a) const {
  if (options_.authorization == Authorization::kAlwaysAllow) return {true, ""};
  return rbac_->Authorize(a);
}

absl::Status HttpApi::Authorize(const RequestAttributes& a) const {
  if (Decide(a).allowed) return absl::OkStatus();
  ForbiddenStatus f = Forbidden(a);
  return ApiError(403, "Forbidden", f.message, f.details);
}

absl::StatusOr<UserInfo> HttpApi::Identify(const http::Request& req) {
  Store& store = api_.store();
  auto lookup = [&store](const std::string& ns, const std::string& name) -> std::optional<std::string> {
    ObjectPtr sa = store.Get(kServiceAccounts, ns, name);
    if (!sa) return std::nullopt;
    return sa->object["metadata"].value("uid", "");
  };
  auto authenticated = authn_.Authenticate(req.headers.Get("Authorization"), req.client_cert_cn, lookup, absl::Now());
  if (!authenticated.ok()) return ApiError(401, "Unauthorized", "Unauthorized");
  UserInfo user;
  if (authenticated->has_value()) {
    user = **std::move(authenticated);
  } else if (options_.authorization == Authorization::kAlwaysAllow && authn_.configured()) {
    return ApiError(401, "Unauthorized", "Unauthorized");  // no anonymous callers once credentials exist
  } else {
    user = Anonymous();
  }

  // Impersonation: every header is a separate impersonate check.
  std::string as_user(req.headers.Get("Impersonate-User"));
  std::vector<std::string> as_groups;
  for (const auto& [k, v] : req.headers.fields()) {
    if (absl::AsciiStrToLower(k) == "impersonate-group") as_groups.push_back(v);
  }
  if (as_user.empty()) {
    if (!as_groups.empty()) {
      return ApiError(500, "InternalError",
                      "Internal error occurred: requested [{Group  " + as_groups[0] +
                          "    }] without impersonating a user",
                      Json::object());
    }
    return user;
  }
  UserInfo as{as_user, std::string(req.headers.Get("Impersonate-Uid")), {}};
  if (auto sa = SplitServiceAccountUser(as_user)) {
    RequestAttributes a{.user = user, .verb = "impersonate", .resource = "serviceaccounts", .ns = sa->first,
                        .name = sa->second};
    if (auto st = Authorize(a); !st.ok()) return st;
    if (as_groups.empty()) {
      as.groups = {"system:serviceaccounts", absl::StrCat("system:serviceaccounts:", sa->first)};
    }
  } else {
    RequestAttributes a{.user = user, .verb = "impersonate", .resource = "users", .name = as_user};
    if (auto st = Authorize(a); !st.ok()) return st;
  }
  for (const auto& g : as_groups) {
    RequestAttributes a{.user = user, .verb = "impersonate", .resource = "groups", .name = g};
    if (auto st = Authorize(a); !st.ok()) return st;
    as.groups.push_back(g);
  }
  if (as_user != kAnonymousUser && !as.InGroup("system:authenticated")) as.groups.push_back("system:authenticated");
  return as;
}

void HttpApi::ServeReview(http::Request& req, http::Responder& res, const Route& route) {
  const ResourceType& rt = *route.rt;
  if (req.method != "POST") {
    return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
  }
  auto decoded = DecodeBody(req, {schema::FindKind(rt.ApiVersion(), rt.kind), rt.kind, rt.version});
  if (!decoded.ok()) return res.Respond(ErrorResponse(decoded.status()));
  Json obj = std::move(decoded->object);
  if (!obj.is_object()) return res.Respond(ErrorResponse(BadRequest("the body of the request was in an unknown format")));
  obj["kind"] = rt.kind;
  obj["apiVersion"] = rt.ApiVersion();
  obj["metadata"] = Json{{"creationTimestamp", nullptr}};
  Json spec = obj.value("spec", Json::object());
  Json status;
  switch (rt.id) {
    case kSelfSubjectAccessReviews:
    case kSubjectAccessReviews:
    case kLocalSubjectAccessReviews: {
      UserInfo who = requester_;
      if (rt.id != kSelfSubjectAccessReviews) {
        who = {spec.value("user", ""), spec.value("uid", ""), Strings(spec.value("groups", Json::array()))};
        if (who.name.empty() && who.groups.empty()) {
          return res.Respond(ErrorResponse(Invalid(rt, "", Json::array({Cause("FieldValueRequired", "spec.user",
                                                                               "Required value: at least one of user or group must be specified")}))));
        }
      }
      if (!spec.contains("resourceAttributes") && !spec.contains("nonResourceAttributes")) {
        return res.Respond(ErrorResponse(Invalid(rt, "", Json::array({Cause("FieldValueRequired", "spec.resourceAttributes",
                                                                             "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified")}))));
      }
      RequestAttributes a = ReviewAttributes(spec, who);
      if (rt.id == kLocalSubjectAccessReviews) {
        if (a.ns != route.ns) {
          return res.Respond(ErrorResponse(Invalid(rt, "", Json::array({Cause("FieldValueInvalid", "spec.resourceAttributes.namespace",
                                                                               "Invalid value: \"" + a.ns + "\": must match metadata.namespace")}))));
        }
        obj["metadata"]["namespace"] = route.ns;
      }
      Decision d = Decide(a);
      status = {{"allowed", d.allowed}};
      if (!d.reason.empty()) status["reason"] = d.reason;
      break;
    }
    case kSelfSubjectRulesReviews: {
      std::string ns = spec.value("namespace", "");
      if (options_.authorization == Authorization::kAlwaysAllow) {
        status = {{"resourceRules", Json::array({{{"verbs", {"*"}}, {"apiGroups", {"*"}}, {"resources", {"*"}}}})},
                  {"nonResourceRules", Json::array({{{"verbs", {"*"}}, {"nonResourceURLs", {"*"}}}})},
                  {"incomplete", false}};
      } else {
        status = rbac_->RulesReviewStatus(requester_, ns);
      }
      break;
    }
    case kTokenReviews: {
      Store& store = api_.store();
      auto lookup = [&store](const std::string& ns, const std::string& name) -> std::optional<std::string> {
        ObjectPtr sa = store.Get(kServiceAccounts, ns, name);
        if (!sa) return std::nullopt;
        return sa->object["metadata"].value("uid", "");
      };
      auto who = authn_.Authenticate(absl::StrCat("Bearer ", spec.value("token", "")), "", lookup, absl::Now());
      if (who.ok() && who->has_value()) {
        status = {{"authenticated", true},
                  {"user", {{"username", (*who)->name}, {"uid", (*who)->uid}, {"groups", (*who)->groups}}},
                  {"audiences", Json::array({kTokenAudience})}};
      } else {
        status = {{"user", Json::object()}, {"error", "invalid bearer token"}};
      }
      break;
    }
    default:
      return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
  }
  obj["status"] = status;
  res.Respond(Created(obj));
}

void HttpApi::ServeTokenRequest(http::Request& req, http::Responder& res, const Route& route) {
  if (req.method != "POST") {
    return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
  }
  auto decoded = DecodeBody(req, {schema::FindKind("authentication.k8s.io/v1", "TokenRequest"), "TokenRequest", "v1"});
  if (!decoded.ok()) return res.Respond(ErrorResponse(decoded.status()));
  auto sa = api_.Get(kServiceAccounts, route.ns, route.name);
  if (!sa.ok()) return res.Respond(ErrorResponse(sa.status()));
  Json spec = decoded->object.value("spec", Json::object());
  Json audiences = spec.value("audiences", Json::array());
  if (!audiences.is_array() || audiences.empty()) audiences = Json::array({kTokenAudience});
  int64_t seconds = 3600;
  if (spec.contains("expirationSeconds") && spec["expirationSeconds"].is_number_integer()) {
    seconds = spec["expirationSeconds"].get<int64_t>();
  }
  static const ResourceType kTokenRequest{kResourceCount, "authentication.k8s.io", "v1", "token", "token",
                                          "TokenRequest", true, {}, {}, {}, "", {}};
  if (seconds < 600) {
    return res.Respond(ErrorResponse(Invalid(
        kTokenRequest, route.name,
        Json::array({Cause("FieldValueInvalid", "spec.expirationSeconds",
                           absl::StrCat("Invalid value: ", seconds, ": may not specify a duration less than 10 minutes"))}))));
  }
  absl::Time now = absl::Now();
  std::string uid = (*sa)->object["metadata"].value("uid", "");
  auto token = authn_.signer().Issue(route.ns, route.name, uid, Strings(audiences), now, absl::Seconds(seconds));
  if (!token.ok()) return res.Respond(ErrorResponse(Internal(token.status().message())));
  Json out = {{"kind", "TokenRequest"},
              {"apiVersion", "authentication.k8s.io/v1"},
              {"metadata", {{"name", route.name}, {"namespace", route.ns}, {"creationTimestamp", k8s::FormatTime(now)}}},
              {"spec", {{"audiences", audiences}, {"expirationSeconds", seconds}, {"boundObjectRef", spec.value("boundObjectRef", Json())}}},
              {"status", {{"token", *token}, {"expirationTimestamp", k8s::FormatTime(now + absl::Seconds(seconds))}}}};
  res.Respond(Created(out));
}

}  // namespace herd::sim
