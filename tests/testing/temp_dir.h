#ifndef GATEHOUSE_TESTS_TESTING_TEMP_DIR_H_
#define GATEHOUSE_TESTS_TESTING_TEMP_DIR_H_

#include <string>

namespace gatehouse::testing {

// A fresh scratch directory under the system temporary directory ($TMPDIR,
// else /tmp), removed with everything in it on destruction. Each test makes
// its own, so tests never share a data directory. Aborts if none can be
// made. Not copyable; const methods are safe to call from any thread.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name; nothing is created.
  std::string Sub(const std::string& name) const;
  // Writes `contents` to path()/name (replacing it) and returns the full
  // path.
  std::string WriteFile(const std::string& name,
                        const std::string& contents) const;

 private:
  std::string path_;
};

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_TEMP_DIR_H_
