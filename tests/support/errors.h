// tests/support/errors.h: checking that a call throws loom::ShapeError with a useful message.
//
// Architecture section 9: a shape error names the op and what was expected versus found. The
// check runs a callable, requires a loom::ShapeError (not just any exception), and requires every
// listed substring (op name, the shapes involved) in its what().
//
//   CHECK_SHAPE_ERROR([&] { ops::add(a, b); }, "add", "[2, 3]", "[3, 2]");
#pragma once

#include <doctest/doctest.h>

#include <exception>
#include <initializer_list>
#include <string>

#include "core/error.h"

namespace loom::test {

template <typename ErrorType, typename Fn>
void check_throws_naming(const char* file, int line, Fn&& fn, std::initializer_list<std::string> parts) {
  bool thrown = false;
  std::string message = "(nothing thrown)";
  try {
    fn();
  } catch (const ErrorType& e) {
    thrown = true;
    message = e.what();
  } catch (const std::exception& e) {
    message = std::string("a different exception was thrown: ") + e.what();
  }
  INFO("checked at ", std::string(file), ":", line);
  INFO("message: ", message);
  CHECK_MESSAGE(thrown, "expected the call to throw the specific loom error type");
  if (!thrown) return;
  for (const std::string& part : parts)
    CHECK_MESSAGE(message.find(part) != std::string::npos, "the message does not mention \"", part, "\"");
}

}  // namespace loom::test

#define CHECK_SHAPE_ERROR(callable, ...) \
  ::loom::test::check_throws_naming<::loom::ShapeError>(__FILE__, __LINE__, callable, {__VA_ARGS__})
