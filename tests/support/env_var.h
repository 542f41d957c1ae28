// tests/support/env_var.h: sets (or unsets) one environment variable for the life of an object and
// puts the old value back in its destructor, so a failing CHECK or an exception cannot leak the
// setting into the tests that run after it in the same process.
//
//   const EnvVar policy("OMP_WAIT_POLICY", std::nullopt);   // unset while `policy` lives
//   const EnvVar mem("LOOM_TEST_MEM_AVAILABLE", "300000000");
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace loom::test {

class EnvVar {
 public:
  EnvVar(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    set(std::move(value));
  }
  ~EnvVar() { set(old_); }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

  // A new value (or unset) while the object lives; the destructor still restores the original.
  void set(const std::optional<std::string>& value) {
    if (value) setenv(name_, value->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace loom::test
