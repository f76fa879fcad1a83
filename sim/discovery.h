// What kubesim says about itself: /version, API discovery (/api, /apis and
// each group version's resources) and the OpenAPI documents.
#ifndef HERD_SIM_DISCOVERY_H_
#define HERD_SIM_DISCOVERY_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "sim/openapi/openapi.h"

namespace herd::sim {

nlohmann::json VersionInfo();
// /api: `server_address` is what clients reach us at ("127.0.0.1:6443").
nlohmann::json CoreApiVersions(absl::string_view server_address);
// /apis
nlohmann::json ApiGroupList();
// /apis/GROUP, or nullopt when the group is not served.
std::optional<nlohmann::json> ApiGroup(absl::string_view group);
// /api/v1 or /apis/GROUP/VERSION, or nullopt when not served.
std::optional<nlohmann::json> ApiResourceList(absl::string_view group, absl::string_view version);

// /openapi/v2 and /openapi/v3 for every served resource (built on first use).
const OpenApi& OpenApiDocuments();

}  // namespace herd::sim

#endif  // HERD_SIM_DISCOVERY_H_
