#include "common/k8s/selector.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace herd::k8s {
namespace {

using json = nlohmann::json;
using Op = LabelSelector::Op;

// The texts the API server appends to label key and value errors.
constexpr char kNamePartRegexError[] =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
constexpr char kLabelValueRegexError[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

LabelSelector MustParse(const std::string& text) {
  absl::StatusOr<LabelSelector> sel = LabelSelector::Parse(text);
  EXPECT_TRUE(sel.ok()) << text << ": " << sel.status();
  return sel.ok() ? *sel : LabelSelector();
}

std::string ParseError(const std::string& text) {
  absl::StatusOr<LabelSelector> sel = LabelSelector::Parse(text);
  if (sel.ok()) return "parsed as: " + sel->ToString();
  EXPECT_EQ(sel.status().code(), absl::StatusCode::kInvalidArgument) << text;
  return std::string(sel.status().message());
}

std::string FromJsonError(const json& j) {
  absl::StatusOr<LabelSelector> sel = LabelSelector::FromJson(j);
  if (sel.ok()) return "accepted as: " + sel->ToString();
  EXPECT_EQ(sel.status().code(), absl::StatusCode::kInvalidArgument) << j.dump();
  return std::string(sel.status().message());
}

// --- Label selector strings. ---

TEST(LabelSelectorParseTest, ReportsTheApiServersMessageForATripleEquals) {
  // A real v1.26 API server's reply to ?labelSelector=app%3D%3D%3Dx%20in.
  EXPECT_EQ(ParseError("app===x in"), "unable to parse requirement: found '=', expected: identifier");
}

TEST(LabelSelectorParseTest, ParsesEveryOperator) {
  LabelSelector sel = MustParse("a=1,b==2,c!=3,d in (x,y),e notin (z),f,!g,h>4,i<5");
  const std::vector<LabelSelector::Requirement> want = {
      {"a", Op::kEquals, {"1"}},      {"b", Op::kEquals, {"2"}},         {"c", Op::kNotEquals, {"3"}},
      {"d", Op::kIn, {"x", "y"}},     {"e", Op::kNotIn, {"z"}},          {"f", Op::kExists, {}},
      {"g", Op::kDoesNotExist, {}},   {"h", Op::kGreaterThan, {"4"}},    {"i", Op::kLessThan, {"5"}},
  };
  ASSERT_EQ(sel.requirements().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(sel.requirements()[i].key, want[i].key);
    EXPECT_EQ(sel.requirements()[i].op, want[i].op) << want[i].key;
    EXPECT_EQ(sel.requirements()[i].values, want[i].values) << want[i].key;
  }
  EXPECT_EQ(sel.ToString(), "a=1,b=2,c!=3,d in (x,y),e notin (z),f,!g,h>4,i<5");
}

TEST(LabelSelectorParseTest, SortsRequirementsByKeyAndValues) {
  EXPECT_EQ(MustParse("tier in (web,api,web),app=x,!canary").ToString(), "app=x,!canary,tier in (api,web)");
}

TEST(LabelSelectorParseTest, IgnoresWhitespaceAroundTokens) {
  EXPECT_EQ(MustParse("  app = web ,\ttier in ( a , b )\n, ! canary ").ToString(), "app=web,!canary,tier in (a,b)");
}

TEST(LabelSelectorParseTest, AcceptsEmptyValues) {
  // The grammar's own example: empty strings are values too.
  EXPECT_EQ(MustParse("x in (foo,,baz),y,z notin ()").ToString(), "x in (,baz,foo),y,z notin ()");
  EXPECT_EQ(MustParse("a=,b!=").ToString(), "a=,b!=");
  EXPECT_EQ(MustParse("x in (a,)").requirements()[0].values, (std::vector<std::string>{"", "a"}));
  EXPECT_EQ(MustParse("x in (,a)").requirements()[0].values, (std::vector<std::string>{"", "a"}));
}

TEST(LabelSelectorParseTest, TreatsKeywordsAsIdentifiersWhereAValueFits) {
  LabelSelector sel = MustParse("in in (in,notin)");
  ASSERT_EQ(sel.requirements().size(), 1u);
  EXPECT_EQ(sel.requirements()[0].key, "in");
  EXPECT_EQ(sel.requirements()[0].op, Op::kIn);
  EXPECT_EQ(sel.requirements()[0].values, (std::vector<std::string>{"in", "notin"}));
}

TEST(LabelSelectorParseTest, AcceptsPrefixedKeys) {
  EXPECT_EQ(MustParse("app.kubernetes.io/name=web").ToString(), "app.kubernetes.io/name=web");
  EXPECT_EQ(MustParse("a/B_c.d-e=x").ToString(), "a/B_c.d-e=x");
}

TEST(LabelSelectorParseTest, EmptyStringSelectsEverything) {
  LabelSelector sel = MustParse("");
  EXPECT_TRUE(sel.Empty());
  EXPECT_TRUE(sel.Matches(json::object({{"a", "b"}})));
  EXPECT_TRUE(MustParse("   ").Empty());
}

TEST(LabelSelectorParseTest, ReportsSyntaxErrorsLikeTheApiServer) {
  EXPECT_EQ(ParseError("app=web,"), "found '', expected: identifier after ','");
  EXPECT_EQ(ParseError("app=web,,x"), "found ',', expected: identifier after ','");
  EXPECT_EQ(ParseError("app=web tier=x"), "found 'tier', expected: ',' or 'end of string'");
  EXPECT_EQ(ParseError("=x"), "found '=', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(ParseError(",a"), "found ',', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(ParseError("a b"), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
  EXPECT_EQ(ParseError("!a=b"), "found '=', expected: ',' or 'end of string'");
  EXPECT_EQ(ParseError("!=a"), "found '!=', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(ParseError("x in"), "unable to parse requirement: found '' expected: '('");
  EXPECT_EQ(ParseError("x in a"), "unable to parse requirement: found 'a' expected: '('");
  EXPECT_EQ(ParseError("x in (a"), "unable to parse requirement: found '', expected: ',' or ')'");
  EXPECT_EQ(ParseError("x in (a b)"), "unable to parse requirement: found 'b', expected: ',' or ')'");
  EXPECT_EQ(ParseError("x in (="), "unable to parse requirement: found '=', expected: ',', ')' or identifier");
  EXPECT_EQ(ParseError("x in (a,=)"), "unable to parse requirement: found '=', expected: ',', or identifier");
  EXPECT_EQ(ParseError("x=(a)"), "unable to parse requirement: found '(', expected: identifier");
}

TEST(LabelSelectorParseTest, ValidatesKeys) {
  EXPECT_EQ(ParseError("-app=x"),
            std::string("unable to parse requirement: <nil>: Invalid value: \"-app\": ") + kNamePartRegexError);
  EXPECT_EQ(ParseError(std::string(64, 'a') + "=x"),
            "unable to parse requirement: <nil>: Invalid value: \"" + std::string(64, 'a') +
                "\": name part must be no more than 63 characters");
  EXPECT_EQ(ParseError("/a"), "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty");
  EXPECT_EQ(ParseError("a/"), std::string("unable to parse requirement: <nil>: Invalid value: \"a/\": name part must "
                                          "be non-empty; ") +
                                  kNamePartRegexError);
  EXPECT_EQ(ParseError("Example.com/app"),
            "unable to parse requirement: <nil>: Invalid value: \"Example.com/app\": prefix part a lowercase RFC 1123 "
            "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with "
            "an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  EXPECT_EQ(ParseError("a/b/c"),
            "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of "
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
            "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. "
            "'example.com/MyName')");
  EXPECT_EQ(MustParse(std::string(63, 'a')).requirements()[0].key, std::string(63, 'a'));
}

TEST(LabelSelectorParseTest, ValidatesValues) {
  EXPECT_EQ(ParseError("app=a@b"),
            std::string("unable to parse requirement: values[0][app]: Invalid value: \"a@b\": ") + kLabelValueRegexError);
  EXPECT_EQ(ParseError("app in (ok,-bad)"),
            std::string("unable to parse requirement: values[0][app]: Invalid value: \"-bad\": ") +
                kLabelValueRegexError);
  EXPECT_EQ(ParseError("app=" + std::string(64, 'v')),
            "unable to parse requirement: values[0][app]: Invalid value: \"" + std::string(64, 'v') +
                "\": must be no more than 63 characters");
  EXPECT_EQ(MustParse("app=" + std::string(63, 'v')).requirements()[0].values[0], std::string(63, 'v'));
}

TEST(LabelSelectorParseTest, RequiresIntegersForGreaterAndLessThan) {
  EXPECT_EQ(ParseError("replicas>many"),
            "unable to parse requirement: values[0]: Invalid value: \"many\": for 'Gt', 'Lt' operators, the value must "
            "be an integer");
}

TEST(LabelSelectorParseTest, RoundTripsItsStringForm) {
  for (const char* text : {"a=1,b!=2,c in (x,y),d notin (z),e,!f,g>3,h<4", "x in (,a),y=", "k8s.io/a in (b)"}) {
    const std::string canonical = MustParse(text).ToString();
    EXPECT_EQ(MustParse(canonical).ToString(), canonical) << text;
  }
}

// --- Matching. ---

TEST(LabelSelectorMatchTest, MatchesEqualityAndSets) {
  const json labels = {{"app", "web"}, {"tier", "a"}};
  EXPECT_TRUE(MustParse("app=web,tier in (a,b)").Matches(labels));
  EXPECT_TRUE(MustParse("app==web").Matches(labels));
  EXPECT_FALSE(MustParse("app=api").Matches(labels));
  EXPECT_FALSE(MustParse("tier in (b,c)").Matches(labels));
  EXPECT_TRUE(MustParse("tier notin (b,c)").Matches(labels));
  EXPECT_FALSE(MustParse("tier notin (a)").Matches(labels));
  EXPECT_FALSE(MustParse("app!=web").Matches(labels));
  EXPECT_TRUE(MustParse("app,!canary").Matches(labels));
  EXPECT_FALSE(MustParse("canary").Matches(labels));
  EXPECT_FALSE(MustParse("!app").Matches(labels));
}

TEST(LabelSelectorMatchTest, NegativeOperatorsMatchAnAbsentKey) {
  const json labels = {{"app", "web"}};
  EXPECT_TRUE(MustParse("canary!=true").Matches(labels));
  EXPECT_TRUE(MustParse("canary notin (true)").Matches(labels));
  EXPECT_FALSE(MustParse("canary in (true)").Matches(labels));
  EXPECT_FALSE(MustParse("canary=true").Matches(labels));
}

TEST(LabelSelectorMatchTest, AnEmptyValueIsNotAnAbsentKey) {
  EXPECT_TRUE(MustParse("a=").Matches(json{{"a", ""}}));
  EXPECT_FALSE(MustParse("a=").Matches(json::object()));
  EXPECT_TRUE(MustParse("a in ()").Matches(json{{"a", ""}}));
}

TEST(LabelSelectorMatchTest, NullLabelsAreNoLabels) {
  EXPECT_TRUE(MustParse("!canary,x!=1").Matches(json(nullptr)));
  EXPECT_FALSE(MustParse("app").Matches(json(nullptr)));
  EXPECT_TRUE(LabelSelector().Matches(json(nullptr)));
}

TEST(LabelSelectorMatchTest, ComparesIntegersForGreaterAndLessThan) {
  EXPECT_TRUE(MustParse("gen>9").Matches(json{{"gen", "10"}}));
  EXPECT_FALSE(MustParse("gen>10").Matches(json{{"gen", "10"}}));
  EXPECT_TRUE(MustParse("gen<10").Matches(json{{"gen", "9"}}));
  EXPECT_FALSE(MustParse("gen>1").Matches(json{{"gen", "x"}}));
  EXPECT_FALSE(MustParse("gen<1").Matches(json::object()));
}

TEST(LabelSelectorMatchTest, MatchesAStdMapTheSameWay) {
  const std::map<std::string, std::string> labels = {{"app", "web"}};
  EXPECT_TRUE(MustParse("app=web,canary!=true").Matches(labels));
  EXPECT_FALSE(MustParse("app in (api)").Matches(labels));
}

// --- metav1.LabelSelector. ---

TEST(LabelSelectorFromJsonTest, CombinesMatchLabelsAndExpressions) {
  absl::StatusOr<LabelSelector> sel = LabelSelector::FromJson(json::parse(R"({
    "matchLabels": {"app": "web"},
    "matchExpressions": [
      {"key": "tier", "operator": "In", "values": ["b", "a"]},
      {"key": "canary", "operator": "DoesNotExist"},
      {"key": "zone", "operator": "NotIn", "values": ["z1"]},
      {"key": "team", "operator": "Exists", "values": []}
    ]})"));
  ASSERT_TRUE(sel.ok()) << sel.status();
  EXPECT_EQ(sel->ToString(), "app=web,!canary,team,tier in (a,b),zone notin (z1)");
  EXPECT_TRUE(sel->Matches(json{{"app", "web"}, {"tier", "a"}, {"team", "x"}}));
  EXPECT_FALSE(sel->Matches(json{{"app", "web"}, {"tier", "a"}, {"team", "x"}, {"zone", "z1"}}));
  EXPECT_FALSE(sel->Matches(json{{"app", "web"}, {"tier", "a"}}));
}

TEST(LabelSelectorFromJsonTest, NullAndEmptySelectEverything) {
  for (const json& j : {json(nullptr), json::object(), json{{"matchLabels", nullptr}, {"matchExpressions", nullptr}}}) {
    absl::StatusOr<LabelSelector> sel = LabelSelector::FromJson(j);
    ASSERT_TRUE(sel.ok()) << j.dump();
    EXPECT_TRUE(sel->Empty()) << j.dump();
    EXPECT_TRUE(sel->Matches(json{{"any", "thing"}}));
  }
}

TEST(LabelSelectorFromJsonTest, RejectsOperatorsOutsideTheFour) {
  EXPECT_EQ(FromJsonError(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})")),
            "\"Gt\" is not a valid label selector operator");
  EXPECT_EQ(FromJsonError(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "in", "values": ["1"]}]})")),
            "\"in\" is not a valid label selector operator");
  EXPECT_EQ(FromJsonError(json::parse(R"({"matchExpressions": [{"key": "a"}]})")),
            "\"\" is not a valid label selector operator");
}

TEST(LabelSelectorFromJsonTest, ChecksValueCountsPerOperator) {
  EXPECT_EQ(FromJsonError(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})")),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty");
  EXPECT_EQ(FromJsonError(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "NotIn"}]})")),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty");
  EXPECT_EQ(
      FromJsonError(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x", "y"]}]})")),
      "values: Invalid value: []string{\"x\", \"y\"}: values set must be empty for exists and does not exist");
}

