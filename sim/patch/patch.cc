// JSON merge patch (RFC 7386) and JSON patch (RFC 6902). Error texts follow
// the library the API server uses (evanphx/json-patch) where it has one.
#include "sim/patch/patch.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace herd::sim {
namespace {

using json = nlohmann::json;

const char* TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "boolean";
    case json::value_t::null: return "null";
    default: return "number";
  }
}

json MergePatchValue(json target, const json& patch) {
  if (!patch.is_object()) return patch;
  if (!target.is_object()) target = json::object();
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      target.erase(key);
      continue;
    }
    auto it = target.find(key);
    json current = it == target.end() ? json(nullptr) : std::move(*it);
    target[key] = MergePatchValue(std::move(current), value);
  }
  return target;
}

// A JSON pointer (RFC 6901) split into unescaped reference tokens.
absl::StatusOr<std::vector<std::string>> ParsePointer(absl::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON pointer \"", pointer, "\": must start with '/'"));
  }
  for (absl::string_view raw : absl::StrSplit(pointer.substr(1), '/')) {
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token += raw[i];
        continue;
      }
      if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
        continue;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("invalid JSON pointer \"", pointer, "\": '~' must be followed by '0' or '1'"));
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// An array index token: digits without leading zeros.
std::optional<size_t> ArrayIndex(const std::string& token) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return std::nullopt;
  for (char c : token) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  size_t index;
  if (!absl::SimpleAtoi(token, &index)) return std::nullopt;
  return index;
}

// The value at `tokens[0, end)`, or nullptr when there is none.
json* Find(json& doc, const std::vector<std::string>& tokens, size_t end) {
  json* cur = &doc;
  for (size_t i = 0; i < end; ++i) {
    if (cur->is_object()) {
      auto it = cur->find(tokens[i]);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      std::optional<size_t> index = ArrayIndex(tokens[i]);
      if (!index.has_value() || *index >= cur->size()) return nullptr;
      cur = &(*cur)[*index];
    } else {
      return nullptr;
    }
  }
  return cur;
}

absl::Status InvalidIndex(absl::string_view op, absl::string_view path, const std::string& token) {
  return absl::InvalidArgumentError(absl::StrCat("error in ", op, " for path: '", path,
                                                 "': Unable to access invalid index: ", token,
                                                 ": invalid index referenced"));
}

// The JSON patch operations, applied to `doc_` in place.
class JsonPatcher {
 public:
  explicit JsonPatcher(json doc) : doc_(std::move(doc)) {}
  json Take() { return std::move(doc_); }

  absl::Status Apply(const json& op, size_t n) {
    if (!op.is_object()) return Error(absl::StrCat("operation ", n, " is not an object"));
    auto kind = op.find("op");
    if (kind == op.end() || !kind->is_string()) return Error(absl::StrCat("operation ", n, ": missing \"op\""));
    const std::string name = kind->get<std::string>();
    if (name != "add" && name != "remove" && name != "replace" && name != "move" && name != "copy" &&
        name != "test") {
      return Error(absl::StrCat("Unexpected kind: ", name));
    }
    absl::StatusOr<std::string> path = StringField(op, "path", n, name);
    if (!path.ok()) return path.status();
    absl::StatusOr<std::vector<std::string>> tokens = ParsePointer(*path);
    if (!tokens.ok()) return tokens.status();

    if (name == "remove") return Remove(*path, *tokens);
    if (name == "move" || name == "copy") {
      absl::StatusOr<std::string> from = StringField(op, "from", n, name);
      if (!from.ok()) return from.status();
      absl::StatusOr<std::vector<std::string>> from_tokens = ParsePointer(*from);
      if (!from_tokens.ok()) return from_tokens.status();
      return name == "move" ? Move(*from, *from_tokens, *path, *tokens) : Copy(*from, *from_tokens, *path, *tokens);
    }
    auto value = op.find("value");
    if (value == op.end()) return Error(absl::StrCat("operation ", n, " (", name, "): missing \"value\""));
    if (name == "add") return Add(name, *path, *tokens, *value);
    if (name == "replace") return Replace(*path, *tokens, *value);
    return Test(*path, *tokens, *value);
  }

 private:
  static absl::Status Error(absl::string_view msg) { return absl::InvalidArgumentError(msg); }

  static absl::StatusOr<std::string> StringField(const json& op, const char* field, size_t n, absl::string_view name) {
    auto it = op.find(field);
    if (it == op.end() || !it->is_string()) {
      return Error(absl::StrCat("operation ", n, " (", name, "): missing \"", field, "\""));
    }
    return it->get<std::string>();
  }

