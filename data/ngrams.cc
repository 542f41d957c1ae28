// data/ngrams.cc: hashed word and character n-grams for --arch fasttext (see data/ngrams.h).
#include "data/ngrams.h"

#include <limits>

#include "core/error.h"

namespace loom::data {

void validate(const NgramOptions& o, std::int64_t vocab_size) {
  LOOM_CHECK(o.word_ngrams >= 1 && o.word_ngrams <= 5, "--word-ngrams must be in [1, 5], got ", o.word_ngrams);
  LOOM_CHECK((o.char_min == 0 && o.char_max == 0) || (o.char_min >= 1 && o.char_min <= o.char_max && o.char_max <= 10),
             "--char-ngrams must be min,max with 1 <= min <= max <= 10, got ", o.char_min, ",", o.char_max);
  LOOM_CHECK(o.buckets >= 0, "--buckets must be >= 0, got ", o.buckets);
  if (o.word_ngrams > 1 || o.char_max > 0)
    LOOM_CHECK(o.buckets >= 1, "--buckets must be >= 1 when word or character n-grams are hashed, got ", o.buckets);
  // Ids are I32 tokens: the vocabulary and the buckets must fit below 2^31 together.
  LOOM_CHECK(vocab_size + o.buckets <= std::numeric_limits<std::int32_t>::max(), "--buckets ", o.buckets,
             " plus the vocabulary's ", vocab_size, " rows exceed 2^31 - 1 token ids");
}

std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::vector<std::string> char_ngrams(const std::string& word, std::int64_t min_n, std::int64_t max_n) {
  const std::string marked = "<" + word + ">";
  // Byte offset of each code point's first byte (UTF-8 continuation bytes are 10xxxxxx), plus the end.
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < marked.size(); ++i)
    if ((static_cast<unsigned char>(marked[i]) & 0xC0) != 0x80) starts.push_back(i);
  const auto chars = static_cast<std::int64_t>(starts.size());
  starts.push_back(marked.size());
  std::vector<std::string> out;
  for (std::int64_t n = min_n; n <= max_n; ++n)
    for (std::int64_t i = 0; i + n <= chars; ++i) {
      if (n == 1 && (i == 0 || i == chars - 1)) continue;  // the lone boundary marks say nothing
      const std::size_t a = starts[static_cast<std::size_t>(i)], b = starts[static_cast<std::size_t>(i + n)];
      out.push_back(marked.substr(a, b - a));
    }
  return out;
}

TweetNgrams tweet_ngrams(const std::vector<std::string>& tokens, const NgramOptions& o, std::int64_t vocab_size) {
  TweetNgrams out;
  if (!o.enabled()) return out;
  const auto buckets = static_cast<std::uint64_t>(o.buckets);
  auto bucket = [&](std::string_view key) {
    return static_cast<std::int32_t>(vocab_size + static_cast<std::int64_t>(fnv1a64(key) % buckets));
  };
  out.ends.reserve(tokens.size());
  std::string key;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (o.char_max > 0)
      for (const std::string& g : char_ngrams(tokens[i], o.char_min, o.char_max)) out.ids.push_back(bucket(g));
    // Word n-grams ending at word i: "w[i-n+1] ... w[i]" for n = 2 .. word_ngrams.
    for (std::int64_t n = 2; n <= o.word_ngrams && static_cast<std::int64_t>(i) + 1 >= n; ++n) {
      key = tokens[i - static_cast<std::size_t>(n) + 1];
      for (std::size_t j = i - static_cast<std::size_t>(n) + 2; j <= i; ++j) key += " " + tokens[j];
      out.ids.push_back(bucket(key));
    }
    out.ends.push_back(static_cast<std::int32_t>(out.ids.size()));
  }
  return out;
}

}  // namespace loom::data
