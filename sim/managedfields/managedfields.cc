#include "sim/managedfields/managedfields.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "sim/json_text.h"

namespace herd::sim::managedfields {
namespace {

using schema::Field;
using schema::ListType;
using schema::Message;

// How a node of an object merges: a leaf (scalars, atomic structs and
// lists, anything the schema does not describe), a struct of declared
// fields, a map of like values, or a list (set or associative).
struct Type {
  enum Shape { kLeaf, kStruct, kMap, kList } shape = kLeaf;
  const Message* message = nullptr;  // kStruct
  const Field* element = nullptr;    // kMap, kList: the field whose values they hold
  ListType list_type = ListType::kAtomic;
  std::vector<std::string> keys;  // kList of kAssociative
};

Type OfMessage(const Message* m) {
  Type t;
  if (m == nullptr || schema::Semantics(*m).atomic) return t;
  t.shape = Type::kStruct;
  t.message = m;
  return t;
}

// The type of one value of `f` (an item of a list, a value of a map).
Type ElementOf(const Field& f) {
  return f.kind == schema::Kind::kMessage ? OfMessage(schema::FindMessage(f.message)) : Type{};
}

Type OfField(const Message& owner, const Field& f) {
  if (f.repeated()) {
    const auto& sem = schema::Semantics(owner, f);
    Type t;
    if (sem.list_type == ListType::kAtomic) return t;
    t.shape = Type::kList;
    t.element = &f;
    t.list_type = sem.list_type;
    if (sem.list_type == ListType::kAssociative) t.keys = absl::StrSplit(sem.map_keys, ',', absl::SkipEmpty());
    return t;
  }
  if (f.map()) {
    Type t;
    t.shape = Type::kMap;
    t.element = &f;
    return t;
  }
  return ElementOf(f);
}

// The type of `key` within a struct or map of type `t`; `declared` says
// whether it is a struct's declared field (not a map's entry).
Type ChildOf(const Type& t, const std::string& key, bool* declared = nullptr) {
  if (declared) *declared = false;
  if (t.shape == Type::kMap) return ElementOf(*t.element);
  const Message* owner = nullptr;
  const Field* f = schema::FindJsonField(*t.message, key, &owner);
  if (f == nullptr || owner == nullptr) return Type{};
  if (declared) *declared = true;
  return OfField(*owner, *f);
}

bool Fits(const Type& t, const Json* v) {
  if (v == nullptr || v->is_null()) return true;
  if (t.shape == Type::kList) return v->is_array();
  return v->is_object();
}

bool EmptyValue(const Json* v) { return v == nullptr || v->is_null() || (v->is_structured() && v->empty()); }

// The path element of a list item: k:{keys} or v:value.
std::string ItemElement(const Type& t, const Json& item) {
  if (t.list_type == ListType::kSet || !item.is_object()) return "v:" + JsonText(item);
  Json key = Json::object();
  for (const auto& k : t.keys) {
    auto it = item.find(k);
    if (it != item.end()) {
      key[k] = *it;
    } else if (k == "protocol") {
      key[k] = "TCP";  // the one defaulted key field (ports)
    }
  }
  return "k:" + JsonText(key);
}

// Items of a list by path element, first occurrence wins, in order.
std::vector<std::pair<std::string, const Json*>> Items(const Type& t, const Json* list) {
  std::vector<std::pair<std::string, const Json*>> out;
  if (list == nullptr || !list->is_array()) return out;
  std::set<std::string> seen;
  for (const auto& item : *list) {
    std::string pe = ItemElement(t, item);
    if (seen.insert(pe).second) out.emplace_back(std::move(pe), &item);
  }
  return out;
}

const Json* Find(const std::vector<std::pair<std::string, const Json*>>& items, const std::string& pe) {
  for (const auto& [k, v] : items) {
    if (k == pe) return v;
  }
  return nullptr;
}

const Json* Member(const Json* obj, const std::string& key) {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

// ---- Compare ----

void CompareNode(const Json* l, const Json* r, const Type& t, Path& path, Comparison& c) {
  if (l != nullptr && r != nullptr && *l == *r) return;
  bool leaf = t.shape == Type::kLeaf || (EmptyValue(l) && EmptyValue(r)) || !Fits(t, l) || !Fits(t, r);
  if (leaf) {
    if (path.empty()) return;
    if (l == nullptr) {
      c.added.Insert(path);
    } else if (r == nullptr) {
      c.removed.Insert(path);
    } else {
      c.modified.Insert(path);
    }
    return;
  }
  if (t.shape == Type::kList) {
    auto li = Items(t, l), ri = Items(t, r);
    Type item = t.list_type == ListType::kSet ? Type{} : ElementOf(*t.element);
    for (const auto& [pe, v] : li) {
      path.push_back(pe);
      CompareNode(v, Find(ri, pe), item, path, c);
      path.pop_back();
    }
    for (const auto& [pe, v] : ri) {
      if (Find(li, pe) != nullptr) continue;
      path.push_back(pe);
      CompareNode(nullptr, v, item, path, c);
      path.pop_back();
    }
  } else {
    auto visit = [&](const std::string& key, const Json* lv, const Json* rv) {
      path.push_back("f:" + key);
      CompareNode(lv, rv, ChildOf(t, key), path, c);
      path.pop_back();
    };
    if (l != nullptr && l->is_object()) {
      for (auto it = l->begin(); it != l->end(); ++it) visit(it.key(), &*it, Member(r, it.key()));
    }
    if (r != nullptr && r->is_object()) {
      for (auto it = r->begin(); it != r->end(); ++it) {
        if (Member(l, it.key()) == nullptr) visit(it.key(), nullptr, &*it);
      }
    }
  }
  if (path.empty()) return;
  if (l == nullptr) c.added.Insert(path);
  if (r == nullptr) c.removed.Insert(path);
}

// ---- ToFieldSet ----

void CollectFields(const Json& v, const Type& t, Path& path, FieldSet& out) {
  if (t.shape == Type::kLeaf || !Fits(t, &v)) {
    if (!path.empty()) out.Insert(path);
    return;
  }
  if (v.is_null()) return;
  if (t.shape == Type::kList) {
    Type item = t.list_type == ListType::kSet ? Type{} : ElementOf(*t.element);
    for (const auto& [pe, child] : Items(t, &v)) {
      path.push_back(pe);
      CollectFields(*child, item, path, out);
      out.Insert(path);
      path.pop_back();
    }
    return;
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    bool declared;
    Type ct = ChildOf(t, it.key(), &declared);
    path.push_back("f:" + it.key());
    CollectFields(*it, ct, path, out);
    if (it->is_null() || (it->is_object() && it->empty()) || !declared) out.Insert(path);
    path.pop_back();
  }
}

// ---- Typing an applied configuration ----

// What structured-merge-diff's validation finds while it types an applied
// configuration: in each struct the first key its schema does not declare
// (which ends the walk of that struct; upstream walks a Go map, so of
// several the one it names varies, here it is the first in key order).
// Atomic structs and lists are walked too; items of associative lists are
// named by their keys, of other lists by their index.
void FindUndeclared(const Json& v, const Message& m, bool root, Path& path, std::vector<std::string>& out) {
  if (!v.is_object()) return;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const Message* owner = nullptr;
    const Field* f = schema::FindJsonField(m, it.key(), &owner);
    if (f == nullptr && root && (it.key() == "apiVersion" || it.key() == "kind")) continue;
    path.push_back("f:" + it.key());
    if (f == nullptr) {
      out.push_back(absl::StrCat(PathString(path), ": field not declared in schema"));
      path.pop_back();
      return;
    }
    const Message* sub = f->kind == schema::Kind::kMessage ? schema::FindMessage(f->message) : nullptr;
    if (sub != nullptr && f->map() && it->is_object()) {
      for (auto e = it->begin(); e != it->end(); ++e) {
        path.push_back("f:" + e.key());
        FindUndeclared(*e, *sub, false, path, out);
        path.pop_back();
      }
    } else if (sub != nullptr && f->repeated() && it->is_array()) {
      Type t = owner != nullptr ? OfField(*owner, *f) : Type{};
      for (size_t i = 0; i < it->size(); ++i) {
        const Json& item = (*it)[i];
        bool keyed = t.shape == Type::kList && t.list_type == ListType::kAssociative;
        path.push_back(keyed ? ItemElement(t, item) : absl::StrCat("i:", i));
        FindUndeclared(item, *sub, false, path, out);
        path.pop_back();
      }
    } else if (sub != nullptr && !f->map() && !f->repeated()) {
      FindUndeclared(*it, *sub, false, path, out);
    }
    path.pop_back();
  }
}

// ---- Zero values ----

// Value (non-pointer) struct fields, and fields without omitempty, that Go's
// zero value of a kind encodes; everything else is a pointer or omitted.
struct ZeroField {
  const char* message;
  const char* field;
  bool null;  // encodes as null (a nil slice or pointer without omitempty) rather than {}
};
constexpr ZeroField kZeroFields[] = {
    {"core.v1.PodTemplateSpec", "metadata", false},  {"core.v1.PodTemplateSpec", "spec", false},
    {"core.v1.PodSpec", "containers", true},         {"apps.v1.DeploymentSpec", "selector", true},
    {"apps.v1.DeploymentSpec", "template", false},   {"apps.v1.DeploymentSpec", "strategy", false},
    {"apps.v1.ReplicaSetSpec", "selector", true},    {"apps.v1.ReplicaSetSpec", "template", false},
    {"apps.v1.StatefulSetSpec", "selector", true},   {"apps.v1.StatefulSetSpec", "template", false},
    {"apps.v1.StatefulSetSpec", "updateStrategy", false}, {"batch.v1.JobSpec", "template", false},
    {"batch.v1.CronJobSpec", "jobTemplate", false},  {"batch.v1.JobTemplateSpec", "metadata", false},
    {"batch.v1.JobTemplateSpec", "spec", false},
};

Json ZeroOf(const Message& m) {
  Json out = Json::object();
  for (const Field& f : m.fields) {
    if (f.inlined() || f.kind != schema::Kind::kMessage || f.repeated() || f.map()) continue;
    absl::string_view name = f.json;
    const Message* sub = schema::FindMessage(f.message);
    if (sub == nullptr) continue;
    if (name == "metadata" && absl::string_view(sub->name) == "meta.v1.ObjectMeta") {
      out["metadata"] = {{"creationTimestamp", nullptr}};
    }
  }
  for (const auto& z : kZeroFields) {
    if (absl::string_view(z.message) != m.name) continue;
    const Field* f = schema::FindJsonField(m, z.field);
    if (f == nullptr) continue;
    if (z.null) {
      out[z.field] = nullptr;
    } else if (const Message* sub = schema::FindMessage(f->message)) {
      Json v = ZeroOf(*sub);
      if (absl::string_view(sub->name) == "meta.v1.ObjectMeta") v = {{"creationTimestamp", nullptr}};
      out[z.field] = std::move(v);
    }
  }
  return out;
}

// ---- Merge and prune (apply) ----

Json MergeNode(const Json* l, const Json& r, const Type& t) {
  if (l == nullptr || t.shape == Type::kLeaf || !Fits(t, l) || !Fits(t, &r) || l->is_null() || r.is_null()) {
    return r;
  }
  if (t.shape == Type::kList) {
    Type item = t.list_type == ListType::kSet ? Type{} : ElementOf(*t.element);
    auto ri = Items(t, &r);
    Json out = Json::array();
    std::set<std::string> done;
    for (const auto& [pe, v] : Items(t, l)) {
      const Json* rv = Find(ri, pe);
      out.push_back(rv != nullptr ? MergeNode(v, *rv, item) : *v);
      done.insert(pe);
    }
    for (const auto& [pe, v] : ri) {
      if (!done.count(pe)) out.push_back(*v);
    }
    return out;
  }
  Json out = *l;
  for (auto it = r.begin(); it != r.end(); ++it) {
    if (it->is_null()) {
      out.erase(it.key());  // an applied null leaves the field unset
      continue;
    }
    out[it.key()] = MergeNode(Member(l, it.key()), *it, ChildOf(t, it.key()));
  }
  return out;
}

// Removes the node at `path` below `node` (of type `t`). Returns true when
// `node` is a map or list that this leaves empty, for the parent to drop.
bool RemovePath(Json& node, const Type& t, const Path& path, size_t i) {
  if (i == path.size()) return false;
  const std::string& pe = path[i];
  if (t.shape == Type::kList && node.is_array()) {
    Type item = t.list_type == ListType::kSet ? Type{} : ElementOf(*t.element);
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (ItemElement(t, *it) != pe) continue;
      if (i + 1 == path.size() || RemovePath(*it, item, path, i + 1)) node.erase(it);
      break;
    }
    return node.empty();
  }
  if ((t.shape == Type::kStruct || t.shape == Type::kMap) && node.is_object() && pe.rfind("f:", 0) == 0) {
    std::string key = pe.substr(2);
    auto it = node.find(key);
    if (it == node.end()) return false;
    if (i + 1 == path.size() || RemovePath(*it, ChildOf(t, key), path, i + 1)) node.erase(key);
    return t.shape == Type::kMap && node.empty();
  }
  return false;
}

// ---- Entries ----

std::string KeyOf(const Entry& e) {
  // Appliers are one manager whatever version they apply.
  return absl::StrCat(e.manager, "\x1f", e.operation, "\x1f", e.operation == "Apply" ? "" : e.api_version, "\x1f",
                      e.subresource);
}

std::string Printed(const Entry& e) {
  std::string s = JsonText(e.manager);
  if (!e.subresource.empty()) absl::StrAppend(&s, " with subresource ", JsonText(e.subresource));
  if (e.operation == "Update") absl::StrAppend(&s, " using ", e.api_version);
  return s;
}

// What the API server never records: identity and server-set metadata
// (stripMetaManager), and the status of a main-resource write or anything
// but the status (and metadata) of a status write (the reset fields).
FieldSet Strip(FieldSet s, const std::string& subresource) {
  for (const char* f : {"f:apiVersion", "f:kind"}) s.RemoveTree({f});
  for (const char* f : {"f:name", "f:namespace", "f:creationTimestamp", "f:selfLink", "f:uid", "f:generation",
                        "f:managedFields", "f:resourceVersion", "f:deletionTimestamp",
                        "f:deletionGracePeriodSeconds"}) {
    s.RemoveTree({"f:metadata", f});
  }
  if (subresource == "status") {
    s.RemoveTree({"f:spec"});
  } else {
    s.RemoveTree({"f:status"});
  }
  return s;
}

Entries::iterator FindEntry(Entries& entries, const std::string& key) {
  return std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return KeyOf(e) == key; });
}

