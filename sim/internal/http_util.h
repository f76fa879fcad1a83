// Pieces of kubesim's HTTP front shared by its files (http_api.cc,
// http_watch.cc): content negotiation, selections, table rows, watch event
// lines. Runs on the loop thread like the rest.
#ifndef HERD_SIM_INTERNAL_HTTP_UTIL_H_
#define HERD_SIM_INTERNAL_HTTP_UTIL_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/http/http.h"
#include "common/k8s/selector.h"
#include "nlohmann/json.hpp"
#include "sim/resources.h"
#include "sim/store.h"

namespace herd::sim::http_internal {

inline constexpr char kJson[] = "application/json";

// A metav1.Status of success (code omitted for 200).
nlohmann::json SuccessStatus(int code, nlohmann::json details = nullptr);

// How the client wants objects rendered (from the Accept header).
enum class Render { kObject, kTable, kMetadata };

struct Negotiated {
  Render render = Render::kObject;
  std::string table_version = "v1";
  bool acceptable = true;
};
Negotiated Negotiate(absl::string_view accept);

nlohmann::json PartialMetadata(const nlohmann::json& obj);

// A request's label and field selectors.
struct Selection {
  k8s::LabelSelector labels;
  k8s::FieldSelector fields;
  const ResourceType* rt = nullptr;

  bool Matches(const nlohmann::json& obj) const;
};
absl::StatusOr<Selection> ParseSelection(const ResourceType& rt, const http::Request& req);

// Go's strconv.ParseBool, which the API server uses for boolean parameters.
bool QueryTrue(const http::Request& req, absl::string_view key);
bool DryRun(const http::Request& req);
// The field manager of a write: ?fieldManager=, else what the User-Agent
// names before its first "/" ("herd/1.0" → "herd"), as the API server
// derives it.
std::string FieldManager(const http::Request& req);

nlohmann::json TableRow(ResourceId r, const ObjectPtr& obj, const Negotiated& n, const std::string& include,
                        absl::Time now);
// One watch event: {"type":…,"object":…}\n
std::string EventLine(absl::string_view type, absl::string_view object_json);
std::string Base64Url(absl::string_view s);

}  // namespace herd::sim::http_internal

#endif  // HERD_SIM_INTERNAL_HTTP_UTIL_H_