  // `op_name` names the operation in errors (a move adds too).
  absl::Status Add(absl::string_view op_name, absl::string_view path, const std::vector<std::string>& tokens,
                   json value) {
    if (tokens.empty()) {
      doc_ = std::move(value);
      return absl::OkStatus();
    }
    json* parent = Find(doc_, tokens, tokens.size() - 1);
    if (parent == nullptr || !(parent->is_object() || parent->is_array())) {
      return Error(absl::StrCat(op_name, " operation does not apply: doc is missing path: \"", path, "\": missing value"));
    }
    const std::string& last = tokens.back();
    if (parent->is_object()) {
      (*parent)[last] = std::move(value);
      return absl::OkStatus();
    }
    if (last == "-") {
      parent->push_back(std::move(value));
      return absl::OkStatus();
    }
    std::optional<size_t> index = ArrayIndex(last);
    if (!index.has_value() || *index > parent->size()) return InvalidIndex(op_name, path, last);
    parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
    return absl::OkStatus();
  }

  absl::Status Remove(absl::string_view path, const std::vector<std::string>& tokens) {
    if (tokens.empty()) return Error("remove operation does not apply: the document root cannot be removed");
    json* parent = Find(doc_, tokens, tokens.size() - 1);
    if (parent == nullptr || !(parent->is_object() || parent->is_array())) {
      return Error(absl::StrCat("remove operation does not apply: doc is missing path: \"", path, "\": missing value"));
    }
    const std::string& last = tokens.back();
    if (parent->is_object()) {
      if (parent->erase(last) == 0) {
        return Error(absl::StrCat("error in remove for path: '", path, "': Unable to remove nonexistent key: ", last,
                                  ": missing value"));
      }
      return absl::OkStatus();
    }
    std::optional<size_t> index = ArrayIndex(last);
    if (!index.has_value() || *index >= parent->size()) return InvalidIndex("remove", path, last);
    parent->erase(*index);
    return absl::OkStatus();
  }

  absl::Status Replace(absl::string_view path, const std::vector<std::string>& tokens, json value) {
    if (tokens.empty()) {
      doc_ = std::move(value);
      return absl::OkStatus();
    }
    json* parent = Find(doc_, tokens, tokens.size() - 1);
    if (parent == nullptr || !(parent->is_object() || parent->is_array())) {
      return Error(absl::StrCat("replace operation does not apply: doc is missing path: ", path, ": missing value"));
    }
    json* target = Find(*parent, {tokens.back()}, 1);
    if (target == nullptr) {
      return Error(absl::StrCat("replace operation does not apply: doc is missing key: ", path, ": missing value"));
    }
    *target = std::move(value);
    return absl::OkStatus();
  }

  absl::Status Move(absl::string_view from, const std::vector<std::string>& from_tokens, absl::string_view path,
                    const std::vector<std::string>& tokens) {
    // RFC 6902 4.4: a location cannot move into one of its children.
    if (tokens.size() > from_tokens.size() && std::equal(from_tokens.begin(), from_tokens.end(), tokens.begin())) {
      return Error(absl::StrCat("move operation does not apply: from ", from, " is a proper prefix of path ", path));
    }
    json* source = Find(doc_, from_tokens, from_tokens.size());
    if (source == nullptr) {
      return Error(absl::StrCat("move operation does not apply: doc is missing from path: ", from, ": missing value"));
    }
    json value = std::move(*source);
    if (absl::Status s = Remove(from, from_tokens); !s.ok()) return s;
    return Add("move", path, tokens, std::move(value));
  }

  absl::Status Copy(absl::string_view from, const std::vector<std::string>& from_tokens, absl::string_view path,
                    const std::vector<std::string>& tokens) {
    json* source = Find(doc_, from_tokens, from_tokens.size());
    if (source == nullptr) {
      return Error(absl::StrCat("copy operation does not apply: doc is missing from path: ", from, ": missing value"));
    }
    return Add("copy", path, tokens, *source);
  }

  absl::Status Test(absl::string_view path, const std::vector<std::string>& tokens, const json& value) {
    // json's == compares numbers by value (1 == 1.0), as RFC 6902 asks.
    json* target = Find(doc_, tokens, tokens.size());
    if (target == nullptr || *target != value) {
      return Error(absl::StrCat("testing value ", path, " failed: test failed"));
    }
    return absl::OkStatus();
  }

  json doc_;
};

}  // namespace

absl::StatusOr<json> ApplyMergePatch(const json& original, const json& patch) {
  if (!patch.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid merge patch: want a JSON object, got ", TypeName(patch)));
  }
  return MergePatchValue(original, patch);
}

absl::StatusOr<json> ApplyJsonPatch(const json& original, const json& patch) {
  if (!patch.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON patch: want an array of operations, got ", TypeName(patch)));
  }
  JsonPatcher patcher(original);
  for (size_t i = 0; i < patch.size(); ++i) {
    if (absl::Status s = patcher.Apply(patch[i], i); !s.ok()) return s;
  }
  return patcher.Take();
}

}  // namespace herd::sim
