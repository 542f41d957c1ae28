// data/tweet_prepare.cc: the rewrites NLTK's TweetTokenizer applies to a tweet before it looks for
// tokens (see data/tweet_scanner.h): HTML entities decoded, elongations shortened.
#include "data/tokenizer_html.h"
#include "data/tweet_scanner.h"

namespace loom::data {
namespace {

bool is_ascii_alnum(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// NLTK's two run rewrites in one pass (neither can create a new run, so one pass equals two):
// with reduce_len a run of 3+ identical characters other than '\n' keeps 3; then a run of 4+
// identical characters outside [A-Za-z0-9] keeps 3.
void cut_runs(std::u32string_view s, bool reduce_len, bool shorten, std::u32string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = i + 1;
    while (j < s.size() && s[j] == s[i]) ++j;
    std::size_t keep = j - i;
    if (reduce_len && s[i] != '\n' && keep >= 3) keep = 3;
    if (shorten && keep >= 4 && !is_ascii_alnum(s[i])) keep = 3;
    out.append(keep, s[i]);
    i = j;
  }
}

}  // namespace

std::u32string reduce_lengthening(std::u32string_view text) {
  std::u32string out;
  cut_runs(text, /*reduce_len=*/true, /*shorten=*/false, out);
  return out;
}

std::u32string shorten_runs(std::u32string_view text) {
  std::u32string out;
  cut_runs(text, /*reduce_len=*/false, /*shorten=*/true, out);
  return out;
}

std::u32string prepare_tweet(std::u32string_view text, bool reduce_len) {
  std::u32string out;
  if (text.find(U'&') == std::u32string_view::npos) {
    cut_runs(text, reduce_len, /*shorten=*/true, out);
  } else {
    cut_runs(unescape_html_entities(text), reduce_len, /*shorten=*/true, out);
  }
  return out;
}

}  // namespace loom::data
