// data/tweet_scanner.h: a hand-written scanner that splits tweets exactly like NLTK 3.8's
// TweetTokenizer (nltk/tokenize/casual.py), without regular expressions.
//
// NLTK's tokenizer is one big regular expression: an ordered alternation of token classes,
// applied with findall. At each position the FIRST class that matches wins (not the longest), and
// within a class the regex engine's backtracking decides where the token ends. The scanner
// reproduces both: it tries the classes in NLTK's order, and each class's matcher is written to
// return exactly the end the backtracking engine would find (data/tweet_scanner.cc explains each
// one). Where no class matches (only at whitespace) the scanner moves one character on.
//
// Before scanning, NLTK rewrites the text (prepare_tweet):
//   1. HTML character references are decoded ("&amp;" -> "&", "&lt;3" -> "<3"; data/tokenizer_html.h);
//   2. with reduce_len, every run of 3+ identical characters (other than '\n') becomes 3 ("soooo" -> "sooo");
//   3. always, every run of 4+ identical characters other than ASCII letters and digits becomes 3
//      ("!!!!!" -> "!!!"), which keeps the expensive patterns off long runs.
// After scanning, tokens are lowercased unless they contain an emoticon anywhere (":D" keeps its
// case, and so does "HTTP://T.CO/X", which contains ":/"): see contains_emoticon.
//
// Everything works on code points (std::u32string), so positions mean what they mean in Python.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace loom::data {

// The token classes, in the order NLTK tries them.
enum class TweetTokenClass {
  Url,            // https://t.co/x, www.example.com/a, example.com
  Phone,          // 555-123-4567, +1 (555) 123-4567
  Emoticon,       // :-) :D ;P D: <3 </3
  HtmlTag,        // <b>
  Arrow,          // -> <-- ---->
  Handle,         // @user_1
  Hashtag,        // #NLProc #nlp's (needs 2+ word characters after the #s)
  Email,          // a.b@example.com
  EmojiSequence,  // 👍🏽 (skin tone), 👩‍👩‍👧 (joined with ZWJ)
  Flag,           // 🇺🇸 (two regional indicators) and the England/Scotland/Wales tag flags
  Compound,       // words with apostrophes, dashes or underscores inside: don't, well-known
  Number,         // 3.14 1/2 -12:30 1,000+
  Word,           // any other run of word characters (letters, digits, marks, '_')
  Ellipsis,       // ... or . . .
  Other,          // any single non-space character
};
const char* to_string(TweetTokenClass kind);

struct TweetSpan {
  std::size_t begin = 0, end = 0;  // code point offsets into the prepared text
  TweetTokenClass kind = TweetTokenClass::Other;
};

// Steps 1-3 above (these three live in data/tweet_prepare.cc).
std::u32string prepare_tweet(std::u32string_view text, bool reduce_len);
// Runs of 3+ identical characters (not '\n') -> 3, as NLTK's reduce_lengthening.
std::u32string reduce_lengthening(std::u32string_view text);
// Runs of 4+ identical characters outside [A-Za-z0-9] -> 3, as NLTK's HANG_RE substitution.
std::u32string shorten_runs(std::u32string_view text);

// The tokens of a prepared text, appended to `out` in order.
void scan_tweet(std::u32string_view text, std::vector<TweetSpan>& out);

// True when an emoticon occurs anywhere in `token`: NLTK keeps such tokens' case.
bool contains_emoticon(std::u32string_view token);

}  // namespace loom::data
