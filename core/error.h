// core/error.h: the error hierarchy and the check macros.
//
// The library throws; only tools/ catch, print one line and exit non-zero. Every message names
// where it came from (op or file) and what was expected versus what was found, plus file:line.
// LOOM_CHECK is never compiled out: host-side checks are cheap next to a kernel launch.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace loom {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ShapeError : public Error { using Error::Error; };       // wrong shape, dtype or device
class NotCompiled : public Error { using Error::Error; };      // backend absent from this build
class NoDevice : public Error { using Error::Error; };         // CUDA compiled, but no usable GPU
class CudaError : public Error { using Error::Error; };
class CublasError : public Error { using Error::Error; };
class CudnnError : public Error { using Error::Error; };
class DataError : public Error { using Error::Error; };        // bad input files
class CheckpointError : public Error { using Error::Error; };  // bad or truncated model files

namespace detail {

// Builds "msg (at file:line)" from any streamable pieces.
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

template <typename E, typename... Parts>
[[noreturn]] void throw_at(const char* file, int line, const Parts&... parts) {
  throw E(concat(parts..., " (at ", file, ":", line, ")"));
}

}  // namespace detail
}  // namespace loom

// LOOM_CHECK(cond, "op: what was expected", ...): throws loom::Error.
#define LOOM_CHECK(cond, ...)                                                         \
  do {                                                                                \
    if (!(cond)) ::loom::detail::throw_at<::loom::Error>(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

// LOOM_CHECK_SHAPE(cond, ...): the same, but throws loom::ShapeError.
#define LOOM_CHECK_SHAPE(cond, ...)                                                        \
  do {                                                                                     \
    if (!(cond)) ::loom::detail::throw_at<::loom::ShapeError>(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define LOOM_THROW(ErrorType, ...) ::loom::detail::throw_at<ErrorType>(__FILE__, __LINE__, __VA_ARGS__)

// ---- CUDA, cuBLAS and cuDNN checks --------------------------------------------------------------
// The macros stay plain C++ so this header compiles without the CUDA toolkit: the status codes are
// passed as ints to functions defined in core/cuda_errors.cc and core/cudnn_support.cc, which are
// only built (and only called) when CUDA / cuDNN are compiled in (core/cudnn_none.cc stands in for
// the cuDNN one otherwise).
namespace loom::detail {
void check_cuda(int status, const char* expr, const char* file, int line);
void check_cuda_launch(const char* file, int line);  // cudaGetLastError; syncs if LOOM_SYNC_CHECK=1
void warn_cuda(int status, const char* expr, const char* file, int line) noexcept;
void check_cublas(int status, const char* expr, const char* file, int line);
void check_cudnn(int status, const char* expr, const char* file, int line);
}  // namespace loom::detail

#define LOOM_CUDA_CHECK(expr) ::loom::detail::check_cuda(static_cast<int>(expr), #expr, __FILE__, __LINE__)
#define LOOM_CUDA_CHECK_LAUNCH() ::loom::detail::check_cuda_launch(__FILE__, __LINE__)
#define LOOM_CUDA_WARN(expr) ::loom::detail::warn_cuda(static_cast<int>(expr), #expr, __FILE__, __LINE__)
#define LOOM_CUBLAS_CHECK(expr) ::loom::detail::check_cublas(static_cast<int>(expr), #expr, __FILE__, __LINE__)
#define LOOM_CUDNN_CHECK(expr) ::loom::detail::check_cudnn(static_cast<int>(expr), #expr, __FILE__, __LINE__)
