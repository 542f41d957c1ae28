// fuzz/fuzz_util.h: what every harness shares: a check that aborts (so libFuzzer keeps the input
// as a crash file), the rule for exceptions, the temp files for parsers that take a path, and a
// byte reader for the option bits at the start of an input.
//
// Each harness defines `int loom_fuzz_<name>(data, size)` and ends with LOOM_FUZZ_ENTRY, which
// makes it libFuzzer's entry point. tests/io/test_fuzz_regressions.cc defines LOOM_FUZZ_NO_MAIN and
// includes the harnesses, so every regression input meets the same checks in the normal test suite;
// there a violation throws fuzz::Violation (a doctest failure) instead of aborting.
//
// Exceptions: a parser may refuse an input only with a loom::Error (a subclass the harness names)
// whose message is not empty; any other exception type escaping a parser is a finding, because
// the command line would print it without the file's name (or not catch it at all).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <fstream>
#include <string>
#include <string_view>
#include <typeinfo>

#include "core/error.h"
#include "data/utf8.h"

namespace loom::fuzz {

// A failed check in a test build. run_expecting rethrows it untouched, so it is never mistaken
// for an exception escaping the parser.
struct Violation : std::logic_error {
  using std::logic_error::logic_error;
};

[[noreturn]] inline void fail(const std::string& what) {
#ifdef LOOM_FUZZ_NO_MAIN
  throw Violation(what);
#else
  std::fprintf(stderr, "\nINVARIANT VIOLATED: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
#endif
}

#ifdef LOOM_FUZZ_NO_MAIN
#define LOOM_FUZZ_ENTRY(fn)
#else
#define LOOM_FUZZ_ENTRY(fn) \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { return fn(data, size); }
#endif

#define FUZZ_CHECK(cond, what)                                                   \
  do {                                                                           \
    if (!(cond)) ::loom::fuzz::fail(std::string(#cond) + ": " + std::string(what)); \
  } while (0)

// Runs `body`; an exception must be an `Allowed` (a loom::Error subclass) with a message that
// names `name` (the path the parser was given), when `name` is not empty.
template <class Allowed, class Body>
bool run_expecting(Body&& body, const std::string& name = "") {
  try {
    body();
    return true;
  } catch (const Allowed& e) {
    const std::string msg = e.what();
    FUZZ_CHECK(!msg.empty(), "an error with an empty message");
    FUZZ_CHECK(name.empty() || msg.find(name) != std::string::npos,
               "the error does not name the file '" + name + "': " + msg);
    return false;
  } catch (const Violation&) {
    throw;  // a check inside the body failed (test builds only)
  } catch (const std::exception& e) {
    fail(std::string("unexpected exception ") + typeid(e).name() + " (allowed: " + typeid(Allowed).name() +
         "): " + e.what());
  } catch (...) {
    fail("a non-std exception escaped the parser");
  }
}

// A per-process scratch folder (under /dev/shm when present: no disk writes per execution).
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string d = std::string(base) + "/loom-fuzz-" + std::to_string(::getpid());
    std::string cmd = "mkdir -p '" + d + "'";
    if (std::system(cmd.c_str()) != 0) fail("cannot create " + d);
    return d;
  }();
  return dir;
}

// Writes `bytes` to scratch_dir()/name and returns the path.
inline std::string write_scratch(const std::string& name, std::string_view bytes) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) fail("cannot write " + path);
  return path;
}

// Takes option bits off the front of the input, so one harness covers every mode of a parser and
// the fuzzer learns which mode an input belongs to.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : p_(reinterpret_cast<const char*>(data)), n_(size) {}
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return static_cast<std::uint8_t>(*p_++);
  }
  std::string_view rest() const { return {p_, n_}; }

 private:
  const char* p_;
  std::size_t n_;
};

// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), written here
// independently of data/utf8.h so the harnesses check loom's validator instead of trusting it.
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int extra = 0;
    std::uint32_t cp = 0, min = 0;
    if (b < 0x80) { ++i; continue; }
    if (b >= 0xC2 && b <= 0xDF) extra = 1, cp = b & 0x1F, min = 0x80;
    else if (b >= 0xE0 && b <= 0xEF) extra = 2, cp = b & 0x0F, min = 0x800;
    else if (b >= 0xF0 && b <= 0xF4) extra = 3, cp = b & 0x07, min = 0x10000;
    else return false;
    if (s.size() - i <= static_cast<std::size_t>(extra)) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

}  // namespace loom::fuzz
