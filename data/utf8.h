// data/utf8.h: the UTF-8 facts the CSV reader and the tokenizers share.
//
// Tweets are UTF-8 with emoji (4-byte sequences), combining marks and the occasional broken byte.
// The reader validates every field once (so a bad byte is reported with its file, line and field);
// the tokenizers then walk code points with next_code_point() and may assume valid input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loom::data {

// Decodes the code point that starts at s[i] and advances i past it. On an invalid sequence
// (a stray continuation byte, a truncated sequence, an overlong form, a surrogate, > U+10FFFF)
// returns -1 and advances i by one byte, so a caller can never loop forever.
inline std::int32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int extra = 0;
  std::int32_t cp = 0, min_cp = 0;
  if ((b0 & 0xE0) == 0xC0) { extra = 1; cp = b0 & 0x1F; min_cp = 0x80; }
  else if ((b0 & 0xF0) == 0xE0) { extra = 2; cp = b0 & 0x0F; min_cp = 0x800; }
  else if ((b0 & 0xF8) == 0xF0) { extra = 3; cp = b0 & 0x07; min_cp = 0x10000; }
  else { ++i; return -1; }
  if (i + extra >= s.size()) { ++i; return -1; }  // truncated at the end of the text
  for (int k = 1; k <= extra; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) { ++i; return -1; }
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and values past Unicode's range are not valid UTF-8.
  if (cp < min_cp || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) { ++i; return -1; }
  i += static_cast<std::size_t>(extra) + 1;
  return cp;
}

// The byte offset of the first invalid sequence, or npos when `s` is valid UTF-8.
inline std::size_t first_invalid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t at = i;
    if (next_code_point(s, i) < 0) return at;
  }
  return std::string_view::npos;
}

inline bool is_valid_utf8(std::string_view s) { return first_invalid_utf8(s) == std::string_view::npos; }

// Appends the UTF-8 encoding of a valid code point.
inline void append_utf8(std::string& out, std::int32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace loom::data
