#include "sim/protobuf/protobuf.h"

#include <bit>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "sim/protobuf/internal/go_duration.h"
#include "sim/schema/schema.h"
#include "sim/protobuf/internal/wire.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;
using schema::Field;
using schema::FindKind;
using schema::FindMessage;
using schema::FullName;
using schema::Kind;
using schema::Message;
using protobuf_internal::WireReader;
using protobuf_internal::WireType;

// The protobuf envelope's magic: "k8s" and a NUL.
constexpr absl::string_view kMagic("k8s\0", 4);
// Deeper than any real object (a Pod is about ten levels); bounds the stack
// against hostile input.
constexpr int kMaxDepth = 64;

constexpr char kUnknown[] = "k8s.io.apimachinery.pkg.runtime.Unknown";
constexpr char kTypeMeta[] = "k8s.io.apimachinery.pkg.runtime.TypeMeta";
constexpr char kTime[] = "k8s.io.apimachinery.pkg.apis.meta.v1.Time";
constexpr char kMicroTime[] = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime";
constexpr char kDuration[] = "k8s.io.apimachinery.pkg.apis.meta.v1.Duration";
constexpr char kIntOrString[] = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";
constexpr char kQuantity[] = "k8s.io.apimachinery.pkg.api.resource.Quantity";
constexpr char kRawExtension[] = "k8s.io.apimachinery.pkg.runtime.RawExtension";

absl::Status CannotDecode(uint64_t number, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("kubesim cannot decode field ", number, " of ", message, " from protobuf; send JSON"));
}

absl::Status Malformed(uint64_t number, absl::string_view message, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed protobuf body: field ", number, " of ", message, ": ", why));
}

absl::Status WrongWireType(uint64_t number, absl::string_view message, int wire_type) {
  return Malformed(number, message, absl::StrCat("unexpected wire type ", wire_type));
}

bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

absl::StatusOr<std::string> Utf8String(absl::string_view s, uint64_t number, absl::string_view message) {
  // nlohmann::json refuses to serialize invalid UTF-8; better a clear 400
  // now than an exception when the object is written out.
  if (!ValidUtf8(s)) return Malformed(number, message, "string is not valid UTF-8");
  return std::string(s);
}

// metav1.Time and MicroTime: {seconds = 1, nanos = 2}. Go encodes the zero
// time as no bytes at all, and its JSON as null.
absl::StatusOr<Json> DecodeTime(absl::string_view data, bool micro) {
  const char* name = micro ? kMicroTime : kTime;
  if (data.empty()) return Json(nullptr);
  int64_t seconds = 0;
  int64_t nanos = 0;
  WireReader r(data);
  while (!r.done()) {
    uint64_t tag, v;
    if (!r.ReadVarint(&tag)) return Malformed(0, name, "truncated");
    if ((tag & 7) != protobuf_internal::kVarint) return WrongWireType(tag >> 3, name, static_cast<int>(tag & 7));
    if (!r.ReadVarint(&v)) return Malformed(tag >> 3, name, "truncated");
    if (tag >> 3 == 1) {
      seconds = static_cast<int64_t>(v);
    } else if (tag >> 3 == 2) {
      nanos = static_cast<int32_t>(static_cast<uint32_t>(v));
    } else {
      return CannotDecode(tag >> 3, name);
    }
  }
  // Go's JSON encoding only handles years 0 to 9999.
  if (seconds < -62167219200 || seconds > 253402300799 || nanos < 0 || nanos > 999999999) {
    return Malformed(1, name, absl::StrCat("time out of range: ", seconds, "s ", nanos, "ns"));
  }
  // Time keeps whole seconds only, as the API server does when it reads
  // protobuf; MicroTime keeps microseconds.
  absl::Time t = absl::FromUnixSeconds(seconds);
  if (micro) return Json(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t + absl::Nanoseconds(nanos), absl::UTCTimeZone()));
  return Json(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()));
}

absl::StatusOr<Json> DecodeEnvelope(absl::string_view body, int depth);

class Decoder {
 public:
  explicit Decoder(int depth) : depth_(depth) {}

  // Decodes `data`, a `m` message, into the JSON object `out` (fields
  // already there stay unless the message sets them: a repeated message
  // field merges, as in protobuf).
  absl::Status DecodeMessage(const Message& m, absl::string_view data, Json& out) {
    if (depth_ >= kMaxDepth) return Malformed(0, FullName(m.name), "nested too deeply");
    ++depth_;
    absl::Status st = DecodeFields(m, data, out);
    --depth_;
    return st;
  }

