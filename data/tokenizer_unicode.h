// data/tokenizer_unicode.h: the character facts the tokenizers need, as Python sees them.
//
// Parity with NLTK's TweetTokenizer (data/tweet_scanner.h) depends on classifying characters
// exactly as Python's `regex` module does for \w, \d and \s, and on lowercasing exactly as
// Python's str.lower() does. Those facts come from the Unicode Character Database; the tables in
// data/tokenizer_unicode_tables.inc are generated from this system's Python by
// tests/peers/nltk_tokenize.py --emit-cxx, and a test re-derives them live and compares.
//
// Lowercasing covers ALL of Unicode that str.lower() changes (not only Latin, Greek and Cyrillic):
// the one-to-one mappings, U+0130 (capital I with dot) -> "i" + U+0307, and Greek capital sigma
// -> final sigma at the end of a word (Unicode's Final_Sigma context, as CPython implements it).
// Locale-dependent rules (Turkish dotless i, Lithuanian) are not applied, as in Python.
//
// The tokenizers work on code points (std::u32string) so that an index means what it means in
// Python; UTF-8 is decoded once per text and tokens are encoded once at the end.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace loom::data::unicode {

bool is_word(char32_t c);      // regex \w: letters, marks, decimal digits, connector punctuation, ZWJ/ZWNJ
bool is_digit(char32_t c);     // regex \d: Unicode decimal digits (general category Nd)
int digit_value(char32_t c);   // 0..9 for a decimal digit, -1 otherwise
bool is_space(char32_t c);     // regex \s: Unicode White_Space (not U+001C..U+001F)
bool is_py_space(char32_t c);  // str.isspace(): what str.split() splits on (adds U+001C..U+001F)
// Unicode Cased and not Case_Ignorable: the letters that decide sigma's final form (and, for the
// GloVe normalization, what counts as an uppercase or lowercase letter).
bool is_cased(char32_t c);
bool is_case_ignorable(char32_t c);  // Unicode Case_Ignorable: skipped when looking for those letters

// Python's str.lower() of a whole string (the string matters only for the final-sigma context).
std::u32string to_lower(std::u32string_view s);
// The one-to-one part of the lowercase mapping (U+0130 maps to plain 'i' here).
char32_t simple_lower(char32_t c);

// UTF-8 <-> code points. Invalid bytes decode to U+FFFD (one per bad byte); lone surrogates
// (only an HTML entity like &#xD800; can produce one) encode as U+FFFD, as Python cannot write them.
std::u32string decode_utf8(std::string_view s);
void append_utf8(std::string& out, std::u32string_view s);
std::string encode_utf8(std::u32string_view s);

}  // namespace loom::data::unicode
