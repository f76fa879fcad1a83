// JSON text as kubesim sends and stores it: Go's encoding/json way, where a
// string that is not valid UTF-8 has each bad byte replaced by U+FFFD.
// nlohmann's dump() throws on such strings instead, and they do reach
// kubesim: names and values from request paths and query parameters, and
// strings in protobuf bodies.
#ifndef HERD_SIM_JSON_TEXT_H_
#define HERD_SIM_JSON_TEXT_H_

#include <string>

#include "nlohmann/json.hpp"

namespace herd::sim {

inline std::string JsonText(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace herd::sim

#endif  // HERD_SIM_JSON_TEXT_H_
