// tests/data/test_tokenizer_parity.cc: the tweet tokenizer against NLTK itself, live.
//
// Issue 5 asks for NLTK's TweetTokenizer(preserve_case=False, reduce_len=True) on real tweets:
// >= 99% identical, disagreements listed in a report. The peer (tests/peers/nltk_tokenize.py, run
// by /usr/bin/python3 with Debian's python3-nltk) tokenizes the same texts; we compare tweet by
// tweet. Real tweets come from ../shared/data (never copied into the repository), read with a
// tiny CSV reader of our own so this test does not depend on the data area's reader. Generated
// strings aimed at the scanner's corner cases (parentheses in URLs, phone shapes, entities,
// emoji joins, case folding) and the Unicode tables behind it are compared with Python too.
#include "data/tokenizer.h"
#include "data/tokenizer_html.h"
#include "data/tokenizer_unicode.h"
#include "tests/support/peer.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include "tests/support/timing.h"

namespace {

namespace fs = std::filesystem;
using Rows = std::vector<std::vector<std::string>>;

// RFC 4180 in a few lines: quoted fields may hold commas, doubled quotes and newlines; CRLF or LF
// ends a record; a UTF-8 BOM is skipped.
Rows read_csv_minimal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string s = buf.str();
  if (s.rfind("\xEF\xBB\xBF", 0) == 0) s.erase(0, 3);
  Rows rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

// Up to `limit` values of the column named "text", in file order.
std::vector<std::string> texts_of(const std::string& path, std::size_t limit) {
  std::vector<std::string> out;
  const Rows rows = read_csv_minimal(path);
  if (rows.empty()) return out;
  std::size_t col = rows[0].size();
  for (std::size_t i = 0; i < rows[0].size(); ++i) {
    if (rows[0][i] == "text") col = i;
  }
  for (std::size_t r = 1; r < rows.size() && out.size() < limit; ++r) {
    if (col < rows[r].size() && !rows[r][col].empty()) {
      out.push_back(rows[r][col]);
    }
  }
  return out;
}

// Next to the test binary (the build folder), where CI keeps its artifacts.
fs::path report_path(const std::string& name) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return (ec ? fs::current_path() : exe.parent_path()) / name;
}

struct Comparison {
  std::size_t total = 0, agree = 0;
  fs::path report;
};

// Tokenizes `texts` here and in NLTK, writes every disagreement to `report_name`.
// Returns total = 0 when the peer is unavailable (the skip has been reported).
Comparison compare_with_nltk(const std::vector<std::string>& texts, const loom::data::TokenizerConfig& config,
                             const std::string& report_name) {
  Comparison c;
  const loom::test::PeerAnswer answer = loom::test::run_peer(
      "nltk_tokenize.py",
      {{"texts", texts}, {"preserve_case", !config.lowercase}, {"reduce_len", config.reduce_len}});
  if (!loom::test::peer_available(answer, "nltk")) return c;
  const nlohmann::json& theirs = answer.out.at("tokens");
  REQUIRE(theirs.size() == texts.size());
  c.report = report_path(report_name);
  std::ofstream report(c.report);
  report << "# loom tweet tokenizer vs NLTK TweetTokenizer(preserve_case=" << (config.lowercase ? "False" : "True")
         << ", reduce_len=" << (config.reduce_len ? "True" : "False") << ")\n";
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::vector<std::string> ours = loom::data::tokenize(texts[i], config);
    const auto nltk = theirs[i].get<std::vector<std::string>>();
    ++c.total;
    if (ours == nltk) {
      ++c.agree;
      continue;
    }
    report << "text: " << nlohmann::json(texts[i]).dump() << "\nours: " << nlohmann::json(ours).dump()
           << "\nnltk: " << nlohmann::json(nltk).dump() << "\n\n";
  }
  report << "# " << c.agree << " of " << c.total << " identical\n";
  return c;
}

