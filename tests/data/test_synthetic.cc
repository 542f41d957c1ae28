// tests/data/test_synthetic.cc: the synthetic corpus is deterministic, balanced, noisy at the
// documented rate, decorated like tweets, and its labels depend on word order.
//
// The last property is checked two ways: negation twins (one clause rendered plain and negated)
// always have opposite labels, and a bag-of-words classifier (multinomial naive Bayes on
// whitespace tokens) trained on 16,000 rows stays far below the labels' accuracy.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/synthetic.h"
#include "tests/support/temp_dir.h"
#include "tests/support/timing.h"

using namespace loom;
using loom::test::read_bytes;
using loom::test::TempDir;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(w);
  }
  return out;
}

}  // namespace

TEST_CASE("synthetic: the same seed gives identical bytes and another seed differs") {
  TempDir a, b, c;
  data::write_synthetic_corpus(a.path(), 2000, 7);
  data::write_synthetic_corpus(b.path(), 2000, 7);
  data::write_synthetic_corpus(c.path(), 2000, 8);
  for (const char* f : {"train.csv", "test.csv", "unlabeled.csv"}) {
    INFO(f);
    CHECK(read_bytes(a.file(f)) == read_bytes(b.file(f)));
    CHECK_FALSE(read_bytes(a.file(f)).empty());
  }
  CHECK(read_bytes(a.file("train.csv")) != read_bytes(c.file("train.csv")));
  CHECK(read_bytes(a.file("test.csv")) != read_bytes(c.file("test.csv")));
  // A row depends only on (seed, index), so a larger corpus starts with the same tweets.
  for (std::int64_t i = 0; i < 50; ++i) CHECK(data::synthetic_tweet(7, i).text == data::synthetic_tweet(7, i).text);
  CHECK(data::synthetic_tweet(7, 3).text != data::synthetic_tweet(8, 3).text);
}

TEST_CASE("synthetic: the files have the documented columns and the 80/20 split") {
  TempDir dir;
  data::write_synthetic_corpus(dir.path() + "/nested/corpus", 1001, 3);  // folders are created
  const std::string base = dir.path() + "/nested/corpus/";
  const auto train = lines_of(read_bytes(base + "train.csv"));
  const auto test = lines_of(read_bytes(base + "test.csv"));
  const auto unlabeled = lines_of(read_bytes(base + "unlabeled.csv"));
  REQUIRE(!train.empty());
  CHECK(train[0] == "id,label,text");
  CHECK(test[0] == "id,label,text");
  CHECK(unlabeled[0] == "id,text");
  CHECK(train.size() - 1 == 800);  // 80% of 1001, rounded down to even
  CHECK(test.size() - 1 == 201);
  CHECK(unlabeled.size() - 1 >= 10);
  // ids run on across the two files; every label is one of the two names; a text with a comma is
  // quoted (the texts never hold a line break, so one line is one record).
  CHECK(train[1].rfind("1,", 0) == 0);
  CHECK(test[1].rfind("801,", 0) == 0);
  std::size_t quoted = 0;
  for (std::size_t i = 1; i < train.size(); ++i) {
    const std::string& line = train[i];
    const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
    const std::string label = line.substr(c1 + 1, c2 - c1 - 1), text = line.substr(c2 + 1);
    CHECK((label == "negative" || label == "positive"));
    if (text.find(',') != std::string::npos) {
      CHECK(text.front() == '"');
      CHECK(text.back() == '"');
      ++quoted;
    }
  }
  CHECK(quoted > 0);
  CHECK_THROWS_AS(data::write_synthetic_corpus(dir.path(), 9, 1), DataError);
}

TEST_CASE("synthetic: classes are balanced and about 3 percent of labels are flipped") {
  const std::int64_t n = 20000;
  std::int64_t positive = 0, clean_positive = 0, flipped = 0;
  std::map<std::string, std::int64_t> kinds;
  for (std::int64_t i = 0; i < n; ++i) {
    const data::SyntheticTweet t = data::synthetic_tweet(42, i);
    positive += t.label;
    clean_positive += t.clean_label;
    flipped += t.label != t.clean_label;
    ++kinds[t.kind];
  }
  CHECK(clean_positive == n / 2);  // pairs of rows: exact before noise
  CHECK(std::fabs(static_cast<double>(positive) / n - 0.5) < 0.05);
  const double noise = static_cast<double>(flipped) / n;
  MESSAGE("label noise " << noise);
  CHECK(noise > 0.024);  // 3% +- 5 standard deviations at n = 20,000
  CHECK(noise < 0.036);
  // Every template kind is present in roughly its designed share (35/25/10/30%).
  CHECK(kinds.size() == 4);
  CHECK(std::fabs(static_cast<double>(kinds["plain"]) / n - 0.35) < 0.02);
  CHECK(std::fabs(static_cast<double>(kinds["negated"]) / n - 0.25) < 0.02);
  CHECK(std::fabs(static_cast<double>(kinds["double_negation"]) / n - 0.10) < 0.02);
  CHECK(std::fabs(static_cast<double>(kinds["contrast"]) / n - 0.30) < 0.02);
}

