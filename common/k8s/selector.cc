#include "common/k8s/selector.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace herd::k8s {
namespace {

using Op = LabelSelector::Op;

// --- Validation, worded like k8s.io/apimachinery/pkg/util/validation. ---
// The API server returns these strings verbatim, so the quirks (the doubled
// space in "'MyName',  or") are kept on purpose.

constexpr char kQualifiedNameFmt[] = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr char kQualifiedNameErrMsg[] =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr char kLabelValueFmt[] = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr char kLabelValueErrMsg[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character";
constexpr char kDns1123SubdomainFmt[] = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr char kDns1123SubdomainErrMsg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character";
constexpr size_t kQualifiedNameMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;

std::string RegexError(absl::string_view msg, absl::string_view fmt, std::initializer_list<absl::string_view> examples) {
  std::string out(msg);
  absl::StrAppend(&out, " (e.g. ");
  bool first = true;
  for (absl::string_view e : examples) {
    if (!first) absl::StrAppend(&out, " or ");
    first = false;
    absl::StrAppend(&out, "'", e, "', ");
  }
  absl::StrAppend(&out, "regex used for validation is '", fmt, "')");
  return out;
}

std::string MaxLenError(size_t n) { return absl::StrCat("must be no more than ", n, " characters"); }

bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool MatchesQualifiedName(absl::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool MatchesDns1123Label(absl::string_view s) {
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return lower_alnum(c) || c == '-'; });
}

bool MatchesDns1123Subdomain(absl::string_view s) {
  for (absl::string_view label : absl::StrSplit(s, '.')) {
    if (!MatchesDns1123Label(label)) return false;
  }
  return true;
}

std::vector<std::string> IsDns1123Subdomain(absl::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDns1123SubdomainMaxLength) errs.push_back(MaxLenError(kDns1123SubdomainMaxLength));
  if (!MatchesDns1123Subdomain(value)) {
    errs.push_back(RegexError(kDns1123SubdomainErrMsg, kDns1123SubdomainFmt, {"example.com"}));
  }
  return errs;
}