void DropEmpty(Entries& entries) {
  entries.erase(std::remove_if(entries.begin(), entries.end(), [](const Entry& e) { return e.fields.Empty(); }),
                entries.end());
}

}  // namespace

FieldSet ToFieldSet(const Json& value, const schema::Message& kind) {
  FieldSet out;
  Path path;
  CollectFields(value, OfMessage(&kind), path, out);
  return out;
}

Comparison Compare(const Json* lhs, const Json& rhs, const schema::Message& kind) {
  Comparison c;
  Path path;
  CompareNode(lhs, &rhs, OfMessage(&kind), path, c);
  return c;
}

Json ZeroObject(const schema::Message& kind) {
  Json out = ZeroOf(kind);
  for (const char* part : {"spec", "status"}) {
    const Field* f = schema::FindJsonField(kind, part);
    if (f == nullptr || f->kind != schema::Kind::kMessage || f->repeated() || f->map()) continue;
    if (const Message* sub = schema::FindMessage(f->message)) out[part] = ZeroOf(*sub);
  }
  return out;
}

absl::StatusOr<Entries> DecodeEntries(const Json& managed_fields) {
  Entries out;
  if (managed_fields.is_null()) return out;
  if (!managed_fields.is_array()) return absl::InvalidArgumentError("managedFields must be a list");
  for (const auto& e : managed_fields) {
    if (!e.is_object()) return absl::InvalidArgumentError("a managedFields entry must be an object");
    Entry entry;
    for (auto [field, dest] : {std::pair{"manager", &entry.manager}, {"operation", &entry.operation},
                               {"apiVersion", &entry.api_version}, {"time", &entry.time},
                               {"subresource", &entry.subresource}}) {
      auto it = e.find(field);
      if (it == e.end() || it->is_null()) continue;
      if (!it->is_string()) return absl::InvalidArgumentError(absl::StrCat("managedFields ", field, " must be a string"));
      *dest = it->get<std::string>();
    }
    if (entry.operation != "Apply" && entry.operation != "Update") {
      return absl::InvalidArgumentError(absl::StrCat("invalid managedFields operation: \"", entry.operation, "\""));
    }
    if (e.value("fieldsType", "FieldsV1") != "FieldsV1") {
      return absl::InvalidArgumentError("managedFields fieldsType must be FieldsV1");
    }
    auto fields = FieldSet::FromJson(e.value("fieldsV1", Json::object()));
    if (!fields.ok()) return fields.status();
    entry.fields = *std::move(fields);
    out.push_back(std::move(entry));
  }
  return out;
}

