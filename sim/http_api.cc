#include "sim/http_api.h"

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
#include "sim/json_text.h"
#include "sim/protobuf/protobuf.h"
#include "sim/tables/tables.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

const char kJson[] = "application/json";

http::Response JsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.Add("Content-Type", kJson);
  r.headers.Add("Cache-Control", "no-cache, private");
  r.body = std::move(body);
  return r;
}

http::Response ErrorResponse(const absl::Status& st) {
  Json obj = StatusObject(st);
  int code = obj.value("code", 500);
  http::Response r = JsonResponse(code, JsonText(obj));
  if (code == 429 && obj.contains("details") && obj["details"].contains("retryAfterSeconds")) {
    r.headers.Add("Retry-After", std::to_string(obj["details"]["retryAfterSeconds"].get<int>()));
  }
  return r;
}

Json SuccessStatus(int code, Json details = nullptr) {
  Json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()}, {"status", "Success"}};
  if (!details.is_null()) s["details"] = std::move(details);
  if (code != 200) s["code"] = code;
  return s;
}

// How the client wants objects rendered (from the Accept header).
enum class Render { kObject, kTable, kMetadata };

struct Negotiated {
  Render render = Render::kObject;
  std::string table_version = "v1";
  bool acceptable = true;
};

Negotiated Negotiate(absl::string_view accept) {
  Negotiated out;
  if (accept.empty()) return out;
  bool any = false;
  for (absl::string_view part : absl::StrSplit(accept, ',')) {
    std::vector<std::string> fields = absl::StrSplit(part, ';');
    std::string type = std::string(absl::StripAsciiWhitespace(fields[0]));
    std::map<std::string, std::string> params;
    for (size_t i = 1; i < fields.size(); ++i) {
      std::vector<std::string> kv = absl::StrSplit(fields[i], absl::MaxSplits('=', 1));
      if (kv.size() == 2) {
        params[std::string(absl::StripAsciiWhitespace(kv[0]))] = std::string(absl::StripAsciiWhitespace(kv[1]));
      }
    }
    if (type != kJson && type != "*/*" && type != "application/*") continue;
    auto as = params.find("as");
    if (as == params.end()) {
      any = true;
      out.render = Render::kObject;
      return out;
    }
    if (params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1")) continue;
    if (as->second == "Table") {
      out.render = Render::kTable;
      out.table_version = params["v"];
      return out;
    }
    if (as->second == "PartialObjectMetadata" || as->second == "PartialObjectMetadataList") {
      out.render = Render::kMetadata;
      return out;
    }
  }
  out.acceptable = any;
  return out;
}

Json PartialMetadata(const Json& obj) {
  return {{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", obj["metadata"]}};
}

// A field selector's value for an object, as the API server's field label
// conversion provides it; nullopt when `field` is not a supported label.
std::optional<std::string> FieldValue(const ResourceType& rt, const Json& obj, absl::string_view field) {
  if (field == "metadata.name") return obj["metadata"].value("name", "");
  if (field == "metadata.namespace") return obj["metadata"].value("namespace", "");
  if (std::find(rt.field_labels.begin(), rt.field_labels.end(), field) == rt.field_labels.end()) {
    return std::nullopt;
  }
  std::string path(field);
  if (rt.id == kEvents && field == "source") path = "source.component";
  const Json* cur = &obj;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    std::string key(part);
    if (!cur->is_object() || !cur->contains(key)) return std::string();
    cur = &(*cur)[key];
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_boolean()) return cur->get<bool>() ? "true" : "false";
  if (cur->is_number_integer()) return std::to_string(cur->get<int64_t>());
  if (cur->is_null()) return std::string();
  return JsonText(*cur);
}

struct Selection {
  k8s::LabelSelector labels;
  k8s::FieldSelector fields;
  const ResourceType* rt = nullptr;

  bool Matches(const Json& obj) const {
    if (!labels.Empty() && !labels.Matches(obj["metadata"].value("labels", Json::object()))) return false;
    if (fields.Empty()) return true;
    return fields.Matches([&](absl::string_view f) { return FieldValue(*rt, obj, f); });
  }
};

absl::StatusOr<Selection> ParseSelection(const ResourceType& rt, const http::Request& req) {
  Selection s;
  s.rt = &rt;
  if (const std::string* ls = req.Query("labelSelector"); ls && !ls->empty()) {
    auto parsed = k8s::LabelSelector::Parse(*ls);
    if (!parsed.ok()) return BadRequest(parsed.status().message());
    s.labels = std::move(*parsed);
  }
  if (const std::string* fs = req.Query("fieldSelector"); fs && !fs->empty()) {
    auto parsed = k8s::FieldSelector::Parse(*fs);
    if (!parsed.ok()) return BadRequest(parsed.status().message());
    for (const auto& r : parsed->requirements()) {
      if (r.field != "metadata.name" && r.field != "metadata.namespace" &&
          std::find(rt.field_labels.begin(), rt.field_labels.end(), r.field) == rt.field_labels.end()) {
        return BadRequest(absl::StrCat("field label not supported: ", r.field));
      }
    }
    s.fields = std::move(*parsed);
  }
  return s;
}

// Go's strconv.ParseBool, which the API server uses for boolean parameters.
bool QueryTrue(const http::Request& req, absl::string_view key) {
  const std::string* v = req.Query(key);
  if (!v) return false;
  for (const char* t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (*v == t) return true;
  }
  return false;
}

bool DryRun(const http::Request& req) {
  for (const auto& [k, v] : req.query) {
    if (k == "dryRun" && !v.empty()) return true;
  }
  return false;
}

Json TableObject(const Negotiated& n, const std::string& include, const ObjectPtr& obj) {
  if (include == "None") return nullptr;
  if (include == "Object") return obj->object;
  (void)n;
  return PartialMetadata(obj->object);
}

Json TableRow(ResourceId r, const ObjectPtr& obj, const Negotiated& n, const std::string& include, absl::Time now) {
  Json row = {{"cells", TableCells(r, obj->object, now)}};
  Json o = TableObject(n, include, obj);
  if (!o.is_null()) row["object"] = std::move(o);
  return row;
}

std::string EventLine(absl::string_view type, absl::string_view object_json) {
  return absl::StrCat("{\"type\":\"", type, "\",\"object\":", object_json, "}\n");
}

std::string Base64Url(absl::string_view s) {
  std::string out;
  absl::WebSafeBase64Escape(s, &out);
  return out;
}

}  // namespace

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

// ---- Routes ----

struct HttpApi::Route {
  const ResourceType* rt = nullptr;
  std::string ns;
  std::string name;
  std::string sub;
};

namespace {

// Splits /api/v1/… or /apis/G/V/… into a resource route. nullopt when the
// path is not a resource path at all; an error when it names something
// not served.
absl::StatusOr<std::optional<HttpApi::Route>> ParseRoute(absl::string_view path);

}  // namespace

// ---- Watch ----

class HttpApi::Watch : public std::enable_shared_from_this<HttpApi::Watch> {
 public:
  Watch(HttpApi& api, uint64_t id, ResourceId r, Selection sel, Negotiated n, std::string include,
        std::shared_ptr<http::Stream> stream)
      : api_(api), id_(id), r_(r), sel_(std::move(sel)), n_(n), include_(std::move(include)),
        stream_(std::move(stream)) {}

  void SetStoreWatch(Store::WatchId w) { store_watch_ = w; }

  void Send(absl::string_view type, const ObjectPtr& obj) {
    if (closed_) return;
    if (n_.render == Render::kTable) {
      Json table = {{"kind", "Table"},
                    {"apiVersion", "meta.k8s.io/" + n_.table_version},
                    {"metadata", {{"resourceVersion", std::to_string(obj->rv)}}},
                    {"rows", Json::array({TableRow(r_, obj, n_, include_, absl::Now())})}};
      if (!sent_columns_) {
        table["columnDefinitions"] = TableColumns(r_);
        sent_columns_ = true;
      } else {
        table["columnDefinitions"] = nullptr;
      }
      Write(EventLine(type, JsonText(table)));
    } else if (n_.render == Render::kMetadata) {
      Write(EventLine(type, JsonText(PartialMetadata(obj->object))));
    } else {
      Write(EventLine(type, obj->FullJson()));
    }
  }

  void OnEvent(const Event& e) {
    if (closed_) return;
    bool now_match = sel_.Matches(e.object->object);
    bool was_match = e.old && sel_.Matches(e.old->object);
    switch (e.type) {
      case EventType::kAdded:
        if (now_match) Send("ADDED", e.object);
        break;
      case EventType::kModified:
        if (now_match && was_match) {
          Send("MODIFIED", e.object);
        } else if (now_match) {
          Send("ADDED", e.object);
        } else if (was_match) {
          // Leaving the selection looks like a deletion to this watcher.
          Send("DELETED", e.object);
        }
        break;
      case EventType::kDeleted:
        if (was_match || now_match) Send("DELETED", e.object);
        break;
    }
  }

  void SendBookmark() {
    if (closed_ || n_.render != Render::kObject) return;
    const ResourceType& rt = Resource(r_);
    Json obj = {{"kind", rt.kind},
                {"apiVersion", rt.ApiVersion()},
                {"metadata", {{"resourceVersion", std::to_string(api_.api_.store().rv())}, {"creationTimestamp", nullptr}}}};
    if (r_ == kPods) {
      obj["spec"] = {{"containers", nullptr}};
      obj["status"] = Json::object();
    }
    Write(EventLine("BOOKMARK", JsonText(obj)));
  }

  void SendError(const absl::Status& st) { Write(EventLine("ERROR", JsonText(StatusObject(st)))); }

  void Write(std::string line) {
    if (!stream_->Write(std::move(line))) return Close();
    if (stream_->Pending() > api_.options_.max_watch_backlog_bytes) {
      log::Warn("closing a watch that does not keep up", {{"resource", Resource(r_).plural}});
      Close();
    }
  }

  void AddTimer(EventLoop::TimerId t) { timers_.push_back(t); }

  void ScheduleBookmarks(absl::Duration every) {
    std::weak_ptr<Watch> weak = shared_from_this();
    bookmark_timer_ = api_.loop_.PostAfter(every, [weak, every] {
      auto s = weak.lock();
      if (!s || s->closed()) return;
      s->SendBookmark();
      s->ScheduleBookmarks(every);
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    if (store_watch_) api_.api_.store().Unwatch(store_watch_);
    for (auto t : timers_) api_.loop_.Cancel(t);
    if (bookmark_timer_) api_.loop_.Cancel(bookmark_timer_);
    stream_->Finish();
    auto self = shared_from_this();  // keep alive while erasing ourselves
    api_.watches_.erase(id_);
  }

  bool closed() const { return closed_; }

 private:
  HttpApi& api_;
  uint64_t id_;
  ResourceId r_;
  Selection sel_;
  Negotiated n_;
  std::string include_;
  std::shared_ptr<http::Stream> stream_;
  Store::WatchId store_watch_ = 0;
  std::vector<EventLoop::TimerId> timers_;
  EventLoop::TimerId bookmark_timer_ = 0;
  bool closed_ = false;
  bool sent_columns_ = false;
};

// ---- HttpApi ----

HttpApi::HttpApi(EventLoop& loop, ApiServer& api, HttpApiOptions options)
    : loop_(loop), api_(api), options_(std::move(options)),
      rng_(options_.seed ? options_.seed : std::random_device{}()) {}

HttpApi::~HttpApi() = default;

void HttpApi::CloseWatches() {
  while (!watches_.empty()) watches_.begin()->second->Close();
}

size_t HttpApi::OpenWatches() const { return watches_.size(); }

void HttpApi::SetFaults(Faults faults) { options_.faults = std::move(faults); }

void HttpApi::Handle(http::Request request, http::Responder responder) {
  if (options_.faults.latency > absl::ZeroDuration() && absl::StartsWith(request.path, "/api")) {
    auto shared = std::make_shared<std::pair<http::Request, http::Responder>>(std::move(request), std::move(responder));
    loop_.PostAfter(options_.faults.latency, [this, shared] { Serve(shared->first, shared->second); });
    return;
  }
  Serve(request, responder);
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

  if (!options_.token.empty() && req.client_cert_cn.empty()) {
    absl::string_view auth = req.headers.Get("Authorization");
    if (auth != absl::StrCat("Bearer ", options_.token)) {
      return res.Respond(ErrorResponse(ApiError(401, "Unauthorized", "Unauthorized")));
    }
  }

  if (path == "/kubesim/faults") {
    if (req.method == "PUT" || req.method == "POST") {
      Json body = Json::parse(req.body, nullptr, false);
      auto f = Faults::FromJson(body.is_discarded() ? Json::object() : body);
      if (!f.ok()) return res.Respond(ErrorResponse(BadRequest(f.status().message())));
      options_.faults = *f;
    }
    return res.Respond(JsonResponse(200, JsonText(options_.faults.ToJson())));
  }

  if (path == "/api") return res.Respond(JsonResponse(200, JsonText(CoreApiVersions(options_.server_address))));
  if (path == "/apis") return res.Respond(JsonResponse(200, JsonText(ApiGroupList())));
  if (path == "/openapi/v3") return res.Respond(JsonResponse(200, JsonText(OpenApiV3Index())));
  if (absl::StartsWith(path, "/openapi/v3/")) {
    std::vector<std::string> seg = absl::StrSplit(path.substr(strlen("/openapi/v3/")), '/');
    std::optional<Json> doc;
    if (seg.size() == 2 && seg[0] == "api") doc = OpenApiV3Document("", seg[1]);
    if (seg.size() == 3 && seg[0] == "apis") doc = OpenApiV3Document(seg[1], seg[2]);
    if (doc) return res.Respond(JsonResponse(200, JsonText(*doc)));
  }
  {
    std::vector<std::string> seg = absl::StrSplit(absl::StripPrefix(path, "/"), '/', absl::SkipEmpty());
    std::optional<Json> doc;
    if (seg.size() == 2 && seg[0] == "api") doc = ApiResourceList("", seg[1]);
    if (seg.size() == 2 && seg[0] == "apis") doc = ApiGroup(seg[1]);
    if (seg.size() == 3 && seg[0] == "apis") doc = ApiResourceList(seg[1], seg[2]);
    if (doc) return res.Respond(JsonResponse(200, JsonText(*doc)));
  }

  auto route = ParseRoute(path);
  if (!route.ok()) return res.Respond(ErrorResponse(route.status()));
  if (!route->has_value()) {
    return res.Respond(ErrorResponse(ApiError(404, "NotFound", "the server could not find the requested resource")));
  }
  std::string verb = VerbOf(req.method, **route, req);
  counts_[verb]++;
  log::Debug("request", {{"verb", verb}, {"path", req.target}});
  if (InjectFault(verb, res)) return;
  ServeResource(req, res, **route);
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
  auto object_response = [&](int code, const ObjectPtr& obj) {
    if (n.render == Render::kTable && (req.method == "GET" || req.method == "HEAD")) {
      Json table = {{"kind", "Table"},
                    {"apiVersion", "meta.k8s.io/" + n.table_version},
                    {"metadata", {{"resourceVersion", std::to_string(obj->rv)}}},
                    {"columnDefinitions", TableColumns(r)},
                    {"rows", Json::array({TableRow(r, obj, n, include, absl::Now())})}};
      return res.Respond(JsonResponse(code, JsonText(table)));
    }
    if (n.render == Render::kMetadata) return res.Respond(JsonResponse(code, JsonText(PartialMetadata(obj->object))));
    res.Respond(JsonResponse(code, obj->FullJson()));
  };
  auto parse_body = [&](Json* out) -> absl::Status {
    absl::string_view ct = req.headers.Get("Content-Type");
    std::string media(absl::StripAsciiWhitespace(ct.substr(0, ct.find(';'))));
    if (req.method != "PATCH" && !media.empty() && media != kJson && media != "*/*" && !IsProtobufContentType(ct)) {
      return ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", Json::object());
    }
    auto body = ParseRequestBody(req);  // kubectl's typed clients send protobuf
    if (!body.ok()) return BadRequest(body.status().message());
    *out = *std::move(body);
    return absl::OkStatus();
  };
  WriteOptions wo{.dry_run = DryRun(req), .subresource = route.sub == "status" ? "status" : ""};
  const std::string& method = req.method;

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
      Json body = Json::parse(req.body, nullptr, false);
      absl::string_view ct = req.headers.Get("Content-Type");
      std::string media(absl::StripAsciiWhitespace(ct.substr(0, ct.find(';'))));
      PatchType pt;
      if (media == "application/json-patch+json") {
        pt = PatchType::kJson;
      } else if (media == "application/merge-patch+json") {
        pt = PatchType::kMerge;
      } else if (media == "application/strategic-merge-patch+json") {
        pt = PatchType::kStrategicMerge;
      } else {
        return res.Respond(ErrorResponse(ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", Json::object())));
      }
      if (body.is_discarded()) return res.Respond(ErrorResponse(BadRequest("the patch is not valid JSON")));
      scale = api_.PatchScale(r, route.ns, route.name, pt, body, wo);
    } else {
      return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
    }
    if (!scale.ok()) return res.Respond(ErrorResponse(scale.status()));
    return res.Respond(JsonResponse(200, JsonText(*scale)));
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
    absl::string_view ct = req.headers.Get("Content-Type");
    std::string media(absl::StripAsciiWhitespace(ct.substr(0, ct.find(';'))));
    PatchType pt;
    if (media == "application/json-patch+json") {
      pt = PatchType::kJson;
    } else if (media == "application/merge-patch+json") {
      pt = PatchType::kMerge;
    } else if (media == "application/strategic-merge-patch+json") {
      pt = PatchType::kStrategicMerge;
    } else {
      return res.Respond(ErrorResponse(ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", Json::object())));
    }
    Json body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
      return res.Respond(ErrorResponse(BadRequest("error decoding patch: invalid character in the patch body")));
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

void HttpApi::ServeList(http::Request& req, http::Responder& res, const Route& route) {
  const ResourceType& rt = *route.rt;
  auto sel = ParseSelection(rt, req);
  if (!sel.ok()) return res.Respond(ErrorResponse(sel.status()));
  Negotiated n = Negotiate(req.headers.Get("Accept"));
  int64_t limit = 0;
  if (const std::string* l = req.Query("limit"); l && !l->empty()) {
    if (!absl::SimpleAtoi(*l, &limit) || limit < 0) limit = 0;
  }
  const Store& store = api_.store();
  uint64_t list_rv = store.rv();
  std::string prefix = route.ns.empty() ? "" : route.ns + "/";
  std::string after;
  if (const std::string* c = req.Query("continue"); c && !c->empty()) {
    std::string decoded;
    Json token;
    if (absl::WebSafeBase64Unescape(*c, &decoded)) token = Json::parse(decoded, nullptr, false);
    if (!token.is_object() || !token.contains("start") || !token["start"].is_string() || !token.contains("rv")) {
      return res.Respond(ErrorResponse(BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")));
    }
    std::string start = token["start"].get<std::string>();
    if (!start.empty() && start.back() == '\0') start.pop_back();
    after = prefix + start;
    uint64_t token_rv = token["rv"].is_number() ? token["rv"].get<uint64_t>() : 0;
    if (token_rv < store.OldestResumable(rt.id)) {
      return res.Respond(ErrorResponse(Expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new "
          "list without the continue parameter, or use the continue token in this response to retrieve the "
          "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
          "that were created, modified, or deleted between the time the first chunk was returned and now may show "
          "up in the list.")));
    }
    list_rv = token_rv;
  }
  std::vector<ObjectPtr> page;
  std::string last_key;
  bool more = false;
  int64_t remaining = 0;
  bool filtered = !sel->labels.Empty() || !sel->fields.Empty();
  store.Scan(rt.id, route.ns, after, [&](const ObjectPtr& o) {
    if (limit > 0 && static_cast<int64_t>(page.size()) >= limit) {
      if (!sel->Matches(o->object)) return true;
      more = true;
      if (filtered) return false;
      ++remaining;
      return true;
    }
    if (!sel->Matches(o->object)) return true;
    page.push_back(o);
    last_key = Store::KeyOf(o->ns(), o->name());
    return true;
  });
  Json meta = {{"resourceVersion", std::to_string(list_rv)}};
  if (more) {
    std::string start = last_key.substr(prefix.size());
    Json token = {{"v", "meta.k8s.io/v1"}, {"rv", list_rv}, {"start", start + std::string(1, '\0')}};
    std::string enc = Base64Url(JsonText(token));
    while (!enc.empty() && enc.back() == '=') enc.pop_back();
    meta["continue"] = enc;
    if (!filtered) meta["remainingItemCount"] = remaining;
  }
  const std::string include = req.Query("includeObject") ? *req.Query("includeObject") : "Metadata";
  if (n.render == Render::kTable) {
    Json rows = Json::array();
    absl::Time now = absl::Now();
    for (const auto& o : page) rows.push_back(TableRow(rt.id, o, n, include, now));
    Json table = {{"kind", "Table"},
                  {"apiVersion", "meta.k8s.io/" + n.table_version},
                  {"metadata", meta},
                  {"columnDefinitions", TableColumns(rt.id)},
                  {"rows", rows}};
    return res.Respond(JsonResponse(200, JsonText(table)));
  }
  std::string body;
  size_t size = 0;
  for (const auto& o : page) size += o->ItemJson().size() + 1;
  body.reserve(size + 256);
  if (n.render == Render::kMetadata) {
    absl::StrAppend(&body, "{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":",
                    JsonText(meta), ",\"items\":[");
  } else {
    absl::StrAppend(&body, "{\"kind\":\"", rt.ListKind(), "\",\"apiVersion\":\"", rt.ApiVersion(),
                    "\",\"metadata\":", JsonText(meta), ",\"items\":[");
  }
  for (size_t i = 0; i < page.size(); ++i) {
    if (i > 0) body.push_back(',');
    if (n.render == Render::kMetadata) {
      body += JsonText(PartialMetadata(page[i]->object));
    } else {
      body += page[i]->ItemJson();
    }
  }
  body += "]}";
  res.Respond(JsonResponse(200, std::move(body)));
}

void HttpApi::ServeWatch(http::Request& req, http::Responder& res, const Route& route) {
  const ResourceType& rt = *route.rt;
  auto sel = ParseSelection(rt, req);
  if (!sel.ok()) return res.Respond(ErrorResponse(sel.status()));
  Negotiated n = Negotiate(req.headers.Get("Accept"));
  std::string rv_text = req.Query("resourceVersion") ? *req.Query("resourceVersion") : "";
  uint64_t from_rv = 0;
  if (!rv_text.empty() && rv_text != "0" && !absl::SimpleAtoi(rv_text, &from_rv)) {
    return res.Respond(ErrorResponse(BadRequest(absl::StrCat("invalid resource version: \"", rv_text, "\""))));
  }
  absl::Duration timeout = absl::Minutes(30);
  if (const std::string* t = req.Query("timeoutSeconds")) {
    int64_t secs;
    if (absl::SimpleAtoi(*t, &secs) && secs > 0) timeout = absl::Seconds(secs);
  }
  bool bookmarks = QueryTrue(req, "allowWatchBookmarks");
  const std::string include = req.Query("includeObject") ? *req.Query("includeObject") : "Metadata";

  auto stream = res.StartStream(200, {{"Content-Type", kJson}, {"Cache-Control", "no-cache, private"}});
  uint64_t id = next_watch_++;
  auto w = std::make_shared<Watch>(*this, id, rt.id, std::move(*sel), n, include, stream);
  watches_.emplace(id, w);
  std::weak_ptr<Watch> weak = w;
  stream->OnClose([this, weak] {
    // OnClose may run on any loop thread; the store lives on ours.
    loop_.Post([weak] {
      if (auto s = weak.lock()) s->Close();
    });
  });

  Store& store = api_.store();
  if (from_rv == 0) {
    // No version: the current state as ADDED events, then changes.
    store.Scan(rt.id, route.ns, "", [&](const ObjectPtr& o) {
      if (w->closed()) return false;
      Event e{EventType::kAdded, rt.id, o, nullptr};
      w->OnEvent(e);
      return true;
    });
  }
  auto watch_id = store.Watch(rt.id, route.ns, from_rv, [weak](const Event& e) {
    if (auto s = weak.lock()) s->OnEvent(e);
  });
  if (!watch_id.ok()) {
    w->SendError(watch_id.status());
    return w->Close();
  }
  w->SetStoreWatch(*watch_id);
  w->AddTimer(loop_.PostAfter(timeout, [weak] {
    if (auto s = weak.lock()) s->Close();
  }));
  if (options_.faults.drop_watches_after > absl::ZeroDuration()) {
    w->AddTimer(loop_.PostAfter(options_.faults.drop_watches_after, [weak] {
      if (auto s = weak.lock()) s->Close();
    }));
  }
  if (bookmarks) {
    // A bookmark shortly before the timeout lets the client resume from the
    // newest version; periodic ones keep long watches current.
    absl::Duration before_end = std::max(absl::ZeroDuration(), timeout - absl::Seconds(1));
    w->AddTimer(loop_.PostAfter(before_end, [weak] {
      if (auto s = weak.lock()) s->SendBookmark();
    }));
    w->ScheduleBookmarks(options_.bookmark_interval);
  }
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
