// HTTP/JSON ⇄ protobuf for the REST gateway, as grpc-gateway and Envoy's
// JSON transcoder do it: a route found by method and path, the request
// built from the path's variables, the body and the query, the reply as
// protobuf's canonical JSON, and gRPC statuses as HTTP statuses.
//
//   Router router(*RoutesOf(*herd::v1::Herd::descriptor()));
//   auto match = router.Find("POST", "/v1/namespaces/shop/deployments/web:rollout");
//   auto request = BuildRequest(*match, query, body);     // INVALID_ARGUMENT: 400, with the reason
//   …call the method…
//   std::string json = ReplyJson(*match->route, reply);
#ifndef HERD_GATEWAY_TRANSCODE_H_
#define HERD_GATEWAY_TRANSCODE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/routes.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace herd::gateway {

struct Match {
  const Route* route = nullptr;
  PathTemplate::Bindings bindings;
};

class Router {
 public:
  explicit Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

  // The route for `method` and `raw_path` (as sent, percent-encoded, no
  // query). NOT_FOUND when no route has the path; UNIMPLEMENTED (HTTP 405)
  // when routes have it with other methods, which `allowed` then lists.
  absl::StatusOr<Match> Find(absl::string_view method, absl::string_view raw_path,
                             std::vector<std::string>* allowed = nullptr) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// The request message for `match`: the body (all of it for body "*", else
// the named field), the query parameters (fields by proto or JSON name,
// nested with dots, repeated by repeating, enums by name, durations and
// timestamps in their JSON forms) and the path's variables, which win.
// INVALID_ARGUMENT naming the problem (malformed JSON, an unknown field or
// parameter, a value of the wrong type).
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequest(
    const Match& match, const std::vector<std::pair<std::string, std::string>>& query, absl::string_view body);

// Protobuf's canonical JSON (camelCase names) of `reply`, or of its
// response_body field.
std::string ReplyJson(const Route& route, const google::protobuf::Message& reply);
// The JSON of any message (for stream items).
std::string MessageJson(const google::protobuf::Message& message);

// The HTTP status for a gRPC status code, as grpc-gateway maps them.
int HttpStatusForCode(int grpc_code);
// {"code": …, "message": …, "details": [...]}: a google.rpc.Status in JSON.
nlohmann::json ErrorJson(int grpc_code, absl::string_view message, nlohmann::json details = nlohmann::json::array());

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_TRANSCODE_H_
