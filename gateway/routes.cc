#include "gateway/routes.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"

namespace herd::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

absl::StatusOr<Route> RouteOf(const MethodDescriptor& m, const google::api::HttpRule& rule) {
  Route r;
  r.method = &m;
  std::string path;
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet: r.http_method = "GET"; path = rule.get(); break;
    case google::api::HttpRule::kPut: r.http_method = "PUT"; path = rule.put(); break;
    case google::api::HttpRule::kPost: r.http_method = "POST"; path = rule.post(); break;
    case google::api::HttpRule::kDelete: r.http_method = "DELETE"; path = rule.delete_(); break;
    case google::api::HttpRule::kPatch: r.http_method = "PATCH"; path = rule.patch(); break;
    case google::api::HttpRule::kCustom:
      r.http_method = rule.custom().kind();
      path = rule.custom().path();
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(m.full_name(), ": a google.api.http rule without a pattern"));
  }
  auto t = PathTemplate::Parse(path);
  if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat(m.full_name(), ": ", t.status().message()));
  r.path = *std::move(t);
  r.body = rule.body();
  r.response_body = rule.response_body();
  if (m.client_streaming()) {
    return absl::InvalidArgumentError(absl::StrCat(m.full_name(), ": client-streaming methods have no REST mapping"));
  }
  const Descriptor& in = *m.input_type();
  for (const std::string& v : r.path.Variables()) {
    const FieldDescriptor* f = FindFieldPath(in, v);
    if (!f || f->is_repeated() || f->type() == FieldDescriptor::TYPE_MESSAGE) {
      return absl::InvalidArgumentError(
          absl::StrCat(m.full_name(), ": path variable ", v, " is not a singular scalar field of ", in.full_name()));
    }
  }
  if (!r.body.empty() && r.body != "*" && !in.FindFieldByName(r.body)) {
    return absl::InvalidArgumentError(absl::StrCat(m.full_name(), ": body field ", r.body, " is not in ", in.full_name()));
  }
  if (!r.response_body.empty() && !m.output_type()->FindFieldByName(r.response_body)) {
    return absl::InvalidArgumentError(
        absl::StrCat(m.full_name(), ": response_body field ", r.response_body, " is not in ", m.output_type()->full_name()));
  }
  return r;
}

}  // namespace

std::string Route::GrpcPath() const { return absl::StrCat("/", method->service()->full_name(), "/", method->name()); }

const FieldDescriptor* FindFieldPath(const Descriptor& message, const std::string& path,
                                     std::vector<const FieldDescriptor*>* fields) {
  const Descriptor* d = &message;
  const FieldDescriptor* f = nullptr;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (!d) return nullptr;
    std::string name(part);
    f = d->FindFieldByName(name);
    for (int i = 0; !f && i < d->field_count(); ++i) {
      if (d->field(i)->json_name() == name) f = d->field(i);
    }
    if (!f) return nullptr;
    if (fields) fields->push_back(f);
    d = f->type() == FieldDescriptor::TYPE_MESSAGE ? f->message_type() : nullptr;
  }
  return f;
}

absl::StatusOr<std::vector<Route>> RoutesOf(const google::protobuf::ServiceDescriptor& service) {
  std::vector<Route> out;
  for (int i = 0; i < service.method_count(); ++i) {
    const MethodDescriptor& m = *service.method(i);
    if (!m.options().HasExtension(google::api::http)) continue;
    const google::api::HttpRule& rule = m.options().GetExtension(google::api::http);
    auto first = RouteOf(m, rule);
    if (!first.ok()) return first.status();
    out.push_back(*std::move(first));
    for (const auto& extra : rule.additional_bindings()) {
      auto more = RouteOf(m, extra);
      if (!more.ok()) return more.status();
      out.push_back(*std::move(more));
    }
  }
  return out;
}

}  // namespace herd::gateway
