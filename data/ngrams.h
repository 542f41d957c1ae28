// data/ngrams.h: the hashed n-gram features of --arch fasttext (Joulin et al. 2016, "Bag of Tricks
// for Efficient Text Classification"; Bojanowski et al. 2017 for the character n-grams).
//
// A tweet's words keep their vocabulary ids [0, V). Next to them, each word brings
//   - its character n-grams: every run of n code points, min <= n <= max, of "<" + word + ">"
//     (the marks tell a prefix or suffix from the middle of a word; the lone marks "<" and ">" are
//     skipped), taken from the token STRING, so an out-of-vocabulary word (id <unk>) still brings
//     its pieces ("coooool" shares "<co", "ool>" with "cool");
//   - the word n-grams that END at it: words i-n+1 .. i joined by one space, 2 <= n <= word_ngrams
//     (strings too, so a bigram of two rare words is still a feature).
// Each n-gram string s becomes the id  V + fnv1a64(s) % buckets  (64-bit FNV-1a over its UTF-8
// bytes): all n-grams share the same `buckets` rows after the vocabulary's V rows of one embedding
// table, as fastText's input matrix does. A word n-gram's key holds a space, a character n-gram's
// never does (tokens hold no whitespace), so the two kinds do not meet except by hash collision.
//
// The ids are listed word by word (char n-grams of word i, then word n-grams ending at i), and
// `ends[i]` counts the ids of words 0..i, so truncating a tweet to its first L words (--max-len)
// keeps exactly the n-grams of those L words (data::collate does; data/batching.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom::data {

struct NgramOptions {
  std::int64_t word_ngrams = 1;  // longest word n-gram; 1: words only (nothing hashed)
  std::int64_t buckets = 0;      // hash rows shared by every n-gram
  std::int64_t char_min = 0;     // character n-gram lengths in code points; 0, 0: none
  std::int64_t char_max = 0;
  // Whether any n-gram is made (word n-grams or character n-grams, into buckets >= 1 rows).
  bool enabled() const { return buckets > 0 && (word_ngrams > 1 || char_max > 0); }
};

// loom::Error naming the field when out of range: word_ngrams in [1, 5]; char lengths both 0 or
// 1 <= min <= max <= 10; buckets >= 1 when anything is hashed; vocab_size + buckets < 2^31.
void validate(const NgramOptions& o, std::int64_t vocab_size);

// 64-bit FNV-1a (offset basis 14695981039346656037, prime 1099511628211) of the bytes.
std::uint64_t fnv1a64(std::string_view bytes);

// The character n-grams of one word, in order of length then position: "<" + word + ">" cut into
// every run of n code points (UTF-8), min <= n <= max, except the lone "<" and ">".
std::vector<std::string> char_ngrams(const std::string& word, std::int64_t min_n, std::int64_t max_n);

struct TweetNgrams {
  std::vector<std::int32_t> ids;   // in [V, V + buckets)
  std::vector<std::int32_t> ends;  // ends[i]: how many ids belong to words 0..i (one per word)
};

// The n-gram ids of one tokenized tweet (empty when !o.enabled()).
TweetNgrams tweet_ngrams(const std::vector<std::string>& tokens, const NgramOptions& o, std::int64_t vocab_size);

}  // namespace loom::data