std::vector<std::string> real_tweets() {
  const std::string root = LOOM_SOURCE_DIR "/../shared/data/";
  std::vector<std::string> texts;
  for (const char* file : {"sentiment140_100k/dev.csv", "semeval2018_ec_multilabel/train.csv",
                           "airline_sentiment/data.csv", "tweeteval_sentiment_val/data.csv",
                           "kaggle_twitter_bots/tweets.csv"}) {
    if (!fs::exists(root + file)) continue;
    for (std::string& t : texts_of(root + file, 1000)) texts.push_back(std::move(t));
  }
  return texts;
}

}  // namespace

TEST_CASE("tokenizer: tweet kind matches nltk on real tweets") {
  const std::vector<std::string> texts = real_tweets();
  if (texts.empty()) {
    MESSAGE("skipped: no tweets under " LOOM_SOURCE_DIR "/../shared/data");
    return;
  }
  CHECK(texts.size() >= 2000);
  const Comparison c = compare_with_nltk(texts, {}, "tokenizer_nltk_report.txt");
  if (c.total == 0) return;
  MESSAGE("nltk parity: " << c.agree << " of " << c.total << " tweets identical; disagreements in " << c.report.string());
  CHECK(c.agree * 100 >= c.total * 99);  // the issue's bar; 100% when this was written
}

TEST_CASE("tokenizer: tweet kind matches nltk with case kept and lengths unreduced") {
  std::vector<std::string> texts = real_tweets();
  if (texts.empty()) {
    MESSAGE("skipped: no tweets under " LOOM_SOURCE_DIR "/../shared/data");
    return;
  }
  texts.resize(std::min<std::size_t>(texts.size(), 2000));
  loom::data::TokenizerConfig config;
  config.lowercase = false;
  config.reduce_len = false;
  const Comparison c = compare_with_nltk(texts, config, "tokenizer_nltk_report_cased.txt");
  if (c.total == 0) return;
  MESSAGE("nltk parity (preserve_case, no reduce_len): " << c.agree << " of " << c.total);
  CHECK(c.agree * 100 >= c.total * 99);
}

