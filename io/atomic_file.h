// io/atomic_file.h: replace a file's contents all at once, or not at all.
//
// Checkpoints, model files and metric logs are rewritten while a run may be killed at any moment
// (Ctrl-C, an out-of-memory kill, a power cut). Writing PATH in place would leave a truncated file
// that a later --resume or `eval` reads; instead the bytes go to a temporary file in the same
// folder (so the rename cannot cross file systems), are flushed to disk with fsync, and the
// temporary is renamed over PATH, which POSIX makes atomic: a reader sees the old file or the new
// one, never a mix. A crash can leave a stray PATH.tmp.<pid> behind, never a damaged PATH.
#pragma once

#include <string>

namespace loom::io {

// Writes `bytes` to PATH.tmp.<pid>, fsyncs it, renames it over PATH and fsyncs the folder (so the
// rename itself survives a power cut). On any failure the temporary is removed and loom::Error is
// thrown naming the path, the step that failed and the system's reason (strerror).
void write_file_atomic(const std::string& path, const std::string& bytes);

// The temporary name write_file_atomic uses for PATH in this process (for tests and cleanup).
std::string atomic_temp_path(const std::string& path);

}  // namespace loom::io
