// data/tokenizer_html.h: HTML character references in tweets, decoded the way NLTK does it.
//
// Tweets from the Twitter API arrive HTML-escaped ("&amp;", "&lt;3", "&quot;"), and NLTK's
// TweetTokenizer decodes them before it looks for tokens, so "&lt;3" becomes the heart "<3". To
// tokenize like NLTK we decode with NLTK's exact rules (nltk/tokenize/casual.py,
// _replace_html_entities), which differ from a browser's:
//   - a reference is '&', an optional '#', an optional lowercase 'x', a body of characters other
//     than '&', ';' and whitespace, and a ';' (the ';' is required);
//   - '#' or 'x' makes it numeric: decimal, or hexadecimal after 'x' (so "&xA9;" is also U+00A9),
//     parsed like Python's int() (sign, underscores between digits, any Unicode decimal digits,
//     "0x" prefix in hex); 0x80..0x9F mean the Windows-1252 characters of those bytes;
//   - otherwise it is one of the 252 HTML 4 entity names (case-sensitive; "&apos;" is not one);
//   - anything that cannot be decoded (unknown name, bad number, out of range) is REMOVED.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <string>

namespace loom::data {

std::u32string unescape_html_entities(std::u32string_view text);

// The HTML 4 entity table (HTML 4.01 DTDs: Latin-1, symbols and special characters).
// Returns the code point for a name such as "amp", or -1.
std::int32_t html4_entity(std::string_view name);
std::size_t html4_entity_count();
std::string_view html4_entity_name(std::size_t i);  // i < html4_entity_count(), sorted by name

}  // namespace loom::data
