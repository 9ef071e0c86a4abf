#include "util/status.h"

#include <gtest/gtest.h>

namespace concordfs {
namespace {

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().code(), 0);
  Status st = Status::NotFound("no 'x'");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ENOENT);
  EXPECT_EQ(st.message(), "no 'x'");
  EXPECT_EQ(st.ToString(), "ENOENT (No such file or directory): no 'x'");
  // Error(0) must not produce an OK status by accident.
  EXPECT_EQ(Status::Error(0).code(), EIO);
}

TEST(StatusTest, ErrnoNames) {
  EXPECT_EQ(ErrnoName(ENOTEMPTY), "ENOTEMPTY");
  EXPECT_EQ(ErrnoName(99999), "E99999");
}

Result<int> Half(int x) {
  if (x % 2) return Status::Invalid("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  CFS_ASSIGN_OR_RETURN(int h, Half(x));
  CFS_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ResultTest, ValueAndPropagation) {
  Result<int> r = Quarter(12);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  Result<int> bad = Quarter(6);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), EINVAL);
  EXPECT_EQ(bad.status().message(), "odd");
  // A Result built from an OK status is an error, never an empty value.
  Result<int> weird = Status::Ok();
  EXPECT_FALSE(weird.ok());
}

}  // namespace
}  // namespace concordfs
