#include "sim/http_api.h"
#include "sim/json_text.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/k8s/selector.h"
#include "common/log/log.h"
#include "sim/discovery.h"
#include "sim/errors.h"
#include "sim/http_body.h"
#include "sim/protobuf/protobuf.h"
#include "sim/schema/schema.h"
#include "sim/internal/http_util.h"
#include "sim/tables/tables.h"

namespace herd::sim {

using http_internal::DryRun;
using http_internal::FieldManager;
using http_internal::EventLine;
using http_internal::Negotiate;
using http_internal::Negotiated;
using http_internal::ParseSelection;
using http_internal::PartialMetadata;
using http_internal::QueryTrue;
using http_internal::Render;
using http_internal::Selection;
using http_internal::SuccessStatus;
using http_internal::TableRow;
using http_internal::kJson;
using http_internal::Base64Url;
using Json = nlohmann::json;

// ---- Routes ----

namespace {

// Splits /api/v1/… or /apis/G/V/… into a resource route. nullopt when the
// path is not a resource path at all; an error when it names something
// not served.
absl::StatusOr<std::optional<HttpApi::Route>> ParseRoute(absl::string_view path);

}  // namespace

// ---- HttpApi ----

HttpApi::HttpApi(EventLoop& loop, ApiServer& api, HttpApiOptions options)
    : loop_(loop), api_(api), options_(std::move(options)),
      rng_(options_.seed ? options_.seed : std::random_device{}()),
      authn_({.admin_token = options_.token, .static_tokens = options_.static_tokens}),
      rbac_objects_(NewStoreRbacObjects(api.store())),
      rbac_(std::make_unique<RbacAuthorizer>(*rbac_objects_)) {}

HttpApi::~HttpApi() = default;


void HttpApi::SetFaults(Faults faults) { options_.faults = std::move(faults); }

void HttpApi::Handle(http::Request request, http::Responder responder) {
  if (options_.faults.latency > absl::ZeroDuration() && absl::StartsWith(request.path, "/api") && Faulted(request)) {
    injected_.delayed++;
    auto shared = std::make_shared<std::pair<http::Request, http::Responder>>(std::move(request), std::move(responder));
    loop_.PostAfter(options_.faults.latency, [this, shared] { Serve(shared->first, shared->second); });
    return;
  }
  Serve(request, responder);
}

namespace {

absl::StatusOr<std::optional<HttpApi::Route>> ParseRoute(absl::string_view path) {
  std::vector<std::string> seg = absl::StrSplit(absl::StripPrefix(path, "/"), '/', absl::SkipEmpty());
  std::string group, version;
  size_t i;
  if (seg.size() >= 2 && seg[0] == "api") {
    version = seg[1];
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    version = seg[2];
    i = 3;
  } else {
    return std::optional<HttpApi::Route>();
  }
  if (i == seg.size()) return std::optional<HttpApi::Route>();
  HttpApi::Route route;
  std::vector<std::string> rest(seg.begin() + static_cast<long>(i), seg.end());
  if (rest[0] == "namespaces" && rest.size() >= 3 && !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"))) {
    route.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.size() > 3) return ApiError(404, "NotFound", "the server could not find the requested resource");
  route.rt = FindResource(group, version, rest[0]);
  if (!route.rt) return ApiError(404, "NotFound", "the server could not find the requested resource");
  if (rest.size() >= 2) route.name = rest[1];
  if (rest.size() == 3) route.sub = rest[2];
  if (!route.sub.empty() && !route.rt->HasSubresource(route.sub) &&
      !(route.rt->id == kNamespaces && route.sub == "finalize")) {
    return ApiError(404, "NotFound", "the server could not find the requested resource");
  }
  if (route.rt->namespaced && route.ns.empty() && !route.name.empty()) {
    return ApiError(404, "NotFound", "the server could not find the requested resource");
  }
  if (!route.rt->namespaced && !route.ns.empty()) {
    return ApiError(404, "NotFound", "the server could not find the requested resource");
  }
  return std::optional<HttpApi::Route>(route);
}

// The type a route's write bodies must have.
BodyType BodyTypeOf(const HttpApi::Route& route) {
  const ResourceType& rt = *route.rt;
  BodyType t{schema::FindKind(rt.ApiVersion(), rt.kind), rt.kind, rt.version};
  if (route.sub == "scale") t = {schema::FindKind("autoscaling/v1", "Scale"), "Scale", "v1"};
  if (route.sub == "eviction") t = {schema::FindKind("policy/v1", "Eviction"), "Eviction", "v1"};
  if (route.sub == "binding") t = {schema::FindKind("v1", "Binding"), "Binding", "v1"};
  return t;
}

// PatchOptions validation: an apply names its field manager; force is for
// applies only. 422 worded as the API server words it.
absl::Status CheckPatchOptions(const http::Request& req, PatchType type) {
  Json cause;
  if (type == PatchType::kApply && (req.Query("fieldManager") == nullptr || req.Query("fieldManager")->empty())) {
    cause = Cause("FieldValueRequired", "fieldManager", "Required value: is required for apply patch");
  } else if (type != PatchType::kApply && req.Query("force") != nullptr) {
    cause = Cause("FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch");
  } else {
    return absl::OkStatus();
  }
  return ApiError(422, "Invalid",
                  absl::StrCat("PatchOptions.meta.k8s.io \"\" is invalid: ", cause["field"].get<std::string>(), ": ",
                               cause["message"].get<std::string>()),
                  {{"group", "meta.k8s.io"}, {"kind", "PatchOptions"}, {"causes", Json::array({cause})}});
}

std::string VerbOf(const std::string& method, const HttpApi::Route& route, const http::Request& req) {
  if (method == "GET" || method == "HEAD") {
    if (!route.name.empty()) return "get";
    return QueryTrue(req, "watch") ? "watch" : "list";
  }
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return route.name.empty() ? "deletecollection" : "delete";
  return absl::AsciiStrToLower(method);
}

}  // namespace

void HttpApi::Serve(http::Request& req, http::Responder& res) {
  const std::string& path = req.path;
  // Health and version are public, as on a cluster with default RBAC.
  if (path == "/healthz" || path == "/livez" || path == "/readyz") {
    http::Response r{.status = 200, .body = "ok"};
    if (req.Query("verbose")) {
      r.body = absl::StrCat("[+]ping ok\n[+]etcd ok\n[+]poststarthook/start-kube-apiserver-admission-initializer ok\n",
                            path.substr(1), " check passed\n");
    }
    r.headers.Add("Content-Type", "text/plain; charset=utf-8");
    return res.Respond(std::move(r));
  }
  if (path == "/version") return res.Respond(JsonResponse(200, VersionInfo().dump(4)));

  auto user = Identify(req);
  if (!user.ok()) return res.Respond(ErrorResponse(user.status()));
  requester_ = *std::move(user);
  auto route = ParseRoute(path);
  if (!route.ok() || !route->has_value()) {
    // Discovery, OpenAPI, kubesim's own endpoints: non-resource requests.
    std::string verb = absl::AsciiStrToLower(req.method == "HEAD" ? "GET" : req.method);
    RequestAttributes a{.user = requester_, .verb = verb, .resource_request = false, .path = path};
    if (auto st = Authorize(a); !st.ok()) return res.Respond(ErrorResponse(st));
  }

  if (path == "/kubesim/faults") {
    if (req.method == "PUT" || req.method == "POST") {
      Json body = Json::parse(req.body, nullptr, false);
      auto f = Faults::FromJson(body.is_discarded() ? Json::object() : body);
      if (!f.ok()) return res.Respond(ErrorResponse(BadRequest(f.status().message())));
      options_.faults = *f;
    }
    Json doc = options_.faults.ToJson();
    doc["injected"] = injected_.ToJson();
    doc["requests"] = counts_;
    return res.Respond(JsonResponse(200, JsonText(doc)));
  }

  if (path == "/api") return res.Respond(JsonResponse(200, JsonText(CoreApiVersions(options_.server_address))));
  if (path == "/apis") return res.Respond(JsonResponse(200, JsonText(ApiGroupList())));
  if (absl::StartsWith(path, "/openapi/")) return ServeOpenApi(req, res);
  {
    std::vector<std::string> seg = absl::StrSplit(absl::StripPrefix(path, "/"), '/', absl::SkipEmpty());
    std::optional<Json> doc;
    if (seg.size() == 2 && seg[0] == "api") doc = ApiResourceList("", seg[1]);
    if (seg.size() == 2 && seg[0] == "apis") doc = ApiGroup(seg[1]);
    if (seg.size() == 3 && seg[0] == "apis") doc = ApiResourceList(seg[1], seg[2]);
    if (doc) return res.Respond(JsonResponse(200, JsonText(*doc)));
  }

  if (!route.ok()) return res.Respond(ErrorResponse(route.status()));
  if (!route->has_value()) {
    return res.Respond(ErrorResponse(ApiError(404, "NotFound", "the server could not find the requested resource")));
  }
  std::string verb = VerbOf(req.method, **route, req);
  const Route& rt = **route;
  RequestAttributes a{.user = requester_, .verb = verb, .api_group = rt.rt->group, .resource = rt.rt->plural,
                      .subresource = rt.sub, .ns = rt.ns, .name = rt.name};
  if (auto st = Authorize(a); !st.ok()) return res.Respond(ErrorResponse(st));
  counts_[verb]++;
  log::Debug("request", {{"verb", verb}, {"path", req.target}});
  if (InjectFault(req, verb, res)) return;
  ServeResource(req, res, **route);
}

void HttpApi::ServeOpenApi(http::Request& req, http::Responder& res) {
  const OpenApi& docs = OpenApiDocuments();
  if (req.path == "/openapi/v2") {
    // kubectl asks for the protobuf form first.
    if (absl::StrContains(req.headers.Get("Accept"), kOpenApiV2ProtobufType)) {
      http::Response r{.status = 200, .body = docs.V2Protobuf()};
      r.headers.Add("Content-Type", "application/octet-stream");
      r.headers.Add("X-Varied-Accept", kOpenApiV2ProtobufType);
      r.headers.Add("Accept-Ranges", "bytes");
      return res.Respond(std::move(r));
    }
    return res.Respond(JsonResponse(200, docs.V2Json()));
  }
  if (req.path == "/openapi/v3") return res.Respond(JsonResponse(200, docs.V3Index()));
  if (const std::string* doc = docs.V3Document(absl::StripPrefix(req.path, "/openapi/v3/"))) {
    return res.Respond(JsonResponse(200, *doc));
  }
  res.Respond(ErrorResponse(ApiError(404, "NotFound", "the server could not find the requested resource")));
}

void HttpApi::ServeResource(http::Request& req, http::Responder& res, const Route& route) {
  const ResourceType& rt = *route.rt;
  ResourceId r = rt.id;
  Negotiated n = Negotiate(req.headers.Get("Accept"));
  if (!n.acceptable) {
    return res.Respond(ErrorResponse(ApiError(406, "NotAcceptable",
                                              "only the following media types are accepted: application/json")));
  }
  const std::string include = req.Query("includeObject") ? *req.Query("includeObject") : "Metadata";
  // Field validation's warnings, sent with the answer.
  std::vector<std::string> warnings;
  auto object_response = [&](int code, const ObjectPtr& obj) {
    if (n.render == Render::kTable && (req.method == "GET" || req.method == "HEAD")) {
      Json table = {{"kind", "Table"},
                    {"apiVersion", "meta.k8s.io/" + n.table_version},
                    {"metadata", {{"resourceVersion", std::to_string(obj->rv)}}},
                    {"columnDefinitions", TableColumns(r)},
                    {"rows", Json::array({TableRow(r, obj, n, include, absl::Now())})}};
      return res.Respond(JsonResponse(code, JsonText(table)));
    }
    http::Response resp = n.render == Render::kMetadata ? JsonResponse(code, JsonText(PartialMetadata(obj->object)))
                                                        : JsonResponse(code, obj->FullJson());
    for (auto& w : warnings) resp.headers.Add("Warning", std::move(w));
    res.Respond(std::move(resp));
  };
  const BodyType body_type = BodyTypeOf(route);
  auto parse_body = [&](Json* out) -> absl::Status {
    auto body = DecodeBody(req, body_type);
    if (!body.ok()) return body.status();
    *out = std::move(body->object);
    warnings = std::move(body->warnings);
    return absl::OkStatus();
  };
  auto parse_patch = [&](PatchType* type, Json* out) -> absl::Status {
    auto body = DecodePatch(req, body_type);
    if (!body.ok()) return body.status();
    *type = body->type;
    *out = std::move(body->patch);
    warnings = std::move(body->warnings);
    return absl::OkStatus();
  };
  WriteOptions wo{.dry_run = DryRun(req), .subresource = route.sub == "status" ? "status" : "",
                  .field_manager = FieldManager(req)};
  const std::string& method = req.method;
  if (rt.create_only) return ServeReview(req, res, route);
  if (rt.id == kHorizontalPodAutoscalersV1) return ServeHpaV1(req, res, route);
  if (route.sub == "token") return ServeTokenRequest(req, res, route);
  if (route.sub == "log") return ServeLog(req, res, route);

  if (route.name.empty()) {
    if (method == "GET" || method == "HEAD") {
      if (QueryTrue(req, "watch")) return ServeWatch(req, res, route);
      return ServeList(req, res, route);
    }
    if (method == "POST") {
      Json body;
      if (auto st = parse_body(&body); !st.ok()) return res.Respond(ErrorResponse(st));
      if (rt.namespaced && route.ns.empty()) {
        return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
      }
      auto created = api_.Create(r, route.ns, std::move(body), wo);
      if (!created.ok()) return res.Respond(ErrorResponse(created.status()));
      return object_response(201, *created);
    }
    if (method == "DELETE") return ServeDeleteCollection(req, res, route);
    return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
  }

  // Subresources with their own shapes.
  if (route.sub == "scale") {
    absl::StatusOr<Json> scale;
    if (method == "GET") {
      scale = api_.GetScale(r, route.ns, route.name);
    } else if (method == "PUT") {
      Json body;
      if (auto st = parse_body(&body); !st.ok()) return res.Respond(ErrorResponse(st));
      scale = api_.UpdateScale(r, route.ns, route.name, body, wo);
    } else if (method == "PATCH") {
      PatchType pt;
      Json body;
      if (auto st = parse_patch(&pt, &body); !st.ok()) return res.Respond(ErrorResponse(st));
      scale = api_.PatchScale(r, route.ns, route.name, pt, body, wo);
    } else {
      return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
    }
    if (!scale.ok()) return res.Respond(ErrorResponse(scale.status()));
    http::Response resp = JsonResponse(200, JsonText(*scale));
    for (auto& w : warnings) resp.headers.Add("Warning", std::move(w));
    return res.Respond(std::move(resp));
  }
  if (route.sub == "eviction" || route.sub == "binding") {
    if (method != "POST") {
      return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
    }
    Json body;
    if (auto st = parse_body(&body); !st.ok()) return res.Respond(ErrorResponse(st));
    absl::Status st;
    if (route.sub == "eviction") {
      std::string body_name = body.value("metadata", Json::object()).value("name", "");
      if (!body_name.empty() && body_name != route.name) {
        return res.Respond(ErrorResponse(BadRequest("name in URL does not match name in Eviction object")));
      }
      st = api_.Evict(route.ns, route.name, body, wo.dry_run);
    } else {
      st = api_.Bind(route.ns, route.name, body.value("target", Json::object()).value("name", ""));
    }
    if (!st.ok()) return res.Respond(ErrorResponse(st));
    return res.Respond(JsonResponse(201, JsonText(SuccessStatus(201))));
  }
  if (route.sub == "finalize") {
    if (method != "PUT") {
      return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
    }
    Json body;
    if (auto st = parse_body(&body); !st.ok()) return res.Respond(ErrorResponse(st));
    auto updated = api_.Modify(r, "", route.name, [&](Json& nsobj) {
      nsobj["spec"]["finalizers"] = body.value("spec", Json::object()).value("finalizers", Json::array());
      return absl::OkStatus();
    });
    if (!updated.ok()) return res.Respond(ErrorResponse(updated.status()));
    return object_response(200, *updated);
  }

  if (method == "GET" || method == "HEAD") {
    auto obj = api_.Get(r, route.ns, route.name);
    if (!obj.ok()) return res.Respond(ErrorResponse(obj.status()));
    return object_response(200, *obj);
  }
  if (method == "PUT") {
    Json body;
    if (auto st = parse_body(&body); !st.ok()) return res.Respond(ErrorResponse(st));
    auto updated = api_.Update(r, route.ns, route.name, std::move(body), wo);
    if (!updated.ok()) return res.Respond(ErrorResponse(updated.status()));
    return object_response(200, *updated);
  }
  if (method == "PATCH") {
    PatchType pt;
    Json body;
    if (auto st = parse_patch(&pt, &body); !st.ok()) return res.Respond(ErrorResponse(st));
    if (auto st = CheckPatchOptions(req, pt); !st.ok()) return res.Respond(ErrorResponse(st));
    if (pt == PatchType::kApply) {
      if (!route.sub.empty()) {
        return res.Respond(ErrorResponse(UnsupportedMediaType()));
      }
      bool created = false;
      auto applied = api_.Apply(r, route.ns, route.name, body, QueryTrue(req, "force"), wo, &created);
      if (!applied.ok()) return res.Respond(ErrorResponse(applied.status()));
      return object_response(created ? 201 : 200, *applied);
    }
    auto patched = api_.Patch(r, route.ns, route.name, pt, body, wo);
    if (!patched.ok()) return res.Respond(ErrorResponse(patched.status()));
    return object_response(200, *patched);
  }
  if (method == "DELETE") {
    DeleteOptions del;
    del.dry_run = wo.dry_run;
    if (!req.body.empty()) {
      auto parsed = ParseRequestBody(req);
      if (!parsed.ok()) return res.Respond(ErrorResponse(BadRequest(parsed.status().message())));
      Json& body = *parsed;
      if (!body.is_object()) {
        return res.Respond(ErrorResponse(BadRequest("the body of the request was in an unknown format")));
      }
      if (body.contains("gracePeriodSeconds") && body["gracePeriodSeconds"].is_number_integer()) {
        del.grace_period_seconds = body["gracePeriodSeconds"].get<int64_t>();
      }
      del.propagation_policy = body.value("propagationPolicy", "");
      if (body.value("orphanDependents", false)) del.propagation_policy = "Orphan";
      if (body.contains("preconditions") && body["preconditions"].is_object()) {
        del.precondition_uid = body["preconditions"].value("uid", "");
        del.precondition_resource_version = body["preconditions"].value("resourceVersion", "");
      }
      if (body.contains("dryRun") && body["dryRun"].is_array() && !body["dryRun"].empty()) del.dry_run = true;
    }
    if (const std::string* g = req.Query("gracePeriodSeconds")) {
      int64_t v;
      if (absl::SimpleAtoi(*g, &v)) del.grace_period_seconds = v;
    }
    if (const std::string* p = req.Query("propagationPolicy")) del.propagation_policy = *p;
    if (!del.propagation_policy.empty() && del.propagation_policy != "Foreground" &&
        del.propagation_policy != "Background" && del.propagation_policy != "Orphan") {
      return res.Respond(ErrorResponse(ApiError(
          422, "Invalid",
          absl::StrCat("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"",
                       del.propagation_policy, "\": supported values: \"Foreground\", \"Background\", \"Orphan\""))));
    }
    auto out = api_.Delete(r, route.ns, route.name, del);
    if (!out.ok()) return res.Respond(ErrorResponse(out.status()));
    if (out->removed && r != kPods) {
      Json details = {{"name", route.name}, {"kind", rt.plural}, {"uid", out->object->object["metadata"].value("uid", "")}};
      if (!rt.group.empty()) details["group"] = rt.group;
      return res.Respond(JsonResponse(200, JsonText(SuccessStatus(200, details))));
    }
    return object_response(200, out->object);
  }
  res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
}

void HttpApi::ServeDeleteCollection(http::Request& req, http::Responder& res, const Route& route) {
  const ResourceType& rt = *route.rt;
  if (rt.id == kNamespaces) {
    return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
  }
  auto sel = ParseSelection(rt, req);
  if (!sel.ok()) return res.Respond(ErrorResponse(sel.status()));
  DeleteOptions del;
  del.dry_run = DryRun(req);
  if (!req.body.empty()) {
    auto parsed = ParseRequestBody(req);
    Json body = parsed.ok() ? *std::move(parsed) : Json();
    if (body.is_object()) {
      if (body.contains("gracePeriodSeconds") && body["gracePeriodSeconds"].is_number_integer()) {
        del.grace_period_seconds = body["gracePeriodSeconds"].get<int64_t>();
      }
      del.propagation_policy = body.value("propagationPolicy", "");
    }
  }
  if (const std::string* g = req.Query("gracePeriodSeconds")) {
    int64_t v;
    if (absl::SimpleAtoi(*g, &v)) del.grace_period_seconds = v;
  }
  if (const std::string* p = req.Query("propagationPolicy")) del.propagation_policy = *p;
  std::vector<std::string> names;
  api_.store().Scan(rt.id, route.ns, "", [&](const ObjectPtr& o) {
    if (sel->Matches(o->object)) names.push_back(Store::KeyOf(o->ns(), o->name()));
    return true;
  });
  std::string items;
  for (const auto& key : names) {
    size_t slash = key.find('/');
    std::string ns = rt.namespaced ? key.substr(0, slash) : "";
    std::string name = rt.namespaced ? key.substr(slash + 1) : key;
    auto out = api_.Delete(rt.id, ns, name, del);
    if (!out.ok()) continue;  // gone meanwhile
    if (!items.empty()) items.push_back(',');
    items += out->object->ItemJson();
  }
  res.Respond(JsonResponse(200, absl::StrCat("{\"kind\":\"", rt.ListKind(), "\",\"apiVersion\":\"", rt.ApiVersion(),
                                             "\",\"metadata\":{\"resourceVersion\":\"", api_.store().rv(),
                                             "\"},\"items\":[", items, "]}")));
}

}  // namespace herd::sim
