// Splits a byte stream of concatenated JSON objects (a watch body: one
// event per line, though nothing here relies on the newlines) into whole
// objects, however the bytes were chunked.
#ifndef HERD_SERVER_KUBE_INTERNAL_JSON_FRAMER_H_
#define HERD_SERVER_KUBE_INTERNAL_JSON_FRAMER_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herd::kube::internal {

// Not thread-safe; one reader.
class JsonFramer {
 public:
  void Append(absl::string_view data);
  // The next complete top-level object's text, nullopt when more bytes are
  // needed, DATA_LOSS when the stream is not a sequence of objects.
  absl::StatusOr<std::optional<std::string>> Next();
  // Whether bytes of an unfinished object are buffered.
  bool HasPartial() const;

 private:
  std::string buf_;
  size_t start_ = 0;  // first byte of the object being scanned
  size_t pos_ = 0;    // next byte to scan
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
};

}  // namespace herd::kube::internal

#endif  // HERD_SERVER_KUBE_INTERNAL_JSON_FRAMER_H_
