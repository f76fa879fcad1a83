// google.api.http path templates: parsing and matching request paths.
//
//   Template = "/" Segments [ Verb ] ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   Verb     = ":" LITERAL ;
//
//   auto t = PathTemplate::Parse("/v1/{workload=namespaces/*/deployments/*}:rollout");
//   PathTemplate::Bindings b;
//   t->Match({"v1", "namespaces", "shop", "deployments", "web"}, "rollout", &b);
//   // b == {{"workload", "namespaces/shop/deployments/web"}}
#ifndef HERD_GATEWAY_PATH_TEMPLATE_H_
#define HERD_GATEWAY_PATH_TEMPLATE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herd::gateway {

class PathTemplate {
 public:
  // Field path → the path segments it matched, joined by "/".
  using Bindings = std::vector<std::pair<std::string, std::string>>;

  // INVALID_ARGUMENT naming what is wrong with `text`.
  static absl::StatusOr<PathTemplate> Parse(absl::string_view text);

  // Whether the (percent-decoded) segments and verb ("" for none) match;
  // fills `bindings` when they do.
  bool Match(const std::vector<std::string>& segments, absl::string_view verb, Bindings* bindings) const;

  const std::string& text() const { return text_; }
  const std::string& verb() const { return verb_; }
  // The field paths bound by variables, in order.
  std::vector<std::string> Variables() const;
  // One path parameter of the OpenAPI form of the template.
  struct OpenApiParam {
    std::string name;        // "namespace", "deployment"
    std::string field_path;  // the variable it is part of: "workload"
  };
  // The path as OpenAPI writes it, each wildcard of a variable a parameter
  // named after the literal before it ("deployments/*" → {deployment}):
  // "/v1/{workload=namespaces/*/deployments/*}:rollout" →
  // "/v1/namespaces/{namespace}/deployments/{deployment}:rollout".
  std::string OpenApiPath(std::vector<OpenApiParam>* params = nullptr) const;
  // The segments a variable's value must match ("namespaces/*/deployments/*").
  std::string VariablePattern(const std::string& field_path) const;

 private:
  struct Segment {
    enum Kind { kLiteral, kStar, kStarStar, kVariableStart, kVariableEnd } kind;
    std::string value;  // the literal, or the variable's field path
  };
  bool MatchFrom(size_t si, const std::vector<std::string>& segs, size_t pi, Bindings* bindings,
                 std::vector<std::pair<std::string, size_t>>* open) const;

  std::string text_;
  std::vector<Segment> segments_;
  std::string verb_;
};

}  // namespace herd::gateway

#endif  // HERD_GATEWAY_PATH_TEMPLATE_H_
