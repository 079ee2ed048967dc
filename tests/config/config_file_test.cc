#include "service/config/config_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace gatehouse {
namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  ConfigFileTest() : path_(dir_.Sub("policies.yaml")) {}
  void Write(const std::string& contents) {
    std::ofstream(path_, std::ios::trunc) << contents;
  }

  testing::TempDir dir_;
  const std::string path_;
};

TEST_F(ConfigFileTest, ReadsTheWholeFileUpToTheBound) {
  Write(std::string(100, 'x'));
  absl::StatusOr<std::string> text = ReadConfigFile(path_, 100, "policy file");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, std::string(100, 'x'));
}

TEST_F(ConfigFileTest, OneByteOverTheBoundIsRefusedNamingFileAndBound) {
  Write(std::string((1 << 20) + 1, 'x'));
  absl::StatusOr<std::string> text =
      ReadConfigFile(path_, 1 << 20, "credentials file");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(text.status().message(),
            path_ + ": credentials file is over 1 MiB");
}

TEST_F(ConfigFileTest, MissingFileIsNotFound) {
  absl::StatusOr<std::string> text = ReadConfigFile(path_, 10, "policy file");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(text.status().message(), path_ + ": cannot open policy file");
}

TEST_F(ConfigFileTest, SourceHandsOutEachVersionOnce) {
  Write("a: 1\n");
  ConfigSource source(path_, 100, "policy file");
  std::optional<absl::StatusOr<std::string>> first = source.ReadIfChanged();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(**first, "a: 1\n");
  EXPECT_FALSE(source.ReadIfChanged().has_value());

  Write("a: 2\n");
  std::optional<absl::StatusOr<std::string>> second = source.ReadIfChanged();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(**second, "a: 2\n");
  EXPECT_FALSE(source.ReadIfChanged().has_value());
}

TEST_F(ConfigFileTest, SourceReportsAReadErrorOnceAndTheFileWhenItReturns) {
  Write("a: 1\n");
  ConfigSource source(path_, 100, "policy file");
  ASSERT_TRUE(source.ReadIfChanged().has_value());

  Write(std::string(101, '#'));
  std::optional<absl::StatusOr<std::string>> too_big = source.ReadIfChanged();
  ASSERT_TRUE(too_big.has_value());
  EXPECT_EQ(too_big->status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(source.ReadIfChanged().has_value());

  // Back to the contents before the error: a change all the same.
  Write("a: 1\n");
  std::optional<absl::StatusOr<std::string>> back = source.ReadIfChanged();
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(**back, "a: 1\n");
}

}  // namespace
}  // namespace gatehouse
