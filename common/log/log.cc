#include "common/log/log.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace herd::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

struct SinkHolder {
  std::mutex mu;
  Sink sink;
};

SinkHolder& Holder() {
  static auto* holder = new SinkHolder;  // never destroyed: logging may run at exit
  return *holder;
}

constexpr absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void Field::AppendTo(std::string& out) const {
  AppendJsonString(out, key_);
  out.push_back(':');
  switch (kind_) {
    case kString: AppendJsonString(out, str_); break;
    case kBool: out += int_ ? "true" : "false"; break;
    case kInt: out += std::to_string(int_); break;
    case kDouble:
      if (std::isfinite(double_)) {
        out += absl::StrFormat("%.6g", double_);
      } else {
        out += "null";
      }
      break;
  }
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

bool ParseLevel(absl::string_view text, Level* level) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

void SetSink(Sink sink) {
  SinkHolder& h = Holder();
  std::lock_guard<std::mutex> lock(h.mu);
  h.sink = std::move(sink);
}

void Write(Level level, absl::string_view msg, Fields fields) {
  if (!Enabled(level)) return;
  std::string line;
  line.reserve(128);
  line += "{\"ts\":\"";
  line += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line += "\",\"level\":\"";
  line.append(LevelName(level).data(), LevelName(level).size());
  line += "\",\"msg\":";
  AppendJsonString(line, msg);
  for (const Field& f : fields) {
    line.push_back(',');
    f.AppendTo(line);
  }
  line += "}\n";
  SinkHolder& h = Holder();
  std::lock_guard<std::mutex> lock(h.mu);
  if (h.sink) {
    h.sink(line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

}  // namespace herd::log
