// tests/support/temp_dir.h: a scratch folder under /tmp, removed with everything in it at scope
// exit, and whole-file reads and writes for the tests that put files in it.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"

namespace loom::test {

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class TempDir {
 public:
  // /tmp/loom_<tag>_XXXXXX: the tag tells a leftover folder's owner (a test killed mid-run).
  explicit TempDir(const std::string& tag = "test") {
    std::string name = "/tmp/loom_" + tag + "_XXXXXX";
    const char* made = mkdtemp(name.data());
    LOOM_CHECK(made != nullptr, "TempDir: mkdtemp failed for ", name);
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `bytes` to the file `name` in this folder (replacing it) and returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    write_bytes(file(name), bytes);
    return file(name);
  }

 private:
  std::string path_;
};

}  // namespace loom::test
