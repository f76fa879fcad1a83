#include "server/api/paging.h"

#include <string>

#include "gtest/gtest.h"

namespace herd::api {
namespace {

TEST(PageOfTest, WalksAListingPageByPage) {
  Page first = PageOf(5, "", 2);
  EXPECT_EQ(first.begin, 0u);
  EXPECT_EQ(first.end, 2u);
  EXPECT_EQ(first.next_token, "2");
  Page second = PageOf(5, first.next_token, 2);
  EXPECT_EQ(second.begin, 2u);
  EXPECT_EQ(second.end, 4u);
  EXPECT_EQ(second.next_token, "4");
  Page last = PageOf(5, second.next_token, 2);
  EXPECT_EQ(last.begin, 4u);
  EXPECT_EQ(last.end, 5u);
  EXPECT_EQ(last.next_token, "");
}

TEST(PageOfTest, DefaultsAndCapsThePageSize) {
  EXPECT_EQ(PageOf(5000, "", 0).end, static_cast<size_t>(kDefaultPageSize));
  EXPECT_EQ(PageOf(5000, "", 1'000'000).end, static_cast<size_t>(kMaxPageSize));
}

TEST(PageOfTest, StartsOverOnATokenThatIsNotAnOffset) {
  for (const char* token : {"x", "-1", "1.5", "0x10"}) {
    Page p = PageOf(5, token, 2);
    EXPECT_EQ(p.begin, 0u) << token;
    EXPECT_EQ(p.end, 2u) << token;
  }
}

// Found while writing the request fuzz target, which now pages with every
// ListOperationsRequest it makes: a page token near INT_MAX made
// offset + page_size overflow a signed int in ListOperations (undefined
// behaviour; in practice a negative next_page_token).
TEST(PageOfTest, TokenPastTheEndGivesAnEmptyLastPage) {
  for (const char* token : {"5", "2147483647", "2147483600", "18446744073709551615"}) {
    Page p = PageOf(5, token, 100);
    EXPECT_EQ(p.begin, 5u) << token;
    EXPECT_EQ(p.end, 5u) << token;
    EXPECT_EQ(p.next_token, "") << token;
  }
}

}  // namespace
}  // namespace herd::api
