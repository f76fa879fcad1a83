// The protobuf wire format, read value by value.
//
//   WireReader r(bytes);
//   while (!r.done()) {
//     uint64_t tag;
//     if (!r.ReadVarint(&tag)) return Malformed();
//     switch (tag & 7) { case kVarint: … case kLengthDelimited: r.ReadBytes(&view); … }
//   }
//
// Every read fails (returns false) rather than reading past the end, so
// truncated or hostile input is safe. Not thread-safe; cheap to copy.
#ifndef HERD_SIM_PROTOBUF_INTERNAL_WIRE_H_
#define HERD_SIM_PROTOBUF_INTERNAL_WIRE_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace herd::sim::protobuf_internal {

enum WireType : uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kFixed32 = 5,
};

class WireReader {
 public:
  explicit WireReader(absl::string_view data) : data_(data) {}

  bool done() const { return pos_ >= data_.size(); }

  bool ReadVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      auto b = static_cast<uint8_t>(data_[pos_++]);
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        *v = result;
        return true;
      }
    }
    return false;  // more than ten bytes
  }

  bool ReadFixed32(uint32_t* v) { return ReadLittleEndian(v); }
  bool ReadFixed64(uint64_t* v) { return ReadLittleEndian(v); }

  bool ReadBytes(absl::string_view* v) {
    uint64_t len;
    if (!ReadVarint(&len) || len > data_.size() - pos_) return false;
    *v = data_.substr(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return true;
  }

 private:
  template <typename U>
  bool ReadLittleEndian(U* v) {
    if (data_.size() - pos_ < sizeof(U)) return false;
    U result = 0;
    for (size_t i = 0; i < sizeof(U); ++i) {
      result |= static_cast<U>(static_cast<U>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i));
    }
    pos_ += sizeof(U);
    *v = result;
    return true;
  }

  absl::string_view data_;
  size_t pos_ = 0;
};

}  // namespace herd::sim::protobuf_internal

#endif  // HERD_SIM_PROTOBUF_INTERNAL_WIRE_H_