std::vector<std::string> IsQualifiedName(absl::string_view value) {
  std::vector<std::string> errs;
  std::vector<absl::string_view> parts = absl::StrSplit(value, '/');
  absl::string_view name;
  switch (parts.size()) {
    case 1:
      name = parts[0];
      break;
    case 2: {
      absl::string_view prefix = parts[0];
      name = parts[1];
      if (prefix.empty()) {
        errs.push_back("prefix part must be non-empty");
      } else {
        for (std::string& e : IsDns1123Subdomain(prefix)) errs.push_back(absl::StrCat("prefix part ", e));
      }
      break;
    }
    default:
      errs.push_back(absl::StrCat(
          "a qualified name ", RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}),
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"));
      return errs;
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMaxLength) {
    errs.push_back(absl::StrCat("name part ", MaxLenError(kQualifiedNameMaxLength)));
  }
  if (!MatchesQualifiedName(name)) {
    errs.push_back(absl::StrCat(
        "name part ", RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"})));
  }
  return errs;
}

std::vector<std::string> IsValidLabelValue(absl::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kLabelValueMaxLength) errs.push_back(MaxLenError(kLabelValueMaxLength));
  if (!value.empty() && !MatchesQualifiedName(value)) {
    errs.push_back(RegexError(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

// Go's %q, for the ASCII the API server's messages quote.
std::string GoQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\v': out += "\\v"; break;
      default: {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
          constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;
        }
      }
    }
  }
  out += '"';
  return out;
}

// Go's %#v of a []string, as field.Invalid prints a values list.
std::string GoStringSlice(const std::optional<std::vector<std::string>>& values) {
  if (!values.has_value()) return "[]string(nil)";
  std::vector<std::string> quoted;
  quoted.reserve(values->size());
  for (const std::string& v : *values) quoted.push_back(GoQuote(v));
  return absl::StrCat("[]string{", absl::StrJoin(quoted, ", "), "}");
}

// field.Invalid(path, value, detail).Error()
std::string InvalidValue(absl::string_view path, absl::string_view printed_value, absl::string_view detail) {
  return absl::StrCat(path, ": Invalid value: ", printed_value, ": ", detail);
}

// utilerrors.NewAggregate(...).Error(): one message alone, several in [a, b].
std::string Aggregate(const std::vector<std::string>& errs) {
  std::vector<std::string> unique;
  for (const std::string& e : errs) {
    if (std::find(unique.begin(), unique.end(), e) == unique.end()) unique.push_back(e);
  }
  if (unique.size() == 1) return unique[0];
  return absl::StrCat("[", absl::StrJoin(unique, ", "), "]");
}

// The key check of the string parser, whose field path is nil ("<nil>").
std::optional<std::string> ValidateParsedKey(absl::string_view key) {
  std::vector<std::string> errs = IsQualifiedName(key);
  if (errs.empty()) return std::nullopt;
  return InvalidValue("<nil>", GoQuote(key), absl::StrJoin(errs, "; "));
}

// labels.NewRequirement: `values` is nullopt for a nil Go slice.
absl::StatusOr<LabelSelector::Requirement> NewRequirement(absl::string_view key, Op op,
                                                          std::optional<std::vector<std::string>> values) {
  std::vector<std::string> errs;
  if (std::vector<std::string> key_errs = IsQualifiedName(key); !key_errs.empty()) {
    errs.push_back(InvalidValue("key", GoQuote(key), absl::StrJoin(key_errs, "; ")));
  }
  const size_t n = values.has_value() ? values->size() : 0;
  switch (op) {
    case Op::kIn:
    case Op::kNotIn:
      if (n == 0) {
        errs.push_back(InvalidValue("values", GoStringSlice(values), "for 'in', 'notin' operators, values set can't be empty"));
      }
      break;
    case Op::kEquals:
    case Op::kNotEquals:
      if (n != 1) {
        errs.push_back(InvalidValue("values", GoStringSlice(values), "exact-match compatibility requires one single value"));
      }
      break;
    case Op::kExists:
    case Op::kDoesNotExist:
      if (n != 0) {
        errs.push_back(
            InvalidValue("values", GoStringSlice(values), "values set must be empty for exists and does not exist"));
      }
      break;
    case Op::kGreaterThan:
    case Op::kLessThan:
      if (n != 1) {
        errs.push_back(
            InvalidValue("values", GoStringSlice(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      for (size_t i = 0; i < n; ++i) {
        int64_t unused;
        if (!absl::SimpleAtoi((*values)[i], &unused)) {
          errs.push_back(InvalidValue(absl::StrCat("values[", i, "]"), GoQuote((*values)[i]),
                                      "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      }
      break;
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string& v = (*values)[i];
    if (std::vector<std::string> value_errs = IsValidLabelValue(v); !value_errs.empty()) {
      errs.push_back(
          InvalidValue(absl::StrCat("values[", i, "][", key, "]"), GoQuote(v), absl::StrJoin(value_errs, "; ")));
    }
  }
  if (!errs.empty()) return absl::InvalidArgumentError(Aggregate(errs));

  LabelSelector::Requirement r{std::string(key), op, values.has_value() ? std::move(*values) : std::vector<std::string>{}};
  std::sort(r.values.begin(), r.values.end());
  r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
  return r;
}

void SortByKey(std::vector<LabelSelector::Requirement>& reqs) {
  std::stable_sort(reqs.begin(), reqs.end(),
                   [](const LabelSelector::Requirement& a, const LabelSelector::Requirement& b) { return a.key < b.key; });
}

// --- The string parser, a port of the lexer and recursive-descent parser in
// k8s.io/apimachinery/pkg/labels so that edge cases and messages agree. ---

enum class Token {
  kError,
  kEndOfString,
  kClosedPar,
  kComma,
  kDoesNotExist,
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

std::optional<Token> LiteralToken(absl::string_view s) {
  if (s == ")") return Token::kClosedPar;
  if (s == ",") return Token::kComma;
  if (s == "!") return Token::kDoesNotExist;
  if (s == "==") return Token::kDoubleEquals;
  if (s == "=") return Token::kEquals;
  if (s == ">") return Token::kGreaterThan;
  if (s == "in") return Token::kIn;
  if (s == "<") return Token::kLessThan;
  if (s == "!=") return Token::kNotEquals;
  if (s == "notin") return Token::kNotIn;
  if (s == "(") return Token::kOpenPar;
  return std::nullopt;
}

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsSpecialSymbol(char c) {
  switch (c) {
    case '=':
    case '!':
    case '(':
    case ')':
    case ',':
    case '>':
    case '<':
      return true;
    default:
      return false;
  }
}

struct ScannedItem {
  Token tok;
  std::string literal;
};

class Lexer {
 public:
  explicit Lexer(absl::string_view s) : s_(s) {}

  ScannedItem Lex() {
    char ch = Read();
    while (IsWhitespace(ch)) ch = Read();
    if (ch == 0) return {Token::kEndOfString, ""};
    Unread();
    return IsSpecialSymbol(ch) ? ScanSpecialSymbol() : ScanIdOrKeyword();
  }

 private:
  // As in the Go lexer, 0 means the end, so a NUL byte ends the input too.
  char Read() { return pos_ < s_.size() ? s_[pos_++] : 0; }
  void Unread() { --pos_; }

  ScannedItem ScanIdOrKeyword() {
    std::string buffer;
    for (char ch = Read(); ch != 0; ch = Read()) {
      if (IsSpecialSymbol(ch) || IsWhitespace(ch)) {
        Unread();
        break;
      }
      buffer += ch;
    }
    if (std::optional<Token> t = LiteralToken(buffer)) return {*t, buffer};
    return {Token::kIdentifier, buffer};
  }

  // The longest run of symbols that still forms an operator ("!=", "==").
  ScannedItem ScanSpecialSymbol() {
    std::optional<ScannedItem> last;
    std::string buffer;
    for (char ch = Read(); ch != 0; ch = Read()) {
      if (!IsSpecialSymbol(ch)) {
        Unread();
        break;
      }
      buffer += ch;
      if (std::optional<Token> t = LiteralToken(buffer)) {
        last = ScannedItem{*t, buffer};
      } else if (last.has_value()) {
        Unread();
        break;
      }
    }
    if (!last.has_value()) return {Token::kError, absl::StrCat("error expected: keyword found '", buffer, "'")};
    return *last;
  }

  absl::string_view s_;
  size_t pos_ = 0;
};

// In the values context the keywords "in" and "notin" are plain identifiers
// ("x in (in)").
enum class Context { kKeyAndOperator, kValues };

class Parser {
 public:
  explicit Parser(absl::string_view text) {
    Lexer lexer(text);
    for (;;) {
      items_.push_back(lexer.Lex());
      if (items_.back().tok == Token::kEndOfString) break;
    }
  }

  absl::StatusOr<std::vector<LabelSelector::Requirement>> Parse() {
    std::vector<LabelSelector::Requirement> reqs;
    for (;;) {
      auto [tok, lit] = Lookahead(Context::kValues);
      switch (tok) {
        case Token::kIdentifier:
        case Token::kDoesNotExist: {
          absl::StatusOr<LabelSelector::Requirement> r = ParseRequirement();
          if (!r.ok()) {
            return absl::InvalidArgumentError(absl::StrCat("unable to parse requirement: ", r.status().message()));
          }
          reqs.push_back(*std::move(r));
          auto [t, l] = Consume(Context::kValues);
          switch (t) {
            case Token::kEndOfString:
              return reqs;
            case Token::kComma: {
              auto [t2, l2] = Lookahead(Context::kValues);
              if (t2 != Token::kIdentifier && t2 != Token::kDoesNotExist) {
                return Error(absl::StrCat("found '", l2, "', expected: identifier after ','"));
              }
              break;
            }
            default:
              return Error(absl::StrCat("found '", l, "', expected: ',' or 'end of string'"));
          }
          break;
        }
        case Token::kEndOfString:
          return reqs;
        default:
          return Error(absl::StrCat("found '", lit, "', expected: !, identifier, or 'end of string'"));
      }
    }
  }

 private:
  static absl::Status Error(absl::string_view msg) { return absl::InvalidArgumentError(msg); }

  std::pair<Token, std::string> Lookahead(Context ctx) const { return Translate(items_[pos_], ctx); }
  std::pair<Token, std::string> Consume(Context ctx) { return Translate(items_[pos_++], ctx); }
  static std::pair<Token, std::string> Translate(const ScannedItem& item, Context ctx) {
    Token tok = item.tok;
    if (ctx == Context::kValues && (tok == Token::kIn || tok == Token::kNotIn)) tok = Token::kIdentifier;
    return {tok, item.literal};
  }

  absl::StatusOr<LabelSelector::Requirement> ParseRequirement() {
    std::optional<Op> op;
    std::pair<Token, std::string> item = Consume(Context::kValues);
    if (item.first == Token::kDoesNotExist) {
      op = Op::kDoesNotExist;
      item = Consume(Context::kValues);
    }
    const auto& [tok, literal] = item;
    if (tok != Token::kIdentifier) return Error(absl::StrCat("found '", literal, "', expected: identifier"));
    if (std::optional<std::string> err = ValidateParsedKey(literal)) return Error(*err);
    if (Token t = Lookahead(Context::kValues).first; t == Token::kEndOfString || t == Token::kComma) {
      if (op != Op::kDoesNotExist) op = Op::kExists;
    }
    const std::string key = literal;
    if (op == Op::kExists || op == Op::kDoesNotExist) return NewRequirement(key, *op, std::vector<std::string>{});

    absl::StatusOr<Op> binary = ParseOperator();
    if (!binary.ok()) return binary.status();
    absl::StatusOr<std::set<std::string>> values =
        (*binary == Op::kIn || *binary == Op::kNotIn) ? ParseValues() : ParseExactValue();
    if (!values.ok()) return values.status();
    return NewRequirement(key, *binary, std::vector<std::string>(values->begin(), values->end()));
  }

  absl::StatusOr<Op> ParseOperator() {
    auto [tok, lit] = Consume(Context::kKeyAndOperator);
    switch (tok) {
      case Token::kIn: return Op::kIn;
      case Token::kEquals: return Op::kEquals;
      case Token::kDoubleEquals: return Op::kEquals;
      case Token::kGreaterThan: return Op::kGreaterThan;
      case Token::kLessThan: return Op::kLessThan;
      case Token::kNotIn: return Op::kNotIn;
      case Token::kNotEquals: return Op::kNotEquals;
      default:
        return Error(absl::StrCat("found '", lit, "', expected: in, notin, =, ==, !=, gt, lt"));
    }
  }

  // "(a,b)"; "()" and "(a,)" contribute the empty value.
  absl::StatusOr<std::set<std::string>> ParseValues() {
    if (auto [tok, lit] = Consume(Context::kValues); tok != Token::kOpenPar) {
      return Error(absl::StrCat("found '", lit, "' expected: '('"));
    }
    auto [tok, lit] = Lookahead(Context::kValues);
    switch (tok) {
      case Token::kIdentifier:
      case Token::kComma: {
        absl::StatusOr<std::set<std::string>> s = ParseIdentifiersList();
        if (!s.ok()) return s;
        // The Go parser reports the token seen before the list here; kept so
        // that messages agree.
        if (Consume(Context::kValues).first != Token::kClosedPar) {
          return Error(absl::StrCat("found '", lit, "', expected: ')'"));
        }
        return s;
      }
      case Token::kClosedPar:
        Consume(Context::kValues);
        return std::set<std::string>{""};
      default:
        return Error(absl::StrCat("found '", lit, "', expected: ',', ')' or identifier"));
    }
  }

  absl::StatusOr<std::set<std::string>> ParseIdentifiersList() {
    std::set<std::string> s;
    for (;;) {
      auto [tok, lit] = Consume(Context::kValues);
      switch (tok) {
        case Token::kIdentifier: {
          s.insert(lit);
          auto [tok2, lit2] = Lookahead(Context::kValues);
          if (tok2 == Token::kComma) continue;
          if (tok2 == Token::kClosedPar) return s;
          return Error(absl::StrCat("found '", lit2, "', expected: ',' or ')'"));
        }
        case Token::kComma: {
          if (s.empty()) s.insert("");  // "(,"
          Token tok2 = Lookahead(Context::kValues).first;
          if (tok2 == Token::kClosedPar) {
            s.insert("");  // ",)"
            return s;
          }
          if (tok2 == Token::kComma) {
            Consume(Context::kValues);
            s.insert("");  // ",,"
          }
          break;
        }
        default:
          return Error(absl::StrCat("found '", lit, "', expected: ',', or identifier"));
      }
    }
  }

  absl::StatusOr<std::set<std::string>> ParseExactValue() {
    Token tok = Lookahead(Context::kValues).first;
    if (tok == Token::kEndOfString || tok == Token::kComma) return std::set<std::string>{""};
    auto [t, lit] = Consume(Context::kValues);
    if (t == Token::kIdentifier) return std::set<std::string>{lit};
    return Error(absl::StrCat("found '", lit, "', expected: identifier"));
  }

  std::vector<ScannedItem> items_;
  size_t pos_ = 0;
};

template <typename GetLabel>
bool RequirementMatches(const LabelSelector::Requirement& r, const GetLabel& get) {
  std::optional<std::string> value = get(r.key);
  auto has_value = [&] { return std::binary_search(r.values.begin(), r.values.end(), *value); };
  switch (r.op) {
    case Op::kIn:
    case Op::kEquals:
      return value.has_value() && has_value();
    case Op::kNotIn:
    case Op::kNotEquals:
      return !value.has_value() || !has_value();
    case Op::kExists:
      return value.has_value();
    case Op::kDoesNotExist:
      return !value.has_value();
    case Op::kGreaterThan:
    case Op::kLessThan: {
      int64_t have, want;
      if (!value.has_value() || r.values.size() != 1 || !absl::SimpleAtoi(*value, &have) ||
          !absl::SimpleAtoi(r.values[0], &want)) {
        return false;
      }
      return r.op == Op::kGreaterThan ? have > want : have < want;
    }
  }
  return false;
}

std::string RequirementString(const LabelSelector::Requirement& r) {
  switch (r.op) {
    case Op::kExists: return r.key;
    case Op::kDoesNotExist: return absl::StrCat("!", r.key);
    case Op::kEquals: return absl::StrCat(r.key, "=", r.values.empty() ? "" : r.values[0]);
    case Op::kNotEquals: return absl::StrCat(r.key, "!=", r.values.empty() ? "" : r.values[0]);
    case Op::kGreaterThan: return absl::StrCat(r.key, ">", r.values.empty() ? "" : r.values[0]);
    case Op::kLessThan: return absl::StrCat(r.key, "<", r.values.empty() ? "" : r.values[0]);
    case Op::kIn: return absl::StrCat(r.key, " in (", absl::StrJoin(r.values, ","), ")");
    case Op::kNotIn: return absl::StrCat(r.key, " notin (", absl::StrJoin(r.values, ","), ")");
  }
  return "";
}

std::string LabelText(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

absl::StatusOr<LabelSelector> LabelSelector::Parse(absl::string_view text) {
  absl::StatusOr<std::vector<Requirement>> reqs = Parser(text).Parse();
  if (!reqs.ok()) return reqs.status();
  LabelSelector sel;
  sel.reqs_ = *std::move(reqs);
  SortByKey(sel.reqs_);
  return sel;
}

absl::StatusOr<LabelSelector> LabelSelector::FromJson(const nlohmann::json& selector) {
  LabelSelector sel;
  if (selector.is_null()) return sel;
  if (!selector.is_object()) return absl::InvalidArgumentError("label selector must be a JSON object");

  if (auto it = selector.find("matchLabels"); it != selector.end() && !it->is_null()) {
    if (!it->is_object()) return absl::InvalidArgumentError("matchLabels must be an object of strings");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return absl::InvalidArgumentError(absl::StrCat("matchLabels[", k, "] must be a string"));
      absl::StatusOr<Requirement> r = NewRequirement(k, Op::kEquals, std::vector<std::string>{v.get<std::string>()});
      if (!r.ok()) return r.status();
      sel.reqs_.push_back(*std::move(r));
    }
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && !it->is_null()) {
    if (!it->is_array()) return absl::InvalidArgumentError("matchExpressions must be a list");
    for (size_t i = 0; i < it->size(); ++i) {
      const nlohmann::json& expr = (*it)[i];
      if (!expr.is_object()) {
        return absl::InvalidArgumentError(absl::StrCat("matchExpressions[", i, "] must be an object"));
      }
      auto field = [&](const char* name) -> std::optional<std::string> {
        auto f = expr.find(name);
        if (f == expr.end() || f->is_null()) return std::string();
        if (!f->is_string()) return std::nullopt;
        return f->get<std::string>();
      };
      std::optional<std::string> key = field("key");
      std::optional<std::string> op_name = field("operator");
      if (!key.has_value() || !op_name.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("matchExpressions[", i, "]: key and operator must be strings"));
      }
      Op op;
      if (*op_name == "In") {
        op = Op::kIn;
      } else if (*op_name == "NotIn") {
        op = Op::kNotIn;
      } else if (*op_name == "Exists") {
        op = Op::kExists;
      } else if (*op_name == "DoesNotExist") {
        op = Op::kDoesNotExist;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(GoQuote(*op_name), " is not a valid label selector operator"));
      }
      std::optional<std::vector<std::string>> values;
      if (auto v = expr.find("values"); v != expr.end() && !v->is_null()) {
        if (!v->is_array()) {
          return absl::InvalidArgumentError(absl::StrCat("matchExpressions[", i, "].values must be a list of strings"));
        }
        for (const nlohmann::json& s : *v) {
          if (!s.is_string()) {
            return absl::InvalidArgumentError(
                absl::StrCat("matchExpressions[", i, "].values must be a list of strings"));
          }
          if (!values.has_value()) values.emplace();
          values->push_back(s.get<std::string>());
        }
      }
      absl::StatusOr<Requirement> r = NewRequirement(*key, op, std::move(values));
      if (!r.ok()) return r.status();
      sel.reqs_.push_back(*std::move(r));
    }
  }
  SortByKey(sel.reqs_);
  return sel;
}

LabelSelector LabelSelector::FromLabels(const nlohmann::json& labels) {
  LabelSelector sel;
  if (!labels.is_object()) return sel;
  for (const auto& [k, v] : labels.items()) sel.reqs_.push_back({k, Op::kEquals, {LabelText(v)}});
  SortByKey(sel.reqs_);
  return sel;
}

bool LabelSelector::Matches(const nlohmann::json& labels) const {
  return std::all_of(reqs_.begin(), reqs_.end(), [&](const Requirement& r) {
    return RequirementMatches(r, [&](const std::string& key) -> std::optional<std::string> {
      if (!labels.is_object()) return std::nullopt;
      auto it = labels.find(key);
      if (it == labels.end()) return std::nullopt;
      return LabelText(*it);
    });
  });
}

bool LabelSelector::Matches(const std::map<std::string, std::string>& labels) const {
  return std::all_of(reqs_.begin(), reqs_.end(), [&](const Requirement& r) {
    return RequirementMatches(r, [&](const std::string& key) -> std::optional<std::string> {
      auto it = labels.find(key);
      if (it == labels.end()) return std::nullopt;
      return it->second;
    });
  });
}

std::string LabelSelector::ToString() const {
  std::vector<std::string> parts;
  parts.reserve(reqs_.size());
  for (const Requirement& r : reqs_) parts.push_back(RequirementString(r));
  return absl::StrJoin(parts, ",");
}

// --- Field selectors: k8s.io/apimachinery/pkg/fields. ---

namespace {

// Byte length of the UTF-8 character `s` starts with, so escape errors
// quote whole characters as Go does; 1 for anything malformed, as Go's
// range over a string takes one byte of it. A lead byte whose continuation
// bytes are missing must not swallow the ASCII that follows: "\xe2=x" is
// three characters, the second an unescaped '='.
size_t Utf8Length(absl::string_view s) {
  const auto lead = static_cast<unsigned char>(s[0]);
  size_t n = 1;
  if (lead >= 0xf0 && lead < 0xf8) {
    n = 4;
  } else if (lead >= 0xe0 && lead < 0xf0) {
    n = 3;
  } else if (lead >= 0xc0 && lead < 0xe0) {
    n = 2;
  }
  if (n > s.size()) return 1;
  for (size_t i = 1; i < n; ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) return 1;
  }
  return n;
}

// Decodes one UTF-8 character for the "unescaped character" message, which
// Go prints as a number.
uint32_t CodePoint(absl::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i])); };
  switch (s.size()) {
    case 2: return ((b(0) & 0x1f) << 6) | (b(1) & 0x3f);
    case 3: return ((b(0) & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
    case 4: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3f) << 12) | ((b(2) & 0x3f) << 6) | (b(3) & 0x3f);
    default: return b(0);
  }
}

absl::StatusOr<std::string> UnescapeValue(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_slash = false;
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8Length(s.substr(i));
    absl::string_view ch = s.substr(i, n);
    i += n;
    if (in_slash) {
      if (ch == "\\" || ch == "," || ch == "=") {
        out.append(ch.data(), ch.size());
      } else {
        return absl::InvalidArgumentError(absl::StrCat("invalid field selector: invalid escape sequence: \\", ch));
      }
      in_slash = false;
      continue;
    }
    if (ch == "\\") {
      in_slash = true;
    } else if (ch == "," || ch == "=") {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid field selector: unescaped character in value: ", CodePoint(ch)));
    } else {
      out.append(ch.data(), ch.size());
    }
  }
  if (in_slash) return absl::InvalidArgumentError("invalid field selector: invalid escape sequence: \\");
  return out;
}

std::string EscapeValue(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == ',' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

// Splits on commas that are not escaped; the escapes stay in the terms.
std::vector<std::string> SplitTerms(absl::string_view selector) {
  std::vector<std::string> terms;
  if (selector.empty()) return terms;
  size_t start = 0;
  bool in_slash = false;
  for (size_t i = 0; i < selector.size(); ++i) {
    char c = selector[i];
    if (in_slash) {
      in_slash = false;
    } else if (c == '\\') {
      in_slash = true;
    } else if (c == ',') {
      terms.emplace_back(selector.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.emplace_back(selector.substr(start));
  return terms;
}

}  // namespace

absl::StatusOr<FieldSelector> FieldSelector::Parse(absl::string_view text) {
  std::vector<std::string> parts = SplitTerms(text);
  std::sort(parts.begin(), parts.end());
  FieldSelector sel;
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    // The first operator in the term splits it; "!=" and "==" win over "=" at
    // the same position.
    std::optional<std::pair<size_t, absl::string_view>> split;
    for (size_t i = 0; i < part.size() && !split.has_value(); ++i) {
      absl::string_view rest = absl::string_view(part).substr(i);
      for (absl::string_view op : {"!=", "==", "="}) {
        if (absl::StartsWith(rest, op)) {
          split.emplace(i, op);
          break;
        }
      }
    }
    if (!split.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid selector: '", text, "'; can't understand '", part, "'"));
    }
    auto [at, op] = *split;
    absl::StatusOr<std::string> value = UnescapeValue(absl::string_view(part).substr(at + op.size()));
    if (!value.ok()) return value.status();
    sel.reqs_.push_back({part.substr(0, at), op != "!=", *std::move(value)});
  }
  return sel;
}

bool FieldSelector::Matches(const Lookup& lookup) const {
  for (const Requirement& r : reqs_) {
    std::optional<std::string> v = lookup(r.field);
    if (!v.has_value()) return false;
    if ((*v == r.value) != r.equals) return false;
  }
  return true;
}

std::string FieldSelector::ToString() const {
  std::vector<std::string> parts;
  parts.reserve(reqs_.size());
  for (const Requirement& r : reqs_) {
    parts.push_back(absl::StrCat(r.field, r.equals ? "=" : "!=", EscapeValue(r.value)));
  }
  return absl::StrJoin(parts, ",");
}

}  // namespace herd::k8s