Json EncodeEntries(Entries entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.operation, a.time, a.manager, a.api_version, a.subresource) <
           std::tie(b.operation, b.time, b.manager, b.api_version, b.subresource);
  });
  Json out = Json::array();
  for (const auto& e : entries) {
    Json j = {{"manager", e.manager}, {"operation", e.operation}, {"apiVersion", e.api_version},
              {"fieldsType", "FieldsV1"}, {"fieldsV1", e.fields.ToJson()}};
    if (!e.time.empty()) j["time"] = e.time;
    if (!e.subresource.empty()) j["subresource"] = e.subresource;
    out.push_back(std::move(j));
  }
  return out;
}

bool IsReset(const Json& managed_fields) {
  return managed_fields.is_array() && managed_fields.size() == 1 && managed_fields[0].is_object() &&
         managed_fields[0].empty();
}

void RecordUpdate(const Json* live, const Json& next, const schema::Message& kind, const Writer& w,
                  const std::string& now, Entries& entries) {
  Comparison c = Compare(live, next, kind);
  FieldSet changed = c.modified.Union(c.added);
  const Entry self{.manager = w.manager, .operation = "Update", .api_version = w.api_version,
                   .subresource = w.subresource};
  const std::string key = KeyOf(self);
  // An update takes what it changed from everyone (it cannot conflict), and
  // what it removed is no one's any more.
  for (auto& e : entries) {
    e.fields = e.fields.Difference(changed).Difference(c.removed);
  }
  FieldSet mine = Strip(changed, w.subresource);
  if (!mine.Empty()) {
    auto it = FindEntry(entries, key);
    if (it == entries.end()) {
      entries.push_back(self);
      it = entries.end() - 1;
    }
    it->fields = it->fields.Union(mine);
    it->time = now;
  }
  DropEmpty(entries);
}

