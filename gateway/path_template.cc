#include "gateway/path_template.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace herd::gateway {
namespace {

bool IsIdent(absl::string_view s) {
  if (s.empty() || !(absl::ascii_isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

bool IsFieldPath(absl::string_view s) {
  for (absl::string_view part : absl::StrSplit(s, '.')) {
    if (!IsIdent(part)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("path template \"", text, "\": ", why));
  };
  if (text.empty() || text[0] != '/') return bad("must start with /");
  PathTemplate t;
  t.text_ = std::string(text);
  absl::string_view rest = text.substr(1);
  // The verb: a ":" after the last "/" and outside braces.
  size_t depth = 0, colon = absl::string_view::npos;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '{') ++depth;
    if (rest[i] == '}') {
      if (depth == 0) return bad("unbalanced }");
      --depth;
    }
    if (rest[i] == '/' && depth == 0) colon = absl::string_view::npos;
    if (rest[i] == ':' && depth == 0) colon = i;
  }
  if (depth != 0) return bad("unbalanced {");
  if (colon != absl::string_view::npos) {
    t.verb_ = std::string(rest.substr(colon + 1));
    if (t.verb_.empty() || t.verb_.find_first_of("/{}*") != std::string::npos) return bad("bad verb");
    rest = rest.substr(0, colon);
  }
  bool in_var = false;
  bool var_has_segments = false;
  bool seen_starstar = false;
  // Splits on "/" outside of a variable's field path part.
  size_t i = 0;
  while (i <= rest.size()) {
    size_t end = rest.find('/', i);
    if (end == absl::string_view::npos) end = rest.size();
    absl::string_view seg = rest.substr(i, end - i);
    i = end + 1;
    if (seg.empty()) return bad("empty segment");
    if (seen_starstar) return bad("** must be the last segment");
    if (!in_var && seg[0] == '{') {
      absl::string_view inner = seg.substr(1);
      size_t close = inner.find('}');
      size_t eq = inner.find('=');
      absl::string_view field = inner.substr(0, std::min(close, eq));
      if (!IsFieldPath(field)) return bad(absl::StrCat("\"", field, "\" is not a field path"));
      t.segments_.push_back({Segment::kVariableStart, std::string(field)});
      if (close != absl::string_view::npos && (eq == absl::string_view::npos || close < eq)) {
        if (close != inner.size() - 1) return bad("text after }");
        t.segments_.push_back({Segment::kStar, ""});
        t.segments_.push_back({Segment::kVariableEnd, std::string(field)});
        continue;
      }
      if (eq == absl::string_view::npos) return bad("a variable spans a / without =");
      seg = inner.substr(eq + 1);
      in_var = true;
      var_has_segments = false;
      if (seg.empty()) return bad("empty variable pattern");
    }
    bool closes = in_var && !seg.empty() && seg.back() == '}';
    if (closes) seg.remove_suffix(1);
    if (seg.find_first_of("{}") != absl::string_view::npos) return bad("nested or stray braces");
    if (seg == "*") {
      t.segments_.push_back({Segment::kStar, ""});
    } else if (seg == "**") {
      t.segments_.push_back({Segment::kStarStar, ""});
      seen_starstar = true;
    } else if (seg.empty() || seg.find('*') != absl::string_view::npos) {
      return bad(absl::StrCat("bad segment \"", seg, "\""));
    } else {
      t.segments_.push_back({Segment::kLiteral, std::string(seg)});
    }
    var_has_segments = true;
    if (closes) {
      if (!var_has_segments) return bad("empty variable pattern");
      std::string field;
      for (auto it = t.segments_.rbegin(); it != t.segments_.rend(); ++it) {
        if (it->kind == Segment::kVariableStart) {
          field = it->value;
          break;
        }
      }
      t.segments_.push_back({Segment::kVariableEnd, field});
      in_var = false;
    }
    if (end == rest.size()) break;
  }
  if (in_var) return bad("unterminated variable");
  return t;
}

bool PathTemplate::Match(const std::vector<std::string>& segments, absl::string_view verb, Bindings* bindings) const {
  if (verb != verb_) return false;
  Bindings out;
  std::vector<std::pair<std::string, size_t>> open;
  if (!MatchFrom(0, segments, 0, &out, &open)) return false;
  *bindings = std::move(out);
  return true;
}

bool PathTemplate::MatchFrom(size_t si, const std::vector<std::string>& segs, size_t pi, Bindings* bindings,
                             std::vector<std::pair<std::string, size_t>>* open) const {
  if (si == segments_.size()) return pi == segs.size();
  const Segment& s = segments_[si];
  switch (s.kind) {
    case Segment::kLiteral:
      return pi < segs.size() && segs[pi] == s.value && MatchFrom(si + 1, segs, pi + 1, bindings, open);
    case Segment::kStar:
      return pi < segs.size() && !segs[pi].empty() && MatchFrom(si + 1, segs, pi + 1, bindings, open);
    case Segment::kStarStar:
      // The last segment (Parse makes sure), apart from a closing brace.
      for (size_t end = segs.size(); end >= pi; --end) {
        if (MatchFrom(si + 1, segs, end, bindings, open)) return true;
        if (end == pi) break;
      }
      return false;
    case Segment::kVariableStart: {
      open->push_back({s.value, pi});
      if (MatchFrom(si + 1, segs, pi, bindings, open)) return true;
      open->pop_back();
      return false;
    }
    case Segment::kVariableEnd: {
      auto [field, start] = open->back();
      std::vector<std::string> parts(segs.begin() + static_cast<long>(start), segs.begin() + static_cast<long>(pi));
      bindings->push_back({field, absl::StrJoin(parts, "/")});
      open->pop_back();
      if (MatchFrom(si + 1, segs, pi, bindings, open)) return true;
      open->push_back({field, start});
      bindings->pop_back();
      return false;
    }
  }
  return false;
}

std::vector<std::string> PathTemplate::Variables() const {
  std::vector<std::string> out;
  for (const auto& s : segments_) {
    if (s.kind == Segment::kVariableStart) out.push_back(s.value);
  }
  return out;
}

std::string PathTemplate::OpenApiPath(std::vector<OpenApiParam>* params) const {
  std::string out;
  std::string var;           // the variable being read, if any
  std::string last_literal;  // of the variable, for naming its wildcards
  int wildcards = 0;
  for (const auto& s : segments_) {
    switch (s.kind) {
      case Segment::kVariableStart:
        var = s.value;
        last_literal.clear();
        wildcards = 0;
        break;
      case Segment::kVariableEnd:
        var.clear();
        break;
      case Segment::kLiteral:
        absl::StrAppend(&out, "/", s.value);
        if (!var.empty()) last_literal = s.value;
        break;
      case Segment::kStar:
      case Segment::kStarStar: {
        std::string name;
        if (var.empty()) {
          name = s.kind == Segment::kStar ? "segment" : "path";
        } else if (!last_literal.empty()) {
          // "namespaces" → "namespace": the resource name's collection.
          name = last_literal;
          if (name.size() > 1 && name.back() == 's') name.pop_back();
        } else {
          name = var.substr(var.rfind('.') + 1);
          if (wildcards > 0) absl::StrAppend(&name, wildcards + 1);
        }
        ++wildcards;
        absl::StrAppend(&out, "/{", name, "}");
        if (params) params->push_back({name, var});
        break;
      }
    }
  }
  if (!verb_.empty()) absl::StrAppend(&out, ":", verb_);
  return out;
}

std::string PathTemplate::VariablePattern(const std::string& field_path) const {
  std::vector<std::string> parts;
  bool in_var = false;
  for (const auto& s : segments_) {
    if (s.kind == Segment::kVariableStart && s.value == field_path) {
      in_var = true;
      continue;
    }
    if (s.kind == Segment::kVariableEnd && in_var) break;
    if (!in_var) continue;
    parts.push_back(s.kind == Segment::kLiteral ? s.value : s.kind == Segment::kStar ? "*" : "**");
  }
  return absl::StrJoin(parts, "/");
}

}  // namespace herd::gateway
