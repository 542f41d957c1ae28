// tests/io/test_atomic_file.cc: write_file_atomic replaces a file whole or leaves it untouched.
//
// The failure cases are real ones, not mocks: a missing folder, a rename onto a folder, a write
// that hits the file-size limit (RLIMIT_FSIZE, in a forked child so the test process keeps its
// limits), and a process killed in the middle of writing (SIGXFSZ's default action).
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "tests/support/temp_dir.h"

using namespace loom;
using loom::test::read_bytes;
using loom::test::TempDir;

namespace {

std::size_t count_entries(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// Runs `child` in a forked process whose files may not grow past `limit` bytes; returns the
// wait status. The child never returns into doctest.
template <typename Fn>
int run_with_file_size_limit(rlim_t limit, bool ignore_sigxfsz, Fn&& child) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    rlimit fsize{limit, limit};
    setrlimit(RLIMIT_FSIZE, &fsize);
    std::signal(SIGXFSZ, ignore_sigxfsz ? SIG_IGN : SIG_DFL);
    int code = 0;
    try {
      code = child();
    } catch (...) {
      code = 99;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST_CASE("atomic_file: creates a file and replaces an existing one whole") {
  TempDir dir;
  const std::string path = dir.file("model.bin");
  io::write_file_atomic(path, "first version, a bit longer");
  CHECK(read_bytes(path) == "first version, a bit longer");
  io::write_file_atomic(path, "second");  // shorter: no tail of the old bytes may survive
  CHECK(read_bytes(path) == "second");
  io::write_file_atomic(path, std::string());
  CHECK(read_bytes(path).empty());
  CHECK(std::filesystem::exists(path));
  const std::string binary("\0\x01\xff\n\r", 5);
  io::write_file_atomic(path, binary);
  CHECK(read_bytes(path) == binary);
  CHECK(count_entries(dir.path()) == 1);  // no temporary left behind
  CHECK(io::atomic_temp_path(path) == path + ".tmp." + std::to_string(getpid()));
}

TEST_CASE("atomic_file: a missing folder is an Error naming the path and the reason") {
  TempDir dir;
  const std::string path = dir.file("no_such_folder/model.bin");
  bool thrown = false;
  try {
    io::write_file_atomic(path, "x");
  } catch (const Error& e) {
    thrown = true;
    const std::string msg = e.what();
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.find("No such file or directory") != std::string::npos);
  }
  CHECK(thrown);
  CHECK(count_entries(dir.path()) == 0);
}

TEST_CASE("atomic_file: a failed rename removes the temporary and keeps the target") {
  TempDir dir;
  const std::string path = dir.file("target");
  std::filesystem::create_directory(path);  // rename(file, non-empty directory) fails
  test::write_bytes(path + "/keep", "kept");
  CHECK_THROWS_AS(io::write_file_atomic(path, "new bytes"), Error);
  CHECK(std::filesystem::is_directory(path));
  CHECK(read_bytes(path + "/keep") == "kept");
  CHECK_FALSE(std::filesystem::exists(io::atomic_temp_path(path)));
  CHECK(count_entries(dir.path()) == 1);
}

TEST_CASE("atomic_file: a write that fails half way keeps the old file and cleans up") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  const std::string old_bytes(3000, 'o');
  io::write_file_atomic(path, old_bytes);
  // The child may write 1000 bytes per file; 100 kB hits EFBIG after the first 1000.
  const int status = run_with_file_size_limit(1000, /*ignore_sigxfsz=*/true, [&] {
    try {
      io::write_file_atomic(path, std::string(100000, 'n'));
    } catch (const Error& e) {
      const std::string msg = e.what();
      return msg.find(path) != std::string::npos && msg.find("File too large") != std::string::npos ? 0 : 2;
    }
    return 1;  // nothing thrown
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 1: no error, 2: the message lacked the path or the reason
  CHECK(read_bytes(path) == old_bytes);
  CHECK(count_entries(dir.path()) == 1);
}

TEST_CASE("atomic_file: a process killed mid-write never truncates the target") {
  TempDir dir;
  const std::string path = dir.file("best.safetensors");
  const std::string old_bytes(5000, 'o');
  io::write_file_atomic(path, old_bytes);
  const int status = run_with_file_size_limit(2048, /*ignore_sigxfsz=*/false, [&] {
    io::write_file_atomic(path, std::string(1 << 20, 'n'));
    return 0;
  });
  // The kernel killed the child with SIGXFSZ in the middle of write(): the crash we guard against.
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGXFSZ);
  CHECK(read_bytes(path) == old_bytes);
  // What the crash leaves is a partial temporary beside it, never a partial PATH.
  std::size_t partial_temporaries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("best.safetensors.tmp.", 0) == 0) {
      ++partial_temporaries;
      CHECK(std::filesystem::file_size(e.path()) == 2048);
    }
  }
  CHECK(partial_temporaries == 1);
}
