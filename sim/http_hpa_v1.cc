// autoscaling/v1 HorizontalPodAutoscalers: a view of the autoscaling/v2
// objects kubesim stores, converted both ways as the API server's
// conversion does (targetCPUUtilizationPercentage is the v2 CPU
// utilization metric), so `kubectl autoscale` (which POSTs v1) works and
// v1 and v2 clients see one object.
#include "absl/strings/str_cat.h"
#include "sim/errors.h"
#include "sim/json_text.h"
#include "sim/http_api.h"
#include "sim/http_body.h"
#include "sim/internal/http_util.h"
#include "sim/patch/patch.h"
#include "sim/schema/schema.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

bool IsCpuUtilization(const Json& m) {
  return m.value("type", "") == "Resource" && m.value("resource", Json::object()).value("name", "") == "cpu" &&
         m["resource"].value("target", Json::object()).value("type", "") == "Utilization";
}

}  // namespace

Json HpaV1ToV2(Json obj) {
  obj["apiVersion"] = "autoscaling/v2";
  Json& spec = obj["spec"];
  if (spec.is_object() && spec.contains("targetCPUUtilizationPercentage")) {
    Json pct = spec["targetCPUUtilizationPercentage"];
    spec.erase("targetCPUUtilizationPercentage");
    spec["metrics"] = Json::array({{{"type", "Resource"},
                                    {"resource", {{"name", "cpu"}, {"target", {{"type", "Utilization"},
                                                                               {"averageUtilization", pct}}}}}}});
  }
  if (obj.contains("status") && obj["status"].is_object()) {
    Json& st = obj["status"];
    if (st.contains("currentCPUUtilizationPercentage")) {
      Json pct = st["currentCPUUtilizationPercentage"];
      st.erase("currentCPUUtilizationPercentage");
      st["currentMetrics"] = Json::array(
          {{{"type", "Resource"}, {"resource", {{"name", "cpu"}, {"current", {{"averageUtilization", pct}}}}}}});
    }
  }
  return obj;
}

Json HpaV2ToV1(Json obj) {
  obj["apiVersion"] = "autoscaling/v1";
  if (obj.contains("spec") && obj["spec"].is_object()) {
    Json& spec = obj["spec"];
    for (const auto& m : spec.value("metrics", Json::array())) {
      if (IsCpuUtilization(m)) spec["targetCPUUtilizationPercentage"] = m["resource"]["target"]["averageUtilization"];
    }
    spec.erase("metrics");
    spec.erase("behavior");
  }
  if (obj.contains("status") && obj["status"].is_object()) {
    Json& st = obj["status"];
    for (const auto& m : st.value("currentMetrics", Json::array())) {
      if (m.value("type", "") == "Resource" && m.value("resource", Json::object()).value("name", "") == "cpu") {
        st["currentCPUUtilizationPercentage"] =
            m["resource"].value("current", Json::object()).value("averageUtilization", Json(0));
      }
    }
    st.erase("currentMetrics");
    st.erase("conditions");
  }
  return obj;
}

void HttpApi::ServeHpaV1(http::Request& req, http::Responder& res, const Route& route) {
  constexpr ResourceId kV2 = kHorizontalPodAutoscalers;
  const BodyType v1_body{schema::FindKind("autoscaling/v1", "HorizontalPodAutoscaler"), "HorizontalPodAutoscaler",
                         "v1"};
  WriteOptions wo{.dry_run = req.Query("dryRun") != nullptr, .subresource = route.sub,
                  .field_manager = http_internal::FieldManager(req)};
  auto respond = [&](int code, const absl::StatusOr<ObjectPtr>& obj, const std::vector<std::string>& warnings) {
    if (!obj.ok()) return res.Respond(ErrorResponse(obj.status()));
    http::Response r = JsonResponse(code, JsonText(HpaV2ToV1((*obj)->object)));
    for (const auto& w : warnings) r.headers.Add("Warning", w);
    res.Respond(std::move(r));
  };
  const std::string& m = req.method;
  if (route.name.empty()) {
    if (m == "GET" && req.Query("watch") == nullptr) {
      Json items = Json::array();
      api_.store().Scan(kV2, route.ns, "", [&](const ObjectPtr& o) {
        Json item = HpaV2ToV1(o->object);
        item.erase("apiVersion");
        item.erase("kind");
        items.push_back(std::move(item));
        return true;
      });
      Json list = {{"kind", "HorizontalPodAutoscalerList"},
                   {"apiVersion", "autoscaling/v1"},
                   {"metadata", {{"resourceVersion", std::to_string(api_.store().rv())}}},
                   {"items", items}};
      return res.Respond(JsonResponse(200, JsonText(list)));
    }
    if (m == "POST") {
      auto body = DecodeBody(req, v1_body);
      if (!body.ok()) return res.Respond(ErrorResponse(body.status()));
      return respond(201, api_.Create(kV2, route.ns, HpaV1ToV2(std::move(body->object)), wo), body->warnings);
    }
    return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
  }
  if (m == "GET") return respond(200, api_.Get(kV2, route.ns, route.name), {});
  if (m == "DELETE") {
    auto out = api_.Delete(kV2, route.ns, route.name, {.dry_run = wo.dry_run});
    if (!out.ok()) return res.Respond(ErrorResponse(out.status()));
    return respond(200, out->object, {});
  }
  if (m == "PUT" || m == "PATCH") {
    auto current = api_.Get(kV2, route.ns, route.name);
    if (!current.ok()) return res.Respond(ErrorResponse(current.status()));
    Json next;
    std::vector<std::string> warnings;
    if (m == "PUT") {
      auto body = DecodeBody(req, v1_body);
      if (!body.ok()) return res.Respond(ErrorResponse(body.status()));
      next = std::move(body->object);
      warnings = std::move(body->warnings);
    } else {
      auto patch = DecodePatch(req, v1_body);
      if (!patch.ok()) return res.Respond(ErrorResponse(patch.status()));
      Json v1 = HpaV2ToV1((*current)->object);
      absl::StatusOr<Json> patched;
      switch (patch->type) {
        case PatchType::kJson: patched = ApplyJsonPatch(v1, patch->patch); break;
        case PatchType::kMerge: patched = ApplyMergePatch(v1, patch->patch); break;
        case PatchType::kStrategicMerge:
          patched = ApplyStrategicMergePatch(v1, patch->patch, "HorizontalPodAutoscaler");
          break;
        case PatchType::kApply:  // not for the converted v1 view
          return res.Respond(ErrorResponse(UnsupportedMediaType()));
      }
      if (!patched.ok()) return res.Respond(ErrorResponse(BadRequest(patched.status().message())));
      next = *std::move(patched);
      warnings = std::move(patch->warnings);
    }
    Json v2 = HpaV1ToV2(std::move(next));
    // What v1 cannot say (other metrics, behavior) is kept.
    const Json& old = (*current)->object;
    if (!v2["spec"].contains("metrics") && old["spec"].contains("metrics")) v2["spec"]["metrics"] = old["spec"]["metrics"];
    if (old["spec"].contains("behavior")) v2["spec"]["behavior"] = old["spec"]["behavior"];
    return respond(200, api_.Update(kV2, route.ns, route.name, std::move(v2), wo), warnings);
  }
  res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
}

}  // namespace herd::sim