 private:
  absl::Status DecodeFields(const Message& m, absl::string_view data, Json& out) {
    if (!out.is_object()) out = Json::object();
    WireReader r(data);
    while (!r.done()) {
      uint64_t tag;
      if (!r.ReadVarint(&tag)) return Malformed(0, FullName(m.name), "truncated tag");
      uint64_t number = tag >> 3;
      auto wt = static_cast<int>(tag & 7);
      const Field* f = number <= UINT32_MAX ? m.Find(static_cast<uint32_t>(number)) : nullptr;
      if (f == nullptr) return CannotDecode(number, FullName(m.name));
      if (f->flags & schema::kMap) {
        if (auto st = DecodeMapEntry(m, *f, wt, r, out[f->json]); !st.ok()) return st;
      } else if (f->flags & schema::kRepeated) {
        if (auto st = DecodeRepeated(m, *f, wt, r, out[f->json]); !st.ok()) return st;
      } else if (f->kind == Kind::kMessage) {
        absl::string_view bytes;
        if (wt != protobuf_internal::kLengthDelimited) return WrongWireType(number, FullName(m.name), wt);
        if (!r.ReadBytes(&bytes)) return Malformed(number, FullName(m.name), "truncated");
        const Message* sub = FindMessage(f->message);
        if (sub == nullptr) return CannotDecode(number, FullName(m.name));
        Json& target = (f->flags & schema::kInline) ? out : out[f->json];
        if (auto st = DecodeMessage(*sub, bytes, target); !st.ok()) return st;
      } else {
        auto v = DecodeValue(m, *f, wt, r);
        if (!v.ok()) return v.status();
        // Go's omitempty drops zero scalars unless the field is a pointer.
        if (!(f->flags & schema::kKeepZero) && IsZeroScalar(f->kind, *v)) {
          out.erase(f->json);
        } else {
          out[f->json] = *std::move(v);
        }
      }
    }
    return absl::OkStatus();
  }

  static bool IsZeroScalar(Kind kind, const Json& v) {
    switch (kind) {
      case Kind::kString:
      case Kind::kBytes:
        return v.get_ref<const std::string&>().empty();
      case Kind::kBool:
        return !v.get<bool>();
      case Kind::kInt32:
      case Kind::kInt64:
        return v.get<int64_t>() == 0;
      case Kind::kDouble:
        return v.get<double>() == 0;
      default:
        return false;  // structs in Go: omitempty does not apply
    }
  }

  // Repeated scalars may come packed (one length-delimited run) or one by
  // one; Go's encoder sends them one by one, other encoders pack.
  absl::Status DecodeRepeated(const Message& m, const Field& f, int wt, WireReader& r, Json& out) {
    if (!out.is_array()) out = Json::array();
    WireType natural;
    switch (f.kind) {
      case Kind::kBool:
      case Kind::kInt32:
      case Kind::kInt64:
        natural = protobuf_internal::kVarint;
        break;
      case Kind::kDouble:
        natural = protobuf_internal::kFixed64;
        break;
      default:
        natural = protobuf_internal::kLengthDelimited;
    }
    if (natural != protobuf_internal::kLengthDelimited && wt == protobuf_internal::kLengthDelimited) {
      absl::string_view packed;
      if (!r.ReadBytes(&packed)) return Malformed(f.number, FullName(m.name), "truncated");
      WireReader pr(packed);
      while (!pr.done()) {
        auto v = DecodeValue(m, f, natural, pr);
        if (!v.ok()) return v.status();
        out.push_back(*std::move(v));
      }
      return absl::OkStatus();
    }
    auto v = DecodeValue(m, f, wt, r);
    if (!v.ok()) return v.status();
    out.push_back(*std::move(v));
    return absl::OkStatus();
  }