TEST_CASE("synthetic: a negated twin has the opposite label and differs only by the negation") {
  const auto& negators = data::synthetic_negators();
  auto is_negation = [&](const std::string& w) {
    return std::find(negators.begin(), negators.end(), w) != negators.end() || w == "do" || w == "at" || w == "all";
  };
  // Contractions carry the copula: "isn't" -> "is" before comparing the remaining words.
  auto strip = [&](const std::string& text) {
    std::vector<std::string> out;
    for (std::string w : words(text)) {
      // Punctuation sticks to the last word ("all!!"): compare the words alone.
      while (!w.empty() && std::string("!?.,").find(w.back()) != std::string::npos) w.pop_back();
      if (w.empty()) continue;
      if (w == "isn't") w = "is";
      else if (w == "wasn't") w = "was";
      else if (is_negation(w)) continue;
      out.push_back(w);
    }
    return out;
  };
  for (std::int64_t i = 0; i < 2000; ++i) {
    const data::NegationTwins t = data::synthetic_negation_twins(11, i);
    INFO("plain: ", t.plain, " | negated: ", t.negated);
    CHECK(t.plain_label != t.negated_label);
    CHECK(t.plain != t.negated);
    bool has_negator = false;
    for (const std::string& w : words(t.negated))
      has_negator |= std::find(negators.begin(), negators.end(), w) != negators.end();
    CHECK(has_negator);
    CHECK(strip(t.negated) == strip(t.plain));
  }
}

TEST_CASE("synthetic: a bag-of-words classifier stays far below the labels") {
  // Multinomial naive Bayes with add-one smoothing on lowercased whitespace tokens.
  const std::int64_t n_train = 16000, n_test = 4000;
  std::map<std::string, std::int64_t> counts[2];
  std::int64_t totals[2] = {0, 0}, docs[2] = {0, 0};
  for (std::int64_t i = 0; i < n_train; ++i) {
    const data::SyntheticTweet t = data::synthetic_tweet(5, i);
    ++docs[t.label];
    for (const std::string& w : words(t.text)) {
      ++counts[t.label][w];
      ++totals[t.label];
    }
  }
  std::map<std::string, bool> vocab;
  for (const auto& c : counts)
    for (const auto& [w, n] : c) vocab[w] = true;
  const double v = static_cast<double>(vocab.size());
  std::int64_t right = 0, clean_right = 0;
  for (std::int64_t i = n_train; i < n_train + n_test; ++i) {
    const data::SyntheticTweet t = data::synthetic_tweet(5, i);
    double score[2];
    for (int y = 0; y < 2; ++y) {
      score[y] = std::log(static_cast<double>(docs[y]));
      for (const std::string& w : words(t.text)) {
        const auto it = counts[y].find(w);
        const double c = it == counts[y].end() ? 0.0 : static_cast<double>(it->second);
        score[y] += std::log((c + 1.0) / (static_cast<double>(totals[y]) + v));
      }
    }
    const int guess = score[1] > score[0];
    right += guess == t.label;
    clean_right += t.clean_label == t.label;  // what reading the sentence right achieves
  }
  const double bow = static_cast<double>(right) / n_test, ceiling = static_cast<double>(clean_right) / n_test;
  MESSAGE("bag-of-words naive Bayes accuracy " << bow << ", noise ceiling " << ceiling);
  CHECK(bow > 0.55);          // the words carry some signal (plain sentences)...
  CHECK(bow < 0.80);          // ...but order decides the rest
  CHECK(ceiling > 0.95);      // a model that reads the order can do far better
  CHECK(ceiling < 1.0);       // and none reaches 100%
}

TEST_CASE("synthetic: tweets carry emoji, hashtags, mentions, URLs, elongations and misspellings") {
  std::map<std::string, int> seen;
  for (std::int64_t i = 0; i < 3000; ++i) {
    const std::string text = data::synthetic_tweet(9, i).text;
    seen["mention"] += text.find('@') != std::string::npos;
    seen["hashtag"] += text.find(" #") != std::string::npos;
    seen["url"] += text.find("https://t.co/") != std::string::npos;
    seen["emoji"] += text.find('\xF0') != std::string::npos;
    seen["zwj"] += text.find("\xE2\x80\x8D") != std::string::npos;
    seen["emoticon"] += text.find(":)") != std::string::npos || text.find(":(") != std::string::npos;
    seen["elongation"] += text.find("ooo") != std::string::npos || text.find("eee") != std::string::npos;
    seen["misspelling"] += text.find("gr8") != std::string::npos || text.find("awsome") != std::string::npos ||
                           text.find("teh ") != std::string::npos || text.find("luv") != std::string::npos;
    seen["contrast"] += text.find(" but ") != std::string::npos;
  }
  for (const auto& item : seen) {
    // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const auto& what = item.first;
    const auto& count = item.second;
    INFO(what, ": ", count, " of 3000");
    CHECK(count >= 10);
  }
  CHECK(seen.size() == 9);
}

TEST_CASE("synthetic: 20,000 rows are generated in well under a second") {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  data::write_synthetic_corpus(dir.path(), 20000, 42);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("20,000 rows in " << seconds << " s");
  CHECK(seconds < loom::testing::wall_bound(1.0));
  CHECK(read_bytes(dir.file("train.csv")).size() > 16000 * 20);
}
