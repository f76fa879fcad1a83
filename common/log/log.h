// Structured logging: one JSON object per line (ts, level, msg, fields).
//
//   herd::log::Info("rollout started", {{"op", op_id}, {"replicas", 20}});
//   herd::log::Error("watch failed", {{"resource", "pods"}, {"error", status}});
//
// All functions are thread-safe. Lines go to stderr unless a sink is set.
#ifndef HERD_COMMON_LOG_LOG_H_
#define HERD_COMMON_LOG_LOG_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace herd::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// One key/value of a log line. Values keep their JSON type.
class Field {
 public:
  Field(absl::string_view key, absl::string_view value) : key_(key), kind_(kString), str_(value) {}
  Field(absl::string_view key, const char* value) : Field(key, absl::string_view(value)) {}
  Field(absl::string_view key, const std::string& value) : Field(key, absl::string_view(value)) {}
  Field(absl::string_view key, std::string_view value)
      : Field(key, absl::string_view(value.data(), value.size())) {}
  Field(absl::string_view key, bool value) : key_(key), kind_(kBool), int_(value ? 1 : 0) {}
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Field(absl::string_view key, T value) : key_(key), kind_(kInt), int_(static_cast<int64_t>(value)) {}
  Field(absl::string_view key, double value) : key_(key), kind_(kDouble), double_(value) {}
  Field(absl::string_view key, const absl::Status& status)
      : key_(key), kind_(kString), owned_(status.ToString()), str_(owned_) {}

  // Appends `"key":value` to `out`.
  void AppendTo(std::string& out) const;

 private:
  enum Kind { kString, kBool, kInt, kDouble };
  absl::string_view key_;
  Kind kind_;
  std::string owned_;
  absl::string_view str_;
  int64_t int_ = 0;
  double double_ = 0;
};

using Fields = std::initializer_list<Field>;

// Sets the lowest level that is written (default kInfo).
void SetLevel(Level level);
bool Enabled(Level level);
// Parses "debug", "info", "warn" or "error".
bool ParseLevel(absl::string_view text, Level* level);

// Replaces where finished lines go (default: stderr). Pass nullptr to reset.
using Sink = std::function<void(absl::string_view line)>;
void SetSink(Sink sink);

void Write(Level level, absl::string_view msg, Fields fields);
inline void Debug(absl::string_view msg, Fields fields = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, msg, fields);
}
inline void Info(absl::string_view msg, Fields fields = {}) { Write(Level::kInfo, msg, fields); }
inline void Warn(absl::string_view msg, Fields fields = {}) { Write(Level::kWarn, msg, fields); }
inline void Error(absl::string_view msg, Fields fields = {}) { Write(Level::kError, msg, fields); }

// Appends `text` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string& out, absl::string_view text);

}  // namespace herd::log

#endif  // HERD_COMMON_LOG_LOG_H_
