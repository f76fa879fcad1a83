#include "sim/internal/http_util.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sim/errors.h"
#include "sim/json_text.h"
#include "sim/tables/tables.h"

namespace herd::sim::http_internal {

using Json = nlohmann::json;

namespace {

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

Json TableObject(const Negotiated& n, const std::string& include, const ObjectPtr& obj) {
  if (include == "None") return nullptr;
  if (include == "Object") return obj->object;
  (void)n;
  return PartialMetadata(obj->object);
}

}  // namespace

Json SuccessStatus(int code, Json details) {
  Json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()}, {"status", "Success"}};
  if (!details.is_null()) s["details"] = std::move(details);
  if (code != 200) s["code"] = code;
  return s;
}

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

bool Selection::Matches(const Json& obj) const {
  if (!labels.Empty() && !labels.Matches(obj["metadata"].value("labels", Json::object()))) return false;
  if (fields.Empty()) return true;
  return fields.Matches([&](absl::string_view f) { return FieldValue(*rt, obj, f); });
}

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

bool QueryTrue(const http::Request& req, absl::string_view key) {
  const std::string* v = req.Query(key);
  if (!v) return false;
  for (const char* t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (*v == t) return true;
  }
  return false;
}

std::string FieldManager(const http::Request& req) {
  if (const std::string* m = req.Query("fieldManager"); m != nullptr && !m->empty()) return *m;
  absl::string_view ua = req.headers.Get("User-Agent");
  return std::string(ua.substr(0, ua.find('/')));
}

bool DryRun(const http::Request& req) {
  for (const auto& [k, v] : req.query) {
    if (k == "dryRun" && !v.empty()) return true;
  }
  return false;
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

}  // namespace herd::sim::http_internal
