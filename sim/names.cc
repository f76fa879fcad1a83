#include "sim/names.h"

#include <random>

#include "absl/strings/str_format.h"
#include "sim/json_text.h"

namespace herd::sim {
namespace {

constexpr absl::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";

std::mt19937_64& Rng() {
  static std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

}  // namespace

void SeedNames(uint64_t seed) { Rng().seed(seed); }

std::string RandomSuffix(int n) {
  std::uniform_int_distribution<size_t> d(0, kAlphabet.size() - 1);
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(kAlphabet[d(Rng())]);
  return out;
}

std::string RandomHex(int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uniform_int_distribution<int> d(0, 15);
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(kHex[d(Rng())]);
  return out;
}

std::string NewUid() {
  std::string h = RandomHex(32);
  h[12] = '4';
  h[16] = "89ab"[static_cast<unsigned char>(h[16]) % 4];
  return absl::StrFormat("%s-%s-%s-%s-%s", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4), h.substr(16, 4),
                         h.substr(20, 12));
}

std::string SafeEncode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out.push_back(kAlphabet[c % kAlphabet.size()]);
  return out;
}

std::string PodTemplateHash(const nlohmann::json& pod_template, int64_t collision_count) {
  std::string text = JsonText(pod_template);
  uint32_t h = 2166136261u;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 16777619u;
  };
  for (unsigned char c : text) mix(c);
  if (collision_count != 0) {
    // As upstream: the collision count is written into the hash as well.
    for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>((collision_count >> (8 * i)) & 0xff));
  }
  return SafeEncode(std::to_string(h));
}

}  // namespace herd::sim
