// tools/user_error.cc: the user's one-line error and the exit status (tools/user_error.h).
#include "tools/user_error.h"

#include <cctype>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/utf8.h"

namespace loom::tools {
namespace {

// Removes every " (at <file>:<line>)" that detail::throw_at appended (a message built from a
// caught message can carry several).
std::string strip_locations(const std::string& s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t at = s.find(" (at ", i);
    if (at == std::string::npos) break;
    const std::size_t close = s.find(')', at);
    bool location = close != std::string::npos;
    if (location) {
      // "<path>:<digits>": no spaces or parentheses in the path, digits after the last colon.
      const std::string_view inside(s.data() + at + 5, close - at - 5);
      const std::size_t colon = inside.rfind(':');
      location = colon != std::string_view::npos && colon > 0 && colon + 1 < inside.size() &&
                 inside.find_first_of(" ()") == std::string_view::npos;
      for (std::size_t k = colon + 1; location && k < inside.size(); ++k)
        location = std::isdigit(static_cast<unsigned char>(inside[k])) != 0;
    }
    out.append(s, i, at - i);
    if (location) {
      i = close + 1;
    } else {
      out.append(" (at ");
      i = at + 5;
    }
  }
  out.append(s, i, std::string::npos);
  return out;
}

void append_hex_byte(std::string& out, unsigned char b) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  out += buf;
}

// Escapes control characters (C0, DEL, C1) and invalid UTF-8 bytes. char_starts lists where each
// shown character starts (an escape counts as one character), which is what the shortening measures.
struct Escaped {
  std::string text;
  std::vector<std::size_t> char_starts;  // where each shown character starts in `text`
};

Escaped escape(std::string_view s) {
  Escaped e;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t start = i;
    const std::int32_t cp = data::next_code_point(s, i);
    e.char_starts.push_back(e.text.size());
    if (cp < 0) {
      append_hex_byte(e.text, static_cast<unsigned char>(s[start]));
    } else if (cp == '\n') {
      e.text += "\\n";
    } else if (cp == '\t') {
      e.text += "\\t";
    } else if (cp == '\r') {
      e.text += "\\r";
    } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
      append_hex_byte(e.text, static_cast<unsigned char>(cp));  // C0, DEL and C1 controls
    } else {
      e.text.append(s.substr(start, i - start));
    }
  }
  return e;
}

// A quoted value: opened by ' at the start or after a separator, closed by the first ' that is
// followed by the end or a separator (so the apostrophe in "don't" neither opens nor closes).
bool opens_quote(std::string_view s, std::size_t p) {
  return s[p] == '\'' && (p == 0 || std::string_view(" (:=,[/\"").find(s[p - 1]) != std::string_view::npos);
}
bool closes_quote(std::string_view s, std::size_t q) {
  return s[q] == '\'' && (q + 1 == s.size() || std::string_view(" ),:;.]!?\"").find(s[q + 1]) != std::string_view::npos);
}

// The quoted value escaped, cut in the middle when it shows more than kMaxQuoted characters, with
// its length in bytes after the closing quote: 'aaaa...zzzz' (10485760 bytes).
std::string shown_value(std::string_view value) {
  const Escaped e = escape(value);
  const std::size_t n = e.char_starts.size();
  if (n <= kMaxQuoted) return "'" + e.text + "'";
  const std::size_t head = kMaxQuoted / 2, tail = kMaxQuoted / 4;
  return "'" + e.text.substr(0, e.char_starts[head]) + "..." + e.text.substr(e.char_starts[n - tail]) + "' (" +
         std::to_string(value.size()) + " bytes)";
}

}  // namespace

bool debug_errors_requested() {
  const char* v = std::getenv("LOOM_DEBUG");
  return v != nullptr && std::string_view(v) != "" && std::string_view(v) != "0";
}

std::string user_message(const std::string& what, bool debug) {
  const std::string text = debug ? what : strip_locations(what);
  const std::string_view s(text);
  std::string out;
  std::size_t i = 0, plain = 0;
  while (i < s.size()) {
    if (!opens_quote(s, i)) {
      ++i;
      continue;
    }
    std::size_t q = i + 1;
    while (q < s.size() && !closes_quote(s, q)) ++q;
    if (q >= s.size()) break;  // no closing quote: the rest is plain text
    out += escape(s.substr(plain, i - plain)).text;
    out += shown_value(s.substr(i + 1, q - i - 1));
    i = plain = q + 1;
  }
  out += escape(s.substr(plain)).text;
  return out;
}

int exit_status_for(const std::exception& e) {
  if (dynamic_cast<const DataError*>(&e)) return kExitData;
  if (dynamic_cast<const CheckpointError*>(&e)) return kExitCheckpoint;
  if (dynamic_cast<const NoDevice*>(&e) || dynamic_cast<const CudaError*>(&e) ||
      dynamic_cast<const CublasError*>(&e) || dynamic_cast<const CudnnError*>(&e) ||
      dynamic_cast<const NotCompiled*>(&e))
    return kExitDevice;
  if (dynamic_cast<const Error*>(&e)) return kExitError;
  return kExitInternal;
}

}  // namespace loom::tools
