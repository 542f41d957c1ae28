// train/json_integer.h: an integer field of trainer_state.json, read strictly.
//
// nlohmann's get<T>() reads 1.5 as 1 and 2^32 + 1 as 1 into an int without a word, and converting
// a float beyond T's range is undefined behaviour (both found by fuzzing trainer_state.json). A
// saved counter is an integer JSON number in [lo, the largest T]; anything else is a
// CheckpointError that names the field.
#pragma once

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace loom::train {

template <class T>
T json_integer(const nlohmann::json& v, const char* name, T lo = 0) {
  constexpr T hi = std::numeric_limits<T>::max();
  bool ok = v.is_number_integer();
  if (ok && v.is_number_unsigned()) {
    const std::uint64_t x = v.get<std::uint64_t>();
    ok = x <= static_cast<std::uint64_t>(hi) && (lo <= 0 || x >= static_cast<std::uint64_t>(lo));
  } else if (ok) {
    const std::int64_t x = v.get<std::int64_t>();
    ok = x >= static_cast<std::int64_t>(lo) && x <= static_cast<std::int64_t>(hi);
  }
  if (!ok) LOOM_THROW(CheckpointError, "\"", name, "\" must be an integer in [", lo, ", ", hi, "], found ", v.dump());
  return v.get<T>();
}

}  // namespace loom::train
