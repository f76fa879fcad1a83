// Kubernetes protobuf request bodies, decoded into the JSON objects kubesim
// stores.
//
// kubectl's typed clients (create deployment, create job --from, run, drain,
// …) send bodies as application/vnd.kubernetes.protobuf and never fall back
// to JSON, so kubesim has to read them:
//
//   absl::StatusOr<nlohmann::json> obj = herd::sim::ParseRequestBody(req);
//   if (!obj.ok()) return BadRequest(obj.status().message());
//   (*obj)["kind"];   // "Deployment", whichever encoding the client chose
//
// The decoder knows, field by field, what sim/schema describes: the kinds
// kubesim serves and the bodies of their subresources (Binding, Eviction,
// Scale, TokenRequest, DeleteOptions), the RBAC kinds and the access
// reviews, plus Secret. Anything else is an error rather than data silently
// dropped.
//
// All functions are pure and thread-safe.
#ifndef HERD_SIM_PROTOBUF_PROTOBUF_H_
#define HERD_SIM_PROTOBUF_PROTOBUF_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "nlohmann/json.hpp"

namespace herd::sim {

// The media type of Kubernetes protobuf bodies.
inline constexpr char kProtobufMediaType[] = "application/vnd.kubernetes.protobuf";

// Decodes a Kubernetes protobuf body (the "k8s\0" magic, then a
// runtime.Unknown holding the type's apiVersion and kind and the object's
// bytes) into the object's JSON form as the API server's JSON encoding shows
// it: apiVersion and kind set, zero values omitted where Go's omitempty
// omits them and kept where the Go field is a pointer, metav1.Time as RFC
// 3339 (null when zero), IntOrString as a number or string, Quantity as its
// string, bytes as base64, RawExtension as the embedded JSON.
//
// INVALID_ARGUMENT when the body is malformed, names a kind the decoder does
// not know, or carries a field it does not know ("kubesim cannot decode
// field 17 of k8s.io.api.core.v1.PodSpec from protobuf; send JSON").
absl::StatusOr<nlohmann::json> DecodeKubernetesProtobuf(absl::string_view body);

// The body of an API request as a JSON value: decoded from protobuf when the
// Content-Type says application/vnd.kubernetes.protobuf, parsed as JSON
// otherwise. INVALID_ARGUMENT with a message for the client when it is
// neither. Whether the media type is acceptable at all is the caller's call.
absl::StatusOr<nlohmann::json> ParseRequestBody(const http::Request& req);

// Whether a Content-Type header names the Kubernetes protobuf media type.
bool IsProtobufContentType(absl::string_view content_type);

}  // namespace herd::sim

#endif  // HERD_SIM_PROTOBUF_PROTOBUF_H_