TEST_CASE("tokenizer: tweet kind matches nltk on generated corner cases") {
  // Fragments that exercise every class and the places where backtracking decides the result.
  const std::vector<std::string> pieces = {
      "a", "B", "d", "P", "o", "x", "s", "k", "0", "1", "9", " ", " ", "\n", ".", "-", ":", ";", "=", "8",
      "(", ")", "[", "]", "{", "}", "<", ">", "/", "\\", "|", "@", "#", "'", "_", "*", "+", "!", "?", ",",
      "\"", "&", "%", "http://", "https:", "www.", ".com", ".co.uk", "&amp;", "&#x41;", "&lt;", "&#150;", "&xi;",
      "\xE2\x80\x8D", "\xF0\x9F\x8F\xBB", "\xF0\x9F\x87\xBA", "\xF0\x9F\x87\xB8", "\xF0\x9F\x98\x82",
      "\xC3\xA9", "\xCE\xA3", "\xC4\xB0", "\xC5\xBF", "\xE2\x84\xAA", "\xC2\xA0", "\xD9\xA3", "\xE2\x80\x9C",
      "\xE2\x80\x99", "\xC2\xAB", "555-123-4567", "(555)", "+1", "a.b@x.org", ":-)", "</3", "->", "...", "ab", "Ab"};
  std::uint64_t state = 20240501;
  const auto next = [&state] {  // splitmix64: the same strings on every machine
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::vector<std::string> texts;
  for (int i = 0; i < 4000; ++i) {
    std::string t;
    const int n = 1 + static_cast<int>(next() % 24);
    for (int k = 0; k < n; ++k) t += pieces[next() % pieces.size()];
    texts.push_back(t);
  }
  const Comparison c = compare_with_nltk(texts, {}, "tokenizer_nltk_report_generated.txt");
  if (c.total == 0) return;
  MESSAGE("nltk parity on generated strings: " << c.agree << " of " << c.total << " (" << c.report.string() << ")");
  CHECK(c.agree == c.total);
}

TEST_CASE("tokenizer: unicode tables match python") {
  const loom::test::PeerAnswer answer = loom::test::run_peer("nltk_tokenize.py", {{"unicode_tables", true}});
  if (!loom::test::peer_available(answer, "nltk")) return;
  namespace u = loom::data::unicode;
  const auto check_class = [&](const char* name, bool (*ours)(char32_t)) {
    std::vector<bool> theirs(0x110000, false);
    for (const auto& r : answer.out.at(name)) {
      for (std::uint32_t c = r[0].get<std::uint32_t>(); c <= r[1].get<std::uint32_t>(); ++c) theirs[c] = true;
    }
    std::size_t differ = 0;
    std::uint32_t first = 0;
    for (std::uint32_t c = 0; c < 0x110000; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      if (ours(c) != theirs[c] && differ++ == 0) first = c;
    }
    CHECK_MESSAGE(differ == 0, name << ": " << differ << " code points differ, first U+" << std::hex << first);
  };
  check_class("word", u::is_word);
  check_class("digit", u::is_digit);
  check_class("space", u::is_space);
  check_class("py_space", u::is_py_space);
  check_class("cased", u::is_cased);
  check_class("case_ignorable", u::is_case_ignorable);
  // str.lower() of every code point: those Python changes, and that we change no others.
  std::vector<bool> changed(0x110000, false);
  std::size_t lower_differ = 0;
  for (const auto& pair : answer.out.at("lower")) {
    const auto c = pair[0].get<std::uint32_t>();
    changed[c] = true;
    const std::u32string one(1, static_cast<char32_t>(c));
    if (u::encode_utf8(u::to_lower(one)) != pair[1].get<std::string>()) ++lower_differ;
  }
  for (std::uint32_t c = 0; c < 0x110000; ++c) {
    if (changed[c] || (c >= 0xD800 && c <= 0xDFFF)) continue;
    if (u::simple_lower(c) != c) ++lower_differ;
  }
  CHECK(lower_differ == 0);
  CHECK(answer.out.at("lower").size() > 1400);  // all scripts, not only Latin
  // The HTML 4 entity names NLTK decodes.
  const auto& entities = answer.out.at("html_entities");
  CHECK(entities.size() == loom::data::html4_entity_count());
  for (const auto& item : entities.items()) {
    // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const auto& name = item.key();
    const auto& cp = item.value();
    CHECK_MESSAGE(loom::data::html4_entity(name) == cp.get<int>(), "&" << name << ";");
  }
}

TEST_CASE("tokenizer: 100k real tweets take well under a second") {
  const std::string root = LOOM_SOURCE_DIR "/../shared/data/sentiment140_100k/";
  if (!fs::exists(root + "train.csv")) {
    MESSAGE("skipped: no " << root << "train.csv");
    return;
  }
  std::vector<std::string> texts = texts_of(root + "train.csv", 100000);
  for (std::string& t : texts_of(root + "dev.csv", 100000 - texts.size())) texts.push_back(std::move(t));
  const auto start = std::chrono::steady_clock::now();
  std::size_t tokens = 0;
  for (const std::string& t : texts) tokens += loom::data::tokenize(t, {}).size();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("tweet tokenizer: " << texts.size() << " tweets, " << tokens << " tokens in " << seconds << " s (one core)");
  CHECK(texts.size() >= 90000);
  CHECK(tokens > 10 * texts.size());
  // About 0.25 s on this project's 2-core machine; the bound leaves room for a busy CI machine
  // and still catches a scanner that has gone quadratic or lost its ASCII fast paths.
  CHECK(seconds < loom::testing::wall_bound(2.0));
}
