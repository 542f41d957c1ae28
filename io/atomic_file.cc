// io/atomic_file.cc: temp file + fsync + rename (see atomic_file.h for why).
#include "io/atomic_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace loom::io {
namespace {

std::string reason(int err) { return std::strerror(err); }

// The folder holding PATH ("." when PATH has no slash), for the directory fsync.
std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Removes the temporary unless it has been renamed away; runs on every exit path, including a
// throw, so a failed write leaves nothing behind.
struct TempGuard {
  std::string path;
  int fd = -1;
  bool armed = true;
  ~TempGuard() {
    if (fd >= 0) ::close(fd);
    if (armed) ::unlink(path.c_str());
  }
};

// Fault injection for tools/fault_test.sh, never set in normal use: LOOM_TEST_SLOW_WRITES_MS=N
// pauses N ms after the first half of every file's bytes, so that a kill -9 at a random moment
// lands inside a checkpoint write often enough to test what such a kill leaves behind.
int slow_write_ms() {
  static const int ms = [] {
    const char* v = std::getenv("LOOM_TEST_SLOW_WRITES_MS");
    return v ? std::max(0, std::atoi(v)) : 0;
  }();
  return ms;
}

}  // namespace

std::string atomic_temp_path(const std::string& path) {
  return path + ".tmp." + std::to_string(static_cast<long>(::getpid()));
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  if (path.empty()) LOOM_THROW(Error, "write_file_atomic: empty path");
  TempGuard tmp{atomic_temp_path(path)};
  // O_EXCL is not used: a stale temporary from a crashed process with a recycled pid is ours to
  // overwrite. O_TRUNC makes sure no old bytes survive past the new end.
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (tmp.fd < 0) {
    const int err = errno;
    tmp.armed = false;  // nothing was created
    LOOM_THROW(Error, path, ": cannot create the temporary file ", tmp.path, ": ", reason(err));
  }
  // Every byte, retrying short writes; with LOOM_TEST_SLOW_WRITES_MS in two halves with a pause
  // between them (see slow_write_ms).
  const auto write_range = [&](std::size_t from, std::size_t to) {
    while (from < to) {
      const ssize_t n = ::write(tmp.fd, bytes.data() + from, to - from);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        LOOM_THROW(Error, path, ": writing ", bytes.size(), " bytes failed: ", reason(err));
      }
      from += static_cast<std::size_t>(n);
    }
  };
  const std::size_t half = slow_write_ms() > 0 ? bytes.size() / 2 : bytes.size();
  write_range(0, half);
  if (half < bytes.size()) ::usleep(static_cast<useconds_t>(slow_write_ms()) * 1000);
  write_range(half, bytes.size());
  // Without fsync the rename can reach the disk before the data: after a power cut PATH would
  // exist with zero length, exactly what this function promises never to produce.
  if (::fsync(tmp.fd) != 0) {
    const int err = errno;
    LOOM_THROW(Error, path, ": fsync failed: ", reason(err));
  }
  const int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) {  // NFS reports deferred write errors here
    const int err = errno;
    LOOM_THROW(Error, path, ": closing the temporary file failed: ", reason(err));
  }
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) {
    const int err = errno;
    LOOM_THROW(Error, path, ": cannot rename ", tmp.path, " over it: ", reason(err));
  }
  tmp.armed = false;
  // Persist the directory entry. Failure here is not reported: the new file is already in place
  // and readable, and some file systems do not allow opening or syncing directories.
  const int dir = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace loom::io
