// kubesim's OpenAPI documents, built from sim/schema (the one description
// of the served types) and the list of served resources: /openapi/v2 as
// JSON and as the protobuf kubectl asks for first (gnostic's OpenAPIv2
// Document), and /openapi/v3's index and per group-version documents.
// kubectl reads them to validate what it sends (client-side for a v1 List,
// to learn that the server validates fields otherwise), to explain fields,
// and to build apply patches; helm validates charts through the same code.
//
//   OpenApi docs = OpenApi::Build(resources);      // once, at start
//   docs.V2Json();                                  // GET /openapi/v2
//   docs.V2Protobuf();                              // … Accept: …protobuf
//   docs.V3Index();                                 // GET /openapi/v3
//   const std::string* d = docs.V3Document("apis/apps/v1");
//
// Built once and immutable afterwards: safe to read from any thread.
#ifndef HERD_SIM_OPENAPI_OPENAPI_H_
#define HERD_SIM_OPENAPI_OPENAPI_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace herd::sim {

// A served resource, as the documents' paths describe it.
struct OpenApiResource {
  std::string group;  // "" for core
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;
  // "status", "scale", "eviction", "binding", "log", "token", …
  std::vector<std::string> subresources;
  // Verbs the collection and items support: "create"-only kinds (reviews,
  // token requests) get only a POST path.
  bool create_only = false;
};

// The media type kubectl's Accept header names for the protobuf form.
inline constexpr char kOpenApiV2ProtobufType[] = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

class OpenApi {
 public:
  static OpenApi Build(const std::vector<OpenApiResource>& resources);

  const std::string& V2Json() const { return v2_json_; }
  const std::string& V2Protobuf() const { return v2_protobuf_; }
  // {"paths": {"apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=…"}, …}}
  const std::string& V3Index() const { return v3_index_; }
  // The document of "api/v1" or "apis/GROUP/VERSION"; nullptr when not served.
  const std::string* V3Document(absl::string_view key) const;

 private:
  std::string v2_json_;
  std::string v2_protobuf_;
  std::string v3_index_;
  std::map<std::string, std::string, std::less<>> v3_docs_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_OPENAPI_OPENAPI_H_
