#include "sim/schema/schema.h"

#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "sim/schema/internal/tables.h"

namespace herd::sim::schema {
namespace {

TEST(Schema, IsConsistent) {
  std::set<std::string> names;
  for (const Message* m : AllMessages()) {
    EXPECT_TRUE(names.insert(m->name).second) << "duplicate " << m->name;
    uint32_t last = 0;
    for (const auto& f : m->fields) {
      EXPECT_GT(f.number, last) << m->name << " fields must be in number order";
      last = f.number;
      EXPECT_EQ(absl::string_view(f.json).empty(), f.inlined()) << m->name << " field " << f.number;
      if (f.kind == Kind::kMessage) {
        EXPECT_NE(FindMessage(f.message), nullptr) << m->name << " field " << f.number << " names " << f.message;
      }
    }
  }
  for (const KindInfo& k : Kinds()) EXPECT_NE(FindMessage(k.message), nullptr) << k.message;
  EXPECT_NE(FindKind("meta.k8s.io/v1", "DeleteOptions"), nullptr);
  EXPECT_EQ(FindKind("apps/v1", "Deployment"), FindMessage("apps.v1.Deployment"));
  EXPECT_EQ(FindKind("apps/v1", "Nope"), nullptr);
}

TEST(Schema, NotesNameRealFieldsAndKeys) {
  for (const auto& n : internal::FieldNotes()) {
    const Message* m = FindMessage(n.message);
    ASSERT_NE(m, nullptr) << n.message;
    const Field* f = FindJsonField(*m, n.field);
    ASSERT_NE(f, nullptr) << n.message << "." << n.field;
    if (n.semantics.list_type == ListType::kAssociative) {
      ASSERT_TRUE(f->repeated()) << n.message << "." << n.field;
      const Message* elem = FindMessage(f->message);
      ASSERT_NE(elem, nullptr) << n.message << "." << n.field;
      for (absl::string_view key : absl::StrSplit(n.semantics.map_keys, ',')) {
        EXPECT_NE(FindJsonField(*elem, key), nullptr) << n.message << "." << n.field << " key " << key;
      }
    }
  }
  for (const auto& n : internal::MessageNotes()) EXPECT_NE(FindMessage(n.message), nullptr) << n.message;
}

TEST(Schema, FindsJsonFieldsThroughInlineMessages) {
  const Message* volume = FindMessage("core.v1.Volume");
  ASSERT_NE(volume, nullptr);
  const Message* owner = nullptr;
  const Field* cm = FindJsonField(*volume, "configMap", &owner);
  ASSERT_NE(cm, nullptr);
  EXPECT_STREQ(owner->name, "core.v1.VolumeSource");
  EXPECT_NE(FindJsonField(*FindMessage("core.v1.ConfigMapVolumeSource"), "name"), nullptr);
  EXPECT_EQ(FindJsonField(*volume, "nope"), nullptr);
}

TEST(Schema, SemanticsOfContainers) {
  const Message* spec = FindMessage("core.v1.PodSpec");
  const Field* containers = FindJsonField(*spec, "containers");
  const FieldSemantics& s = Semantics(*spec, *containers);
  EXPECT_EQ(s.list_type, ListType::kAssociative);
  EXPECT_STREQ(s.map_keys, "name");
  EXPECT_STREQ(s.merge_key, "name");
  EXPECT_TRUE(Semantics(*FindMessage("meta.v1.LabelSelector")).atomic);
  EXPECT_EQ(DefinitionName("apps.v1.Deployment"), "io.k8s.api.apps.v1.Deployment");
  EXPECT_EQ(DefinitionName("meta.v1.ObjectMeta"), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
}

}  // namespace
}  // namespace herd::sim::schema