  // A map<string, V> entry: {key = 1, value = 2}, either may be missing.
  absl::Status DecodeMapEntry(const Message& m, const Field& f, int wt, WireReader& r, Json& out) {
    if (!out.is_object()) out = Json::object();
    absl::string_view entry;
    if (wt != protobuf_internal::kLengthDelimited) return WrongWireType(f.number, FullName(m.name), wt);
    if (!r.ReadBytes(&entry)) return Malformed(f.number, FullName(m.name), "truncated");
    std::string entry_name = absl::StrCat(FullName(m.name), ".", f.json, "Entry");
    std::string key;
    Json value;
    bool has_value = false;
    WireReader er(entry);
    while (!er.done()) {
      uint64_t tag;
      if (!er.ReadVarint(&tag)) return Malformed(0, entry_name, "truncated tag");
      auto ewt = static_cast<int>(tag & 7);
      if (tag >> 3 == 1) {
        absl::string_view k;
        if (ewt != protobuf_internal::kLengthDelimited) return WrongWireType(1, entry_name, ewt);
        if (!er.ReadBytes(&k)) return Malformed(1, entry_name, "truncated");
        auto s = Utf8String(k, 1, entry_name);
        if (!s.ok()) return s.status();
        key = *std::move(s);
      } else if (tag >> 3 == 2) {
        if (f.kind == Kind::kMessage) {
          absl::string_view bytes;
          if (ewt != protobuf_internal::kLengthDelimited) return WrongWireType(2, entry_name, ewt);
          if (!er.ReadBytes(&bytes)) return Malformed(2, entry_name, "truncated");
          const Message* sub = FindMessage(f.message);
          if (sub == nullptr) return CannotDecode(f.number, FullName(m.name));
          if (auto st = DecodeMessage(*sub, bytes, value); !st.ok()) return st;
        } else {
          auto v = DecodeValue(m, f, ewt, er);
          if (!v.ok()) return v.status();
          value = *std::move(v);
        }
        has_value = true;
      } else {
        return CannotDecode(tag >> 3, entry_name);
      }
    }
    if (!has_value) value = ZeroValue(f);
    out[key] = std::move(value);
    return absl::OkStatus();
  }

  // What a map value left off the wire means: the type's zero value.
  static Json ZeroValue(const Field& f) {
    switch (f.kind) {
      case Kind::kString:
      case Kind::kBytes:
        return "";
      case Kind::kBool:
        return false;
      case Kind::kInt32:
      case Kind::kInt64:
      case Kind::kIntOrString:
        return 0;
      case Kind::kDouble:
        return 0.0;
      case Kind::kQuantity:
        return "0";
      case Kind::kMessage:
        return Json::object();
      default:
        return nullptr;
    }
  }

  // One value of `f`'s kind (a message kind only through the specials).
  absl::StatusOr<Json> DecodeValue(const Message& m, const Field& f, int wt, WireReader& r) {
    auto want = [&](WireType expected) -> absl::Status {
      return wt == expected ? absl::OkStatus() : WrongWireType(f.number, FullName(m.name), wt);
    };
    uint64_t v;
    absl::string_view bytes;
    switch (f.kind) {
      case Kind::kBool:
      case Kind::kInt32:
      case Kind::kInt64:
        if (auto st = want(protobuf_internal::kVarint); !st.ok()) return st;
        if (!r.ReadVarint(&v)) return Malformed(f.number, FullName(m.name), "truncated");
        if (f.kind == Kind::kBool) return Json(v != 0);
        // A negative int32 is sign-extended to ten bytes; its low half is it.
        if (f.kind == Kind::kInt32) return Json(static_cast<int32_t>(static_cast<uint32_t>(v)));
        return Json(static_cast<int64_t>(v));
      case Kind::kDouble:
        if (auto st = want(protobuf_internal::kFixed64); !st.ok()) return st;
        if (!r.ReadFixed64(&v)) return Malformed(f.number, FullName(m.name), "truncated");
        return Json(std::bit_cast<double>(v));
      default:
        break;
    }
    if (auto st = want(protobuf_internal::kLengthDelimited); !st.ok()) return st;
    if (!r.ReadBytes(&bytes)) return Malformed(f.number, FullName(m.name), "truncated");
    switch (f.kind) {
      case Kind::kString: {
        auto s = Utf8String(bytes, f.number, FullName(m.name));
        if (!s.ok()) return s.status();
        return Json(*std::move(s));
      }
      case Kind::kBytes:
        return Json(absl::Base64Escape(bytes));
      case Kind::kTime:
        return DecodeTime(bytes, false);
      case Kind::kMicroTime:
        return DecodeTime(bytes, true);
      case Kind::kDuration:
        return DecodeDuration(bytes);
      case Kind::kIntOrString:
        return DecodeIntOrString(bytes);
      case Kind::kQuantity:
        return DecodeQuantity(bytes);
      case Kind::kRawJson:
        return DecodeRawExtension(bytes);
      case Kind::kMessage: {
        const Message* sub = FindMessage(f.message);
        if (sub == nullptr) return CannotDecode(f.number, FullName(m.name));
        Json obj = Json::object();
        if (auto st = DecodeMessage(*sub, bytes, obj); !st.ok()) return st;
        return obj;
      }
      default:
        return CannotDecode(f.number, FullName(m.name));
    }
  }

