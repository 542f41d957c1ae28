// tests/data/test_ngrams.cc: fasttext's hashed n-grams (data/ngrams.h) checked by hand, their
// place in the batch (data::collate keeps the n-grams of the words it keeps), and --word-dropout's
// rate, padding and determinism (data::word_dropout).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/batching.h"
#include "data/ngrams.h"

using namespace loom;

TEST_CASE("ngrams: FNV-1a 64 matches the published constants") {
  CHECK(data::fnv1a64("") == 14695981039346656037ULL);  // the offset basis
  CHECK(data::fnv1a64("a") == 0xaf63dc4c8601ec8cULL);   // the FNV reference value for "a"
}

TEST_CASE("ngrams: character n-grams of a short word, listed by hand") {
  // "<cat>": by length, then position.
  CHECK(data::char_ngrams("cat", 3, 4) == std::vector<std::string>{"<ca", "cat", "at>", "<cat", "cat>"});
  CHECK(data::char_ngrams("cat", 5, 6) == std::vector<std::string>{"<cat>"});
  CHECK(data::char_ngrams("cat", 7, 8).empty());
  // Code points, not bytes: "é" is two bytes but one character; the lone marks are skipped.
  CHECK(data::char_ngrams("\xc3\xa9", 1, 2) == std::vector<std::string>{"\xc3\xa9", "<\xc3\xa9", "\xc3\xa9>"});
}

TEST_CASE("ngrams: word n-grams and char n-grams hash into the buckets after the vocabulary") {
  data::NgramOptions o;
  o.word_ngrams = 3;
  o.buckets = 10;
  // Hand-computed with Python's FNV-1a: "good movie" % 10 = 4, "movie ever" % 10 = 9,
  // "good movie ever" % 10 = 0; ids are V + that, V = 100.
  const data::TweetNgrams g = data::tweet_ngrams({"good", "movie", "ever"}, o, 100);
  CHECK(g.ids == std::vector<std::int32_t>{104, 109, 100});
  CHECK(g.ends == std::vector<std::int32_t>{0, 1, 3});

  data::NgramOptions c;
  c.char_min = 3;
  c.char_max = 4;
  c.buckets = 7;
  // "<ca" 4, "cat" 2, "at>" 5, "<cat" 5, "cat>" 4 (mod 7), V = 20.
  const data::TweetNgrams h = data::tweet_ngrams({"cat"}, c, 20);
  CHECK(h.ids == std::vector<std::int32_t>{24, 22, 25, 25, 24});
  CHECK(h.ends == std::vector<std::int32_t>{5});

  // Nothing hashed: no ids at all.
  CHECK(data::tweet_ngrams({"a", "b"}, data::NgramOptions{}, 20).ids.empty());
}

TEST_CASE("ngrams: every id lands in the bucket rows V to V + buckets - 1 and OOV words still bring their pieces") {
  data::NgramOptions o;
  o.word_ngrams = 2;
  o.buckets = 13;
  o.char_min = 2;
  o.char_max = 5;
  const std::vector<std::string> tokens{"coooool", "stuff", "@someone", "#tag", "\xf0\x9f\x98\x80", "x"};
  const data::TweetNgrams g = data::tweet_ngrams(tokens, o, 1000);
  REQUIRE(g.ends.size() == tokens.size());
  CHECK(g.ends.back() == static_cast<std::int32_t>(g.ids.size()));
  for (std::size_t i = 1; i < g.ends.size(); ++i) CHECK(g.ends[i] > g.ends[i - 1]);
  for (std::int32_t id : g.ids) CHECK((id >= 1000 && id < 1013));
  // "coooool" and "cool" share "<co" and "ol>": same buckets whatever their vocabulary ids.
  const auto a = data::tweet_ngrams({"coooool"}, o, 1000).ids, b = data::tweet_ngrams({"cool"}, o, 1000).ids;
  const std::int32_t co = 1000 + static_cast<std::int32_t>(data::fnv1a64("<co") % 13);
  CHECK(std::count(a.begin(), a.end(), co) >= 1);
  CHECK(std::count(b.begin(), b.end(), co) >= 1);
}

TEST_CASE("ngrams: bad options are one-line errors naming the flag") {
  data::NgramOptions o;
  o.word_ngrams = 0;
  CHECK_THROWS_WITH_AS(data::validate(o, 10), doctest::Contains("--word-ngrams"), Error);
  o.word_ngrams = 2;
  o.buckets = 0;
  CHECK_THROWS_WITH_AS(data::validate(o, 10), doctest::Contains("--buckets"), Error);
  o.buckets = 5;
  o.char_min = 4;
  o.char_max = 3;
  CHECK_THROWS_WITH_AS(data::validate(o, 10), doctest::Contains("--char-ngrams"), Error);
  o.char_min = o.char_max = 0;
  o.buckets = 2147483647LL;
  CHECK_THROWS_WITH_AS(data::validate(o, 10), doctest::Contains("2^31"), Error);
}

