#ifndef GATEHOUSE_TESTS_STORAGE_TEMP_DIR_H_
#define GATEHOUSE_TESTS_STORAGE_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace gatehouse {
namespace storage_test {

// A fresh directory under testing::TempDir(), removed with everything in it
// when the object is destroyed. Each test gets its own, so tests never share
// a RocksDB.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::path(::testing::TempDir()) / "gatehouse-st-XXXXXX")
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
      return;
    }
    path_ = pattern;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // A path inside the directory (not created).
  std::string Sub(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

}  // namespace storage_test
}  // namespace gatehouse

#endif  // GATEHOUSE_TESTS_STORAGE_TEMP_DIR_H_
