#include "sim/fieldvalidation/field_validation.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;
using schema::Field;
using schema::Kind;
using schema::Message;

// One open object or array while parsing.
struct Frame {
  bool array = false;
  // The message an object is (or an array's elements are); nullptr: not
  // checked (raw JSON, maps of scalars, or below an unknown field).
  const Message* message = nullptr;
  // An object that is a map field: any key, values of `message`.
  bool map = false;
  std::set<std::string> keys;
  std::string key;
  size_t index = 0;
};

bool IsKindMessage(const Message* m) {
  for (const auto& k : schema::Kinds()) {
    if (absl::string_view(k.message) == m->name) return true;
  }
  return absl::string_view(m->name) == "meta.v1.DeleteOptions";
}

class Checker {
 public:
  Checker(const Message* root, bool patch) : root_(root), patch_(patch) {}

  bool OnEvent(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start: {
        Frame f;
        f.array = event == Json::parse_event_t::array_start;
        if (stack_.empty()) {
          f.message = f.array ? nullptr : root_;
        } else {
          Child(stack_.back(), &f);
        }
        stack_.push_back(std::move(f));
        return true;
      }
      case Json::parse_event_t::key: {
        Frame& top = stack_.back();
        std::string key = parsed.get<std::string>();
        if (!top.keys.insert(key).second) issues_.push_back(absl::StrCat("duplicate field \"", Path(key), "\""));
        top.key = key;
        if (top.message != nullptr && !top.map && !Known(top, key)) {
          issues_.push_back(absl::StrCat("unknown field \"", Path(key), "\""));
          return false;  // drop it, as decoding into the Go type does
        }
        return true;
      }
      case Json::parse_event_t::value:
        if (!stack_.empty() && stack_.back().array) stack_.back().index++;
        return true;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        stack_.pop_back();
        if (!stack_.empty() && stack_.back().array) stack_.back().index++;
        return true;
    }
    return true;
  }

  std::vector<std::string> TakeIssues() { return std::move(issues_); }

 private:
  bool Known(const Frame& top, const std::string& key) const {
    if (schema::FindJsonField(*top.message, key) != nullptr) return true;
    if ((key == "apiVersion" || key == "kind") && (stack_.size() == 1 || IsKindMessage(top.message))) return true;
    return patch_ && absl::StartsWith(key, "$");
  }

  // What the value under the parent's current key (or next index) is.
  void Child(const Frame& parent, Frame* child) const {
    if (parent.message == nullptr) return;
    if (parent.array || parent.map) {
      if (!child->array) child->message = parent.message;
      return;
    }
    const Field* f = schema::FindJsonField(*parent.message, parent.key);
    if (f == nullptr || f->kind != Kind::kMessage) return;  // unknown (already reported), raw or scalar
    const Message* m = schema::FindMessage(f->message);
    if (f->map()) {
      child->map = !child->array;
      child->message = m;
    } else if (f->repeated()) {
      if (child->array) child->message = m;
    } else if (!child->array) {
      child->message = m;
    }
  }

  // "spec.template.spec.containers[0].imagePullPolicyy"
  std::string Path(const std::string& key) const {
    std::string out;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.array) {
        absl::StrAppend(&out, "[", f.index, "]");
      } else {
        absl::StrAppend(&out, out.empty() ? "" : ".", f.key);
      }
    }
    absl::StrAppend(&out, out.empty() ? "" : ".", key);
    return out;
  }

  const Message* root_;
  bool patch_;
  std::vector<Frame> stack_;
  std::vector<std::string> issues_;
};

}  // namespace

absl::StatusOr<FieldValidation> ParseFieldValidation(const std::string* value) {
  if (value == nullptr || value->empty() || *value == "Warn") return FieldValidation::kWarn;
  if (*value == "Strict") return FieldValidation::kStrict;
  if (*value == "Ignore") return FieldValidation::kIgnore;
  return absl::InvalidArgumentError(
      absl::StrCat("fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", not \"", *value, "\""));
}

std::optional<CheckedObject> DecodeChecked(absl::string_view body, const schema::Message* root, bool patch) {
  Checker checker(root, patch);
  Json parsed = Json::parse(
      body.begin(), body.end(),
      [&checker](int depth, Json::parse_event_t event, Json& j) { return checker.OnEvent(depth, event, j); },
      /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::nullopt;
  return CheckedObject{std::move(parsed), checker.TakeIssues()};
}

std::string StrictErrorMessage(absl::string_view kind, absl::string_view version,
                               const std::vector<std::string>& issues) {
  return absl::StrCat(kind, " in version \"", version, "\" cannot be handled as a ", kind,
                      ": strict decoding error: ", absl::StrJoin(issues, ", "));
}

std::string WarningHeader(absl::string_view text) {
  return absl::StrCat("299 - \"", absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
}

}  // namespace herd::sim
