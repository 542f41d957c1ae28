// data/tokenizer_unicode.cc: lookups over the generated Unicode tables (see tokenizer_unicode.h).
//
// ASCII, which is most of every tweet, is answered from small arrays; everything else by a binary
// search over sorted ranges (a few hundred entries, so ~10 comparisons).
#include "data/tokenizer_unicode.h"

#include "data/utf8.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace loom::data::unicode {
namespace {

struct CodeRange {
  char32_t lo, hi;
};
struct LowerRun {
  char32_t first, last;
  int stride, delta;
};

#include "data/tokenizer_unicode_tables.inc"

template <std::size_t N>
bool in_ranges(const CodeRange (&ranges)[N], char32_t c) {
  // The last range starting at or before c is the only one that can hold it.
  const CodeRange* end = ranges + N;
  const CodeRange* it = std::upper_bound(ranges, end, c, [](char32_t v, const CodeRange& r) { return v < r.lo; });
  return it != ranges && c <= (it - 1)->hi;
}

// Bit flags for the ASCII fast path, derived from the tables at compile time so the two can
// never disagree.
enum : std::uint8_t { kWord = 1, kDigit = 2, kSpace = 4, kPySpace = 8 };
template <std::size_t N>
constexpr bool in_ranges_linear(const CodeRange (&ranges)[N], char32_t c) {
  for (const CodeRange& r : ranges) {
    if (c >= r.lo && c <= r.hi) return true;
  }
  return false;
}
constexpr std::array<std::uint8_t, 128> make_ascii_flags() {
  std::array<std::uint8_t, 128> f{};
  for (char32_t c = 0; c < 128; ++c) {
    f[c] = static_cast<std::uint8_t>((in_ranges_linear(kWordRanges, c) ? kWord : 0) |
                                     (in_ranges_linear(kDigitRanges, c) ? kDigit : 0) |
                                     (in_ranges_linear(kSpaceRanges, c) ? kSpace : 0) |
                                     (in_ranges_linear(kPySpaceRanges, c) ? kPySpace : 0));
  }
  return f;
}
constexpr std::array<std::uint8_t, 128> kAsciiFlags = make_ascii_flags();

}  // namespace
bool is_cased(char32_t c);
bool is_case_ignorable(char32_t c);
namespace {

constexpr char32_t kCapitalSigma = 0x3A3, kSmallSigma = 0x3C3, kFinalSigma = 0x3C2;
constexpr char32_t kReplacement = 0xFFFD;


// CPython's rule: sigma is final when, skipping case-ignorable characters, a cased letter comes
// before it and no cased letter comes after it.
bool sigma_is_final(std::u32string_view s, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && is_case_ignorable(s[j - 1])) --j;
  if (j == 0 || !is_cased(s[j - 1])) return false;
  std::size_t k = i + 1;
  while (k < s.size() && is_case_ignorable(s[k])) ++k;
  return k == s.size() || !is_cased(s[k]);
}

}  // namespace

bool is_word(char32_t c) { return c < 128 ? (kAsciiFlags[c] & kWord) != 0 : in_ranges(kWordRanges, c); }
bool is_digit(char32_t c) { return c < 128 ? (kAsciiFlags[c] & kDigit) != 0 : in_ranges(kDigitRanges, c); }
bool is_space(char32_t c) { return c < 128 ? (kAsciiFlags[c] & kSpace) != 0 : in_ranges(kSpaceRanges, c); }
bool is_py_space(char32_t c) {
  return c < 128 ? (kAsciiFlags[c] & kPySpace) != 0 : in_ranges(kPySpaceRanges, c);
}

bool is_cased(char32_t c) { return in_ranges(kCasedRanges, c); }
bool is_case_ignorable(char32_t c) { return in_ranges(kCaseIgnorableRanges, c); }

int digit_value(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  const CodeRange* end = kDigitRanges + std::size(kDigitRanges);
  const CodeRange* it =
      std::upper_bound(kDigitRanges, end, c, [](char32_t v, const CodeRange& r) { return v < r.lo; });
  if (it == kDigitRanges || c > (it - 1)->hi) return -1;
  // Unicode keeps decimal digits in contiguous blocks 0..9 (the generator asserts the ranges are
  // whole blocks), so the value is the offset from the range start modulo ten.
  return static_cast<int>((c - (it - 1)->lo) % 10);
}

char32_t simple_lower(char32_t c) {
  if (c < 128) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c == 0x130) return 'i';
  const LowerRun* end = kLowerRuns + std::size(kLowerRuns);
  const LowerRun* it =
      std::upper_bound(kLowerRuns, end, c, [](char32_t v, const LowerRun& r) { return v < r.first; });
  if (it == kLowerRuns) return c;
  const LowerRun& run = *(it - 1);
  if (c > run.last || (c - run.first) % static_cast<char32_t>(run.stride) != 0) return c;
  return static_cast<char32_t>(static_cast<std::int64_t>(c) + run.delta);
}

std::u32string to_lower(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c < 128) {
      out += (c >= 'A' && c <= 'Z') ? c + 32 : c;
    } else if (c == 0x130) {
      out += U'i';  // the only one-to-many lowercase mapping without a locale
      out += char32_t{0x307};
    } else if (c == kCapitalSigma) {
      out += sigma_is_final(s, i) ? kFinalSigma : kSmallSigma;
    } else {
      out += simple_lower(c);
    }
  }
  return out;
}

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::int32_t cp = next_code_point(s, i);
    out += cp < 0 ? kReplacement : static_cast<char32_t>(cp);
  }
  return out;
}

void append_utf8(std::string& out, std::u32string_view s) {
  for (const char32_t c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      const bool encodable = c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
      loom::data::append_utf8(out, static_cast<std::int32_t>(encodable ? c : kReplacement));
    }
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  append_utf8(out, s);
  return out;
}

}  // namespace loom::data::unicode
