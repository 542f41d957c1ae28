// tools/user_error.h: what a user reads when `loom` stops on an error, and the exit status.
//
// The library throws loom::Error subclasses whose messages end in " (at core/x.cc:27)" so that a
// developer can find the throw site. A user needs the sentence, not the source file, so the one
// catch in tools/loom.cc prints user_message(): one line, the source locations removed (kept when
// LOOM_DEBUG=1), control bytes and invalid UTF-8 escaped as \n, \t, \xNN (a binary file's bytes
// must not reach the terminal raw), and a quoted value longer than kMaxQuoted characters cut in
// the middle with its length given ('aaaa...zzzz' (10485760 bytes)), so a 10 MB CSV field gives
// a readable line.
//
// Exit statuses (documented in the README, "Errors and exit codes"):
//   0  success (also --help)
//   1  any other error (for example an option value that is only checked when the run starts)
//   2  usage: the command line did not parse (unknown flag, missing or malformed value)
//   3  data: an input file is missing, unreadable or malformed (loom::DataError)
//   4  checkpoint: a model folder or checkpoint is missing, truncated or inconsistent
//      (loom::CheckpointError)
//   5  device: no usable GPU, a CUDA / cuBLAS / cuDNN failure, or a backend this build lacks
//      (loom::NoDevice, CudaError, CublasError, CudnnError, NotCompiled)
//   70 internal: an exception that is not a loom::Error, i.e. a bug in loom (EX_SOFTWARE)
#pragma once

#include <cstddef>
#include <exception>
#include <string>

namespace loom::tools {

enum ExitStatus : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitData = 3,
  kExitCheckpoint = 4,
  kExitDevice = 5,
  kExitInternal = 70,
};

// A quoted value longer than this many characters is shortened.
constexpr std::size_t kMaxQuoted = 80;

// The exit status for an exception caught at the top of `loom` (the table above).
int exit_status_for(const std::exception& e);

// The one line printed after "loom: error: " (see the header comment). `debug` keeps the
// " (at file:line)" locations.
std::string user_message(const std::string& what, bool debug);

// LOOM_DEBUG is set to something other than "" or "0".
bool debug_errors_requested();

}  // namespace loom::tools