TEST(LabelSelectorFromJsonTest, ValidatesKeysAndValues) {
  EXPECT_EQ(FromJsonError(json{{"matchLabels", {{"bad key", "x"}}}}),
            std::string("key: Invalid value: \"bad key\": ") + kNamePartRegexError);
  EXPECT_EQ(FromJsonError(json{{"matchLabels", {{"app", "no good"}}}}),
            std::string("values[0][app]: Invalid value: \"no good\": ") + kLabelValueRegexError);
  // Several problems in one requirement come back together.
  EXPECT_EQ(FromJsonError(json::parse(R"({"matchExpressions": [{"key": "-a", "operator": "In"}]})")),
            std::string("[key: Invalid value: \"-a\": ") + kNamePartRegexError +
                ", values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty]");
}

TEST(LabelSelectorFromJsonTest, RejectsMalformedJson) {
  EXPECT_EQ(FromJsonError(json("app=web")), "label selector must be a JSON object");
  EXPECT_EQ(FromJsonError(json{{"matchLabels", json::array()}}), "matchLabels must be an object of strings");
  EXPECT_EQ(FromJsonError(json{{"matchLabels", {{"a", 1}}}}), "matchLabels[a] must be a string");
  EXPECT_EQ(FromJsonError(json{{"matchExpressions", json::object()}}), "matchExpressions must be a list");
  EXPECT_EQ(FromJsonError(json{{"matchExpressions", {1}}}), "matchExpressions[0] must be an object");
  EXPECT_EQ(FromJsonError(json::parse(R"({"matchExpressions": [{"key": 1, "operator": "In"}]})")),
            "matchExpressions[0]: key and operator must be strings");
  EXPECT_EQ(FromJsonError(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]})")),
            "matchExpressions[0].values must be a list of strings");
}

