// What kubesim says about itself: /version, API discovery (/api, /apis and
// each group version's resources) and the OpenAPI v3 documents kubectl reads
// before it writes (to learn that the server validates fields itself).
#ifndef HERD_SIM_DISCOVERY_H_
#define HERD_SIM_DISCOVERY_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

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

// /openapi/v3: the index of group-version documents.
nlohmann::json OpenApiV3Index();
// /openapi/v3/api/v1 or /openapi/v3/apis/GROUP/VERSION; nullopt when not served.
std::optional<nlohmann::json> OpenApiV3Document(absl::string_view group, absl::string_view version);

}  // namespace herd::sim

#endif  // HERD_SIM_DISCOVERY_H_
