// Field ownership as the API server records it in metadata.managedFields,
// and server-side apply: the parts of sigs.k8s.io/structured-merge-diff and
// k8s.io/apiserver's fieldmanager that kubesim needs, over the types that
// sim/schema describes (list types and keys, atomic structs).
//
//   Entries entries = DecodeEntries(live["metadata"]["managedFields"]).value_or({});
//   RecordUpdate(&live, next, kind, {.manager = "kubectl-edit", .api_version = "apps/v1"}, now, entries);
//   next["metadata"]["managedFields"] = EncodeEntries(entries);
//
//   auto applied = Apply(&live, config, kind, {.manager = "kubectl", .api_version = "apps/v1"},
//                        /*force=*/false, now, entries);   // ABORTED with the conflicts, or the new object
//
// A field set is what fieldsV1 encodes: a tree of path elements ("f:name",
// `k:{"name":"web"}` for an item of an associative list, `v:"x"` for a set's
// value), where a node may itself be owned ("." in fieldsV1) and have owned
// children. Everything here is pure and thread-compatible.
//
// Not modelled (the common cases are): the cap of 10 Update entries merged
// into "ancient-changes"; kubectl's last-applied-configuration annotation
// and its migration between client- and server-side apply; unions
// (discriminated fields); converting entries between API versions (each
// kind has one); list items lacking a key field other than `protocol` (the
// one key with a default); values of the wrong type in an applied
// configuration; an applied `null` unsets the field; merged associative
// lists keep the live order and append new items.
#ifndef HERD_SIM_MANAGEDFIELDS_MANAGEDFIELDS_H_
#define HERD_SIM_MANAGEDFIELDS_MANAGEDFIELDS_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "sim/schema/schema.h"

namespace herd::sim::managedfields {

using Json = nlohmann::json;
using Path = std::vector<std::string>;

class FieldSet {
 public:
  // From / to the fieldsV1 form ({"f:spec": {"f:replicas": {}}}). A
  // malformed document is INVALID_ARGUMENT.
  static absl::StatusOr<FieldSet> FromJson(const Json& fields_v1);
  Json ToJson() const;

  void Insert(const Path& path);
  bool Has(const Path& path) const;
  bool Empty() const { return children_.empty(); }
  // True when `path` or anything below it is in the set.
  bool Touches(const Path& path) const;

  FieldSet Union(const FieldSet& other) const;
  // Members of this set not members of `other` (not recursive: owning a
  // node does not take its children away, as in structured-merge-diff).
  FieldSet Difference(const FieldSet& other) const;
  FieldSet Intersection(const FieldSet& other) const;
  // Removes `path` and everything below it.
  void RemoveTree(const Path& path);

  // Every owned path, parents before their children, siblings in order.
  void ForEach(const std::function<void(const Path&)>& fn) const;

  bool operator==(const FieldSet& o) const { return member_ == o.member_ && children_ == o.children_; }

 private:
  // The node at `path` (this for the empty path); nullptr when absent.
  const FieldSet* Find(const Path& path) const;

  bool member_ = false;
  std::map<std::string, FieldSet> children_;
};

// ".spec.template.spec.containers[name=\"web\"].image": a path as conflicts print it.
std::string PathString(const Path& path);

// The fields `value` (an object of the top-level message `kind`) sets, as
// server-side apply counts an applied configuration's fields.
FieldSet ToFieldSet(const Json& value, const schema::Message& kind);

struct Comparison {
  FieldSet added, modified, removed;
};
// What changed from `lhs` (nullptr: nothing) to `rhs`: leaves added,
// modified or removed, and non-leaf nodes added or removed.
Comparison Compare(const Json* lhs, const Json& rhs, const schema::Message& kind);

// The object Go's zero value of `kind` encodes to: value structs present
// ({} or null), pointers and omitempty fields absent. A create compares
// against it, so that `spec` is not a new node but `spec.strategy.rollingUpdate` is.
Json ZeroObject(const schema::Message& kind);

struct Entry {
  std::string manager;
  std::string operation;  // "Update" or "Apply"
  std::string api_version;
  std::string time;  // RFC 3339 seconds; may be empty
  std::string subresource;
  FieldSet fields;
};
using Entries = std::vector<Entry>;

// metadata.managedFields decoded; INVALID_ARGUMENT when an entry is not one.
absl::StatusOr<Entries> DecodeEntries(const Json& managed_fields);
// In the API server's order (Apply before Update, then by time, manager,
// apiVersion, subresource); an empty array when there are none.
Json EncodeEntries(Entries entries);
// `[{}]`: the request asks to clear managedFields.
bool IsReset(const Json& managed_fields);

struct Writer {
  std::string manager;
  std::string api_version;  // of the object written ("apps/v1")
  std::string subresource;  // "", "status", "scale"
};

// Records an Update by `w` that turns `live` (nullptr on create) into
// `next` into `entries`: the fields it changed become its own (taken from
// any other manager), fields it removed leave every manager, emptied entries
// go. Nothing changes for a write that changes nothing.
void RecordUpdate(const Json* live, const Json& next, const schema::Message& kind, const Writer& w,
                  const std::string& now, Entries& entries);

// Server-side apply of `config` by `w` onto `live` (nullptr: the object is
// new): merges it (maps by key, associative lists by their keys, sets as
// sets, anything atomic replaced), removes fields `w` applied before and no
// longer does unless another manager owns them, and makes the applied
// fields `w`'s. Fields another manager owns that the apply would change are
// conflicts: ABORTED whose message is the API server's ("Apply failed with 1
// conflict: conflict with \"kubectl\" using apps/v1: .spec.replicas") unless
// `force`, which takes them. `conflicts`, when given, receives each
// conflict as {manager as printed, path}. A field of `config` that `kind`
// does not declare is INVALID_ARGUMENT, worded as structured-merge-diff
// words it (".spec.replicass: field not declared in schema"; several are
// listed after "errors:"), before any conflict. Returns the merged object
// (without managedFields); `entries` gets the new ownership.
struct Conflict {
  std::string manager;  // printed: "\"kubectl\" with subresource \"scale\" using apps/v1"
  std::string path;     // ".spec.replicas"
};
absl::StatusOr<Json> Apply(const Json* live, const Json& config, const schema::Message& kind, const Writer& w,
                           bool force, const std::string& now, Entries& entries,
                           std::vector<Conflict>* conflicts = nullptr);

}  // namespace herd::sim::managedfields

#endif  // HERD_SIM_MANAGEDFIELDS_MANAGEDFIELDS_H_
