// FieldSet: the fieldsV1 tree, its set algebra and its printed paths.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sim/json_text.h"
#include "sim/managedfields/managedfields.h"

namespace herd::sim::managedfields {
namespace {

bool ValidElement(const std::string& e) {
  return e.size() > 2 && e[1] == ':' && (e[0] == 'f' || e[0] == 'k' || e[0] == 'v' || e[0] == 'i');
}

}  // namespace

absl::StatusOr<FieldSet> FieldSet::FromJson(const Json& fields_v1) {
  if (!fields_v1.is_object()) return absl::InvalidArgumentError("fieldsV1 must be an object");
  FieldSet out;
  for (auto it = fields_v1.begin(); it != fields_v1.end(); ++it) {
    if (it.key() == ".") {
      out.member_ = true;
      continue;
    }
    if (!ValidElement(it.key())) {
      return absl::InvalidArgumentError(absl::StrCat("invalid path element: ", it.key()));
    }
    auto child = FromJson(it.value());
    if (!child.ok()) return child.status();
    // A child written as {} is a member without children.
    if (child->children_.empty()) child->member_ = true;
    out.children_.emplace(it.key(), *std::move(child));
  }
  return out;
}

Json FieldSet::ToJson() const {
  Json out = Json::object();
  for (const auto& [name, child] : children_) {
    Json c = child.ToJson();
    if (child.member_ && !child.children_.empty()) c["."] = Json::object();
    out[name] = std::move(c);
  }
  return out;
}

void FieldSet::Insert(const Path& path) {
  FieldSet* node = this;
  for (const auto& e : path) node = &node->children_[e];
  if (node != this) node->member_ = true;
}

const FieldSet* FieldSet::Find(const Path& path) const {
  const FieldSet* node = this;
  for (const auto& e : path) {
    auto it = node->children_.find(e);
    if (it == node->children_.end()) return nullptr;
    node = &it->second;
  }
  return node;
}

bool FieldSet::Has(const Path& path) const {
  const FieldSet* node = Find(path);
  return node != nullptr && node != this && node->member_;
}

bool FieldSet::Touches(const Path& path) const { return Find(path) != nullptr; }

FieldSet FieldSet::Union(const FieldSet& other) const {
  FieldSet out = *this;
  out.member_ = member_ || other.member_;
  for (const auto& [name, child] : other.children_) {
    auto it = out.children_.find(name);
    if (it == out.children_.end()) {
      out.children_.emplace(name, child);
    } else {
      it->second = it->second.Union(child);
    }
  }
  return out;
}

FieldSet FieldSet::Difference(const FieldSet& other) const {
  FieldSet out;
  out.member_ = member_ && !other.member_;
  for (const auto& [name, child] : children_) {
    auto it = other.children_.find(name);
    FieldSet c = it == other.children_.end() ? child : child.Difference(it->second);
    if (c.member_ || !c.children_.empty()) out.children_.emplace(name, std::move(c));
  }
  return out;
}

FieldSet FieldSet::Intersection(const FieldSet& other) const {
  FieldSet out;
  out.member_ = member_ && other.member_;
  for (const auto& [name, child] : children_) {
    auto it = other.children_.find(name);
    if (it == other.children_.end()) continue;
    FieldSet c = child.Intersection(it->second);
    if (c.member_ || !c.children_.empty()) out.children_.emplace(name, std::move(c));
  }
  return out;
}

void FieldSet::RemoveTree(const Path& path) {
  if (path.empty()) {
    children_.clear();
    return;
  }
  std::vector<std::pair<FieldSet*, std::string>> trail;
  FieldSet* node = this;
  for (const auto& e : path) {
    auto it = node->children_.find(e);
    if (it == node->children_.end()) return;
    trail.emplace_back(node, e);
    node = &it->second;
  }
  // Drop the node, then parents left neither owned nor with children.
  for (auto it = trail.rbegin(); it != trail.rend(); ++it) {
    FieldSet* parent = it->first;
    FieldSet& child = parent->children_[it->second];
    if (it == trail.rbegin() || (!child.member_ && child.children_.empty())) {
      parent->children_.erase(it->second);
    } else {
      break;
    }
  }
}

void FieldSet::ForEach(const std::function<void(const Path&)>& fn) const {
  Path path;
  std::function<void(const FieldSet&)> walk = [&](const FieldSet& s) {
    // Members at this level first, then what is below them (structured-merge-diff's order).
    for (const auto& [name, child] : s.children_) {
      if (!child.member_) continue;
      path.push_back(name);
      fn(path);
      path.pop_back();
    }
    for (const auto& [name, child] : s.children_) {
      if (child.children_.empty()) continue;
      path.push_back(name);
      walk(child);
      path.pop_back();
    }
  };
  walk(*this);
}

std::string PathString(const Path& path) {
  std::string out;
  for (const auto& e : path) {
    absl::string_view rest = absl::string_view(e).substr(2);
    switch (e[0]) {
      case 'f': absl::StrAppend(&out, ".", rest); break;
      case 'v': absl::StrAppend(&out, "[=", rest, "]"); break;
      case 'i': absl::StrAppend(&out, "[", rest, "]"); break;
      case 'k': {
        Json key = Json::parse(rest, nullptr, false);
        std::vector<std::string> parts;
        if (key.is_object()) {
          for (auto it = key.begin(); it != key.end(); ++it) parts.push_back(absl::StrCat(it.key(), "=", JsonText(*it)));
        }
        absl::StrAppend(&out, "[", absl::StrJoin(parts, ","), "]");
        break;
      }
      default: absl::StrAppend(&out, e); break;
    }
  }
  return out;
}

}  // namespace herd::sim::managedfields
