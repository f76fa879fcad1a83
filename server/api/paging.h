// Pages of a listing herdd holds in memory (ListOperations), with the page
// token it hands out: the offset of the next page, in decimal.
//
//   herd::api::Page page = herd::api::PageOf(ops.size(), req.page_token(), req.page_size());
//   for (size_t i = page.begin; i < page.end; ++i) …
//   out->set_next_page_token(page.next_token);
#ifndef HERD_SERVER_API_PAGING_H_
#define HERD_SERVER_API_PAGING_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace herd::api {

inline constexpr int32_t kDefaultPageSize = 100;
inline constexpr int32_t kMaxPageSize = 1000;

struct Page {
  size_t begin = 0;  // first item of the page
  size_t end = 0;    // one past the last; begin <= end <= total
  std::string next_token;  // "" on the last page
};

// The page of `total` items that `token` and `page_size` ask for. A token
// that is not a non-negative decimal starts at the first item; one past the
// end gives an empty last page. `page_size` <= 0 means kDefaultPageSize, and
// it is capped at kMaxPageSize (callers refuse negative sizes first).
Page PageOf(size_t total, absl::string_view token, int32_t page_size);

}  // namespace herd::api

#endif  // HERD_SERVER_API_PAGING_H_