  // metav1.Duration: {duration = 1} in nanoseconds.
  static absl::StatusOr<Json> DecodeDuration(absl::string_view data) {
    int64_t nanos = 0;
    WireReader r(data);
    while (!r.done()) {
      uint64_t tag, v;
      if (!r.ReadVarint(&tag)) return Malformed(0, kDuration, "truncated");
      if (tag >> 3 != 1) return CannotDecode(tag >> 3, kDuration);
      if ((tag & 7) != protobuf_internal::kVarint) return WrongWireType(1, kDuration, static_cast<int>(tag & 7));
      if (!r.ReadVarint(&v)) return Malformed(1, kDuration, "truncated");
      nanos = static_cast<int64_t>(v);
    }
    return Json(protobuf_internal::FormatGoDuration(nanos));
  }

  // intstr.IntOrString: {type = 1 (0 int, 1 string), intVal = 2, strVal = 3}.
  static absl::StatusOr<Json> DecodeIntOrString(absl::string_view data) {
    int64_t type = 0;
    int32_t int_val = 0;
    std::string str_val;
    WireReader r(data);
    while (!r.done()) {
      uint64_t tag, v;
      if (!r.ReadVarint(&tag)) return Malformed(0, kIntOrString, "truncated");
      auto wt = static_cast<int>(tag & 7);
      switch (tag >> 3) {
        case 1:
        case 2:
          if (wt != protobuf_internal::kVarint) return WrongWireType(tag >> 3, kIntOrString, wt);
          if (!r.ReadVarint(&v)) return Malformed(tag >> 3, kIntOrString, "truncated");
          if (tag >> 3 == 1) {
            type = static_cast<int64_t>(v);
          } else {
            int_val = static_cast<int32_t>(static_cast<uint32_t>(v));
          }
          break;
        case 3: {
          absl::string_view s;
          if (wt != protobuf_internal::kLengthDelimited) return WrongWireType(3, kIntOrString, wt);
          if (!r.ReadBytes(&s)) return Malformed(3, kIntOrString, "truncated");
          auto u = Utf8String(s, 3, kIntOrString);
          if (!u.ok()) return u.status();
          str_val = *std::move(u);
          break;
        }
        default:
          return CannotDecode(tag >> 3, kIntOrString);
      }
    }
    if (type == 0) return Json(int_val);
    if (type == 1) return Json(str_val);
    return Malformed(1, kIntOrString, absl::StrCat("type must be 0 (int) or 1 (string), not ", type));
  }

  // resource.Quantity: {string = 1}, already in canonical form.
  static absl::StatusOr<Json> DecodeQuantity(absl::string_view data) {
    std::string s;
    WireReader r(data);
    while (!r.done()) {
      uint64_t tag;
      absl::string_view v;
      if (!r.ReadVarint(&tag)) return Malformed(0, kQuantity, "truncated");
      if (tag >> 3 != 1) return CannotDecode(tag >> 3, kQuantity);
      if ((tag & 7) != protobuf_internal::kLengthDelimited) {
        return WrongWireType(1, kQuantity, static_cast<int>(tag & 7));
      }
      if (!r.ReadBytes(&v)) return Malformed(1, kQuantity, "truncated");
      auto u = Utf8String(v, 1, kQuantity);
      if (!u.ok()) return u.status();
      s = *std::move(u);
    }
    return Json(s.empty() ? "0" : s);
  }

  // runtime.RawExtension and metav1.FieldsV1: {raw = 1}, JSON bytes (or,
  // rarely, a nested protobuf object).
  absl::StatusOr<Json> DecodeRawExtension(absl::string_view data) {
    absl::string_view raw;
    WireReader r(data);
    while (!r.done()) {
      uint64_t tag;
      if (!r.ReadVarint(&tag)) return Malformed(0, kRawExtension, "truncated");
      if (tag >> 3 != 1) return CannotDecode(tag >> 3, kRawExtension);
      if ((tag & 7) != protobuf_internal::kLengthDelimited) {
        return WrongWireType(1, kRawExtension, static_cast<int>(tag & 7));
      }
      if (!r.ReadBytes(&raw)) return Malformed(1, kRawExtension, "truncated");
    }
    if (raw.empty()) return Json(nullptr);
    if (absl::StartsWith(raw, kMagic)) {
      return DecodeEnvelope(raw, depth_ + 1);
    }
    Json j = Json::parse(raw.begin(), raw.end(), nullptr, false);
    if (j.is_discarded()) return Malformed(1, kRawExtension, "raw is neither JSON nor Kubernetes protobuf");
    return j;
  }