TEST(LabelSelectorFromLabelsTest, RequiresEveryLabel) {
  LabelSelector sel = LabelSelector::FromLabels(json{{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(sel.ToString(), "a=1,b=2");
  EXPECT_TRUE(sel.Matches(json{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_FALSE(sel.Matches(json{{"a", "1"}}));
  EXPECT_TRUE(LabelSelector::FromLabels(json(nullptr)).Empty());
}

// --- Field selectors. ---

FieldSelector MustParseFields(const std::string& text) {
  absl::StatusOr<FieldSelector> sel = FieldSelector::Parse(text);
  EXPECT_TRUE(sel.ok()) << text << ": " << sel.status();
  return sel.ok() ? *sel : FieldSelector();
}

std::string FieldParseError(const std::string& text) {
  absl::StatusOr<FieldSelector> sel = FieldSelector::Parse(text);
  if (sel.ok()) return "parsed as: " + sel->ToString();
  EXPECT_EQ(sel.status().code(), absl::StatusCode::kInvalidArgument) << text;
  return std::string(sel.status().message());
}

FieldSelector::Lookup PodFields(std::map<std::string, std::string> fields) {
  return [fields = std::move(fields)](absl::string_view field) -> std::optional<std::string> {
    auto it = fields.find(std::string(field));
    if (it == fields.end()) return std::nullopt;
    return it->second;
  };
}

TEST(FieldSelectorTest, ParsesEqualsAndNotEquals) {
  FieldSelector sel = MustParseFields("status.phase!=Failed,spec.nodeName==n1,metadata.name=web-0");
  ASSERT_EQ(sel.requirements().size(), 3u);
  EXPECT_EQ(sel.requirements()[0].field, "metadata.name");
  EXPECT_TRUE(sel.requirements()[0].equals);
  EXPECT_EQ(sel.requirements()[1].field, "spec.nodeName");
  EXPECT_TRUE(sel.requirements()[1].equals);
  EXPECT_EQ(sel.requirements()[1].value, "n1");
  EXPECT_EQ(sel.requirements()[2].field, "status.phase");
  EXPECT_FALSE(sel.requirements()[2].equals);
  EXPECT_EQ(sel.ToString(), "metadata.name=web-0,spec.nodeName=n1,status.phase!=Failed");
}

TEST(FieldSelectorTest, MatchesThroughTheLookup) {
  FieldSelector sel = MustParseFields("spec.nodeName=n1,status.phase!=Failed");
  EXPECT_TRUE(sel.Matches(PodFields({{"spec.nodeName", "n1"}, {"status.phase", "Running"}})));
  EXPECT_FALSE(sel.Matches(PodFields({{"spec.nodeName", "n1"}, {"status.phase", "Failed"}})));
  EXPECT_FALSE(sel.Matches(PodFields({{"spec.nodeName", "n2"}, {"status.phase", "Running"}})));
  // A field the resource does not support never matches, not even with !=.
  EXPECT_FALSE(MustParseFields("spec.unknown!=x").Matches(PodFields({})));
  // A supported but empty field is the empty string.
  EXPECT_TRUE(MustParseFields("spec.nodeName=").Matches(PodFields({{"spec.nodeName", ""}})));
}

TEST(FieldSelectorTest, EmptySelectorMatchesAll) {
  for (const char* text : {"", ",", ",,"}) {
    FieldSelector sel = MustParseFields(text);
    EXPECT_TRUE(sel.Empty()) << text;
    EXPECT_TRUE(sel.Matches(PodFields({}))) << text;
    EXPECT_EQ(sel.ToString(), "");
  }
}

TEST(FieldSelectorTest, UnescapesAndReescapesValues) {
  FieldSelector sel = MustParseFields(R"(metadata.name=a\,b\=c\\d,spec.nodeName=n1)");
  ASSERT_EQ(sel.requirements().size(), 2u);
  EXPECT_EQ(sel.requirements()[0].value, R"(a,b=c\d)");
  EXPECT_EQ(sel.ToString(), R"(metadata.name=a\,b\=c\\d,spec.nodeName=n1)");
}

TEST(FieldSelectorTest, SplitsOnTheFirstOperator) {
  FieldSelector sel = MustParseFields("a==b,c=!d,e!=f");
  ASSERT_EQ(sel.requirements().size(), 3u);
  EXPECT_TRUE(sel.requirements()[0].equals);
  EXPECT_EQ(sel.requirements()[0].value, "b");
  EXPECT_TRUE(sel.requirements()[1].equals);
  EXPECT_EQ(sel.requirements()[1].value, "!d");
  EXPECT_FALSE(sel.requirements()[2].equals);
  EXPECT_EQ(sel.requirements()[2].value, "f");
}

TEST(FieldSelectorTest, KeepsWhitespace) {
  FieldSelector sel = MustParseFields(" a = b");
  ASSERT_EQ(sel.requirements().size(), 1u);
  EXPECT_EQ(sel.requirements()[0].field, " a ");
  EXPECT_EQ(sel.requirements()[0].value, " b");
}

TEST(FieldSelectorTest, ReportsErrorsLikeTheApiServer) {
  EXPECT_EQ(FieldParseError("spec.nodeName"), "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'");
  EXPECT_EQ(FieldParseError("a=b,c"), "invalid selector: 'a=b,c'; can't understand 'c'");
  // Go prints the offending character as a number.
  EXPECT_EQ(FieldParseError("a=b=c"), "invalid field selector: unescaped character in value: 61");
  EXPECT_EQ(FieldParseError(R"(a=b\x)"), R"(invalid field selector: invalid escape sequence: \x)");
  EXPECT_EQ(FieldParseError("a=b\\"), R"(invalid field selector: invalid escape sequence: \)");
  EXPECT_EQ(FieldParseError("a=b\\\xc3\xa9"), "invalid field selector: invalid escape sequence: \\\xc3\xa9");
}

// Found by fuzzing (test/fuzz/corpus/selector/field-broken-utf8-equals): a
// UTF-8 lead byte without its continuation bytes took the '=' after it into
// one "character", so the value kept a raw '=' that ToString() then escaped
// into a different selector. Go reads such a byte alone, and so the '='
// is an unescaped one.
TEST(FieldSelectorTest, BrokenUtf8DoesNotHideTheCharacterAfterIt) {
  EXPECT_EQ(FieldParseError("a=\xe2=gh"), "invalid field selector: unescaped character in value: 61");
  absl::StatusOr<FieldSelector> sel = FieldSelector::Parse("a=\xe2\\=gh\xc3");
  ASSERT_TRUE(sel.ok()) << sel.status();
  ASSERT_EQ(sel->requirements().size(), 1u);
  EXPECT_EQ(sel->requirements()[0].value, "\xe2=gh\xc3");
  EXPECT_EQ(sel->ToString(), "a=\xe2\\=gh\xc3");
  EXPECT_EQ(FieldSelector::Parse(sel->ToString())->ToString(), sel->ToString());
}

}  // namespace
}  // namespace herd::k8s