absl::StatusOr<Json> Apply(const Json* live, const Json& config, const schema::Message& kind, const Writer& w,
                           bool force, const std::string& now, Entries& entries, std::vector<Conflict>* conflicts) {
  std::vector<std::string> undeclared;
  Path at;
  FindUndeclared(config, kind, /*root=*/true, at, undeclared);
  if (undeclared.size() == 1) return absl::InvalidArgumentError(undeclared[0]);
  if (!undeclared.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("errors:\n  ", absl::StrJoin(undeclared, "\n  ")));
  }
  Type root = OfMessage(&kind);
  Json merged = MergeNode(live, config, root);
  if (merged.is_object() && merged.contains("metadata") && merged["metadata"].is_object()) {
    merged["metadata"].erase("managedFields");
  }
  const Entry self{.manager = w.manager, .operation = "Apply", .api_version = w.api_version,
                   .subresource = w.subresource};
  const std::string key = KeyOf(self);
  FieldSet applied = Strip(ToFieldSet(config, kind), w.subresource);
  auto mine = FindEntry(entries, key);
  bool existed = mine != entries.end();

  // Fields this manager applied before and no longer does go, unless
  // another manager owns them or something below them.
  if (existed) {
    FieldSet others;
    for (const auto& e : entries) {
      if (KeyOf(e) != key) others = others.Union(e.fields);
    }
    FieldSet stale = mine->fields.Difference(applied);
    std::vector<Path> removed;
    stale.ForEach([&](const Path& p) {
      for (const auto& r : removed) {
        if (p.size() > r.size() && std::equal(r.begin(), r.end(), p.begin())) return;  // already gone
      }
      if (others.Touches(p) || applied.Touches(p)) return;
      RemovePath(merged, root, p, 0);
      removed.push_back(p);
    });
  }

  Comparison c = Compare(live, merged, kind);
  FieldSet changed = c.modified.Union(c.added);
  std::vector<Conflict> found;
  std::vector<std::pair<std::string, std::string>> sorted;  // (manager name, printed) for the message order
  for (auto& e : entries) {
    if (KeyOf(e) == key) continue;
    FieldSet overlap = e.fields.Intersection(changed);
    overlap.ForEach([&](const Path& p) { found.push_back({Printed(e), PathString(p)}); });
  }
  if (!found.empty() && !force) {
    std::stable_sort(found.begin(), found.end(),
                     [](const Conflict& a, const Conflict& b) { return a.manager < b.manager; });
    if (conflicts) *conflicts = found;
    std::string message;
    if (found.size() == 1) {
      message = absl::StrCat("Apply failed with 1 conflict: conflict with ", found[0].manager, ": ", found[0].path);
    } else {
      std::vector<std::string> lines;
      std::string last;
      for (const auto& f : found) {
        if (f.manager != last) lines.push_back(absl::StrCat("conflicts with ", f.manager, ":"));
        last = f.manager;
        lines.push_back(absl::StrCat("- ", f.path));
      }
      message = absl::StrCat("Apply failed with ", found.size(), " conflicts: ", absl::StrJoin(lines, "\n"));
    }
    return absl::AbortedError(message);
  }
  for (auto& e : entries) {
    if (KeyOf(e) == key) continue;
    e.fields = e.fields.Difference(changed).Difference(c.removed);
  }
  mine = FindEntry(entries, key);
  if (mine == entries.end()) {
    entries.push_back(self);
    mine = entries.end() - 1;
    mine->time = now;
  }
  mine->fields = applied;
  mine->api_version = w.api_version;
  bool same = live != nullptr && [&] {
    Json a = *live;
    if (a.contains("metadata") && a["metadata"].is_object()) a["metadata"].erase("managedFields");
    return a == merged;
  }();
  if (!same) mine->time = now;
  DropEmpty(entries);
  return merged;
}

}  // namespace herd::sim::managedfields