  int depth_ = 0;
};

absl::StatusOr<Json> DecodeEnvelope(absl::string_view body, int depth) {
  if (depth >= kMaxDepth) return Malformed(0, kUnknown, "nested too deeply");
  if (!absl::StartsWith(body, kMagic)) {
    return absl::InvalidArgumentError("not a Kubernetes protobuf body: it does not start with \"k8s\\x00\"");
  }
  // runtime.Unknown: {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2,
  // contentEncoding = 3, contentType = 4}.
  std::string api_version, kind, content_encoding, content_type;
  absl::string_view raw;
  WireReader r(body.substr(kMagic.size()));
  while (!r.done()) {
    uint64_t tag;
    absl::string_view v;
    if (!r.ReadVarint(&tag)) return Malformed(0, kUnknown, "truncated tag");
    uint64_t number = tag >> 3;
    if (number < 1 || number > 4) return CannotDecode(number, kUnknown);
    if ((tag & 7) != protobuf_internal::kLengthDelimited) {
      return WrongWireType(number, kUnknown, static_cast<int>(tag & 7));
    }
    if (!r.ReadBytes(&v)) return Malformed(number, kUnknown, "truncated");
    if (number == 1) {
      WireReader tr(v);
      while (!tr.done()) {
        uint64_t ttag;
        absl::string_view s;
        if (!tr.ReadVarint(&ttag)) return Malformed(0, kTypeMeta, "truncated tag");
        if (ttag >> 3 != 1 && ttag >> 3 != 2) return CannotDecode(ttag >> 3, kTypeMeta);
        if ((ttag & 7) != protobuf_internal::kLengthDelimited) {
          return WrongWireType(ttag >> 3, kTypeMeta, static_cast<int>(ttag & 7));
        }
        if (!tr.ReadBytes(&s)) return Malformed(ttag >> 3, kTypeMeta, "truncated");
        auto u = Utf8String(s, ttag >> 3, kTypeMeta);
        if (!u.ok()) return u.status();
        (ttag >> 3 == 1 ? api_version : kind) = *std::move(u);
      }
    } else if (number == 2) {
      raw = v;
    } else {
      auto u = Utf8String(v, number, kUnknown);
      if (!u.ok()) return u.status();
      (number == 3 ? content_encoding : content_type) = *std::move(u);
    }
  }
  if (!content_encoding.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubesim cannot decode protobuf with contentEncoding \"", content_encoding, "\"; send JSON"));
  }
  if (!content_type.empty() && content_type != kProtobufMediaType) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubesim cannot decode a protobuf envelope holding \"", content_type, "\"; send JSON"));
  }
  if (kind.empty()) return absl::InvalidArgumentError("protobuf body names no kind");
  const Message* m = FindKind(api_version, kind);
  if (m == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kubesim cannot decode kind ", kind, " (apiVersion ",
                                                   api_version.empty() ? "none" : api_version,
                                                   ") from protobuf; send JSON"));
  }
  Json obj = Json::object();
  Decoder d(depth);
  if (auto st = d.DecodeMessage(*m, raw, obj); !st.ok()) return st;
  obj["apiVersion"] = api_version;
  obj["kind"] = kind;
  return obj;
}

}  // namespace

absl::StatusOr<Json> DecodeKubernetesProtobuf(absl::string_view body) { return DecodeEnvelope(body, 0); }

bool IsProtobufContentType(absl::string_view content_type) {
  absl::string_view media = absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';')));
  return absl::EqualsIgnoreCase(media, kProtobufMediaType);
}

absl::StatusOr<Json> ParseRequestBody(const http::Request& req) {
  if (IsProtobufContentType(req.headers.Get("Content-Type"))) return DecodeKubernetesProtobuf(req.body);
  Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    return absl::InvalidArgumentError(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml, application/vnd.kubernetes.protobuf");
  }
  return body;
}

}  // namespace herd::sim