TEST_CASE("ngrams: collate puts a row's n-grams after its words and truncation keeps those of the kept words") {
  std::vector<data::EncodedExample> rows(2);
  rows[0].ids = {5, 6, 7};
  rows[0].ngrams = {20, 21, 22, 23};
  rows[0].ngram_ends = {1, 2, 4};  // word 0: {20}, word 1: {21}, word 2: {22, 23}
  rows[0].label = 1;
  rows[1].ids = {8};
  rows[1].ngrams = {30};
  rows[1].ngram_ends = {1};
  rows[1].label = 0;
  const data::Batch full = data::collate(rows, {0, 1}, 0, data::TaskKind::Binary, 2);
  CHECK(full.lengths.to_vector_i32() == std::vector<std::int32_t>{7, 2});
  // [T, B] time-major: column 0 = 5 6 7 20 21 22 23, column 1 = 8 30 then padding.
  CHECK(full.tokens.to_vector_i32() ==
        std::vector<std::int32_t>{5, 8, 6, 30, 7, 0, 20, 0, 21, 0, 22, 0, 23, 0});
  const data::Batch cut = data::collate(rows, {0}, 2, data::TaskKind::Binary, 2);  // --max-len 2
  CHECK(cut.tokens.to_vector_i32() == std::vector<std::int32_t>{5, 6, 20, 21});
}

TEST_CASE("ngrams: encode_examples adds the n-grams only when asked") {
  data::Dataset d;
  d.examples.resize(1);
  d.examples[0].label = 1;
  const std::vector<std::vector<std::string>> docs{{"good", "movie"}};
  const data::Vocab vocab = data::Vocab::build(docs, 100, 1);
  CHECK(data::encode_examples(d, docs, vocab)[0].ngrams.empty());
  data::NgramOptions o;
  o.word_ngrams = 2;
  o.buckets = 10;
  const auto rows = data::encode_examples(d, docs, vocab, o);
  const std::int32_t V = static_cast<std::int32_t>(vocab.size());
  CHECK(rows[0].ngrams == std::vector<std::int32_t>{V + 4});  // "good movie" % 10 = 4
  CHECK(rows[0].ngram_ends == std::vector<std::int32_t>{0, 1});
}

TEST_CASE("word dropout: its rate, untouched padding, determinism and p = 0") {
  const std::int64_t T = 50, B = 40;
  std::vector<std::int32_t> ids(static_cast<std::size_t>(T * B)), len(static_cast<std::size_t>(B));
  std::int64_t valid = 0;
  for (std::int64_t b = 0; b < B; ++b) {
    len[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(10 + b);  // 10 .. 49
    for (std::int64_t t = 0; t < T; ++t)
      ids[static_cast<std::size_t>(t * B + b)] = t < 10 + b ? static_cast<std::int32_t>(2 + (t + b) % 50) : 0;
    valid += 10 + b;
  }
  const Tensor tokens = Tensor::from_vector(ids, {T, B});
  const Tensor lengths = Tensor::from_vector(len, {B});
  Generator g1(7), g2(7);
  const std::vector<std::int32_t> a = data::word_dropout(tokens, lengths, 0.2, g1).to_vector_i32();
  CHECK(data::word_dropout(tokens, lengths, 0.2, g2).to_vector_i32() == a);  // same generator state, same mask
  CHECK(g1.offset() == g2.offset());
  CHECK(g1.offset() >= static_cast<std::uint64_t>(T * B));
  std::int64_t dropped = 0;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t) {
      const auto i = static_cast<std::size_t>(t * B + b);
      if (t >= len[static_cast<std::size_t>(b)]) {
        CHECK(a[i] == 0);  // padding stays padding
      } else if (a[i] != ids[i]) {
        CHECK(a[i] == data::Vocab::kUnk);
        ++dropped;
      }
    }
  // 1180 valid tokens at p = 0.2: mean 236, sd 13.7; +-5 sd.
  CHECK(valid == 1180);
  CHECK(dropped > 236 - 69);
  CHECK(dropped < 236 + 69);
  // The next batch draws fresh numbers: a different mask.
  CHECK(data::word_dropout(tokens, lengths, 0.2, g1).to_vector_i32() != a);
  // p = 0: the tokens as they are, nothing reserved.
  Generator g3(7);
  CHECK(data::word_dropout(tokens, lengths, 0.0, g3).to_vector_i32() == ids);
  CHECK(g3.offset() == 0);
  CHECK_THROWS_WITH_AS(data::word_dropout(tokens, lengths, 1.0, g3), doctest::Contains("--word-dropout"), Error);
}
