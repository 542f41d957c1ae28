// tests/data/test_vocab.cc: vocabulary order, limits, encoding and the JSON round trip.
//
// The order rule (frequency descending, ties by first occurrence) is checked on a hand-made case and
// as a property on a larger random corpus, since ids saved with a model must come out the same
// wherever the vocabulary is rebuilt.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/vocab.h"
#include "core/philox.h"

using namespace loom;
using namespace loom::data;

TEST_CASE("data: vocab orders by frequency then first occurrence") {
  // counts: b 1, a 2, c 3, d 1; b and d tie, b came first.
  const std::vector<std::vector<std::string>> docs = {{"b", "a", "c"}, {"a", "c", "d"}, {"c"}};
  const Vocab v = Vocab::build(docs, 0, 1);
  CHECK(v.tokens() == std::vector<std::string>{"<pad>", "<unk>", "c", "a", "b", "d"});
  CHECK(v.size() == 6);
  CHECK(v.id("c") == 2);
  CHECK(v.id("d") == 5);
  CHECK(v.id("zzz") == Vocab::kUnk);
  CHECK(v.find("zzz") == -1);
  CHECK(v.id("<pad>") == Vocab::kPad);
  CHECK(v.token(3) == "a");
  CHECK_THROWS_AS(v.token(6), Error);
  CHECK_THROWS_AS(v.token(-1), Error);
}

TEST_CASE("data: vocab min_freq and max_vocab counting pad and unk") {
  const std::vector<std::vector<std::string>> docs = {{"b", "a", "c"}, {"a", "c", "d"}, {"c"}};
  CHECK(Vocab::build(docs, 0, 2).tokens() == std::vector<std::string>{"<pad>", "<unk>", "c", "a"});
  CHECK(Vocab::build(docs, 0, 4).size() == 2);
  CHECK(Vocab::build(docs, 5, 1).tokens() == std::vector<std::string>{"<pad>", "<unk>", "c", "a", "b"});
  CHECK(Vocab::build(docs, 2, 1).size() == 2);
  CHECK(Vocab::build(docs, 100, 1).size() == 6);
  CHECK_THROWS_AS(Vocab::build(docs, 1, 1), Error);
  CHECK_THROWS_AS(Vocab::build(docs, 0, 0), Error);
  CHECK(Vocab::build({}, 0, 1).size() == 2);
}

TEST_CASE("data: vocab encode maps unknown tokens and a literal pad to unk") {
  const Vocab v = Vocab::build({{"<pad>", "hello", "<unk>", "hello", "world"}}, 0, 1);
  // The specials in the text are not counted as tokens of their own.
  CHECK(v.tokens() == std::vector<std::string>{"<pad>", "<unk>", "hello", "world"});
  CHECK(v.encode({"hello", "there", "<pad>", "world", "<unk>"}) ==
        std::vector<std::int32_t>{2, Vocab::kUnk, Vocab::kUnk, 3, Vocab::kUnk});
  CHECK(v.encode({}).empty());
}

TEST_CASE("data: vocab order property on a random corpus") {
  // Zipf-like random tokens: many ties at low counts, where a map-order dependence would show.
  std::vector<std::vector<std::string>> docs(300);
  std::uint64_t n = 0;
  for (auto& doc : docs)
    for (int k = 0; k < 12; ++k) {
      const std::uint32_t r = philox_word(7, n++) % 1000;
      doc.push_back("w" + std::to_string(r * r / 1000));
    }
  std::map<std::string, std::int64_t> count, first;
  std::int64_t pos = 0;
  for (const auto& doc : docs)
    for (const auto& t : doc) {
      ++count[t];
      first.try_emplace(t, pos++);
    }
  const Vocab v = Vocab::build(docs, 0, 1);
  REQUIRE(v.size() == static_cast<std::int64_t>(count.size()) + 2);
  for (std::int32_t i = 3; i < v.size(); ++i) {
    const std::string& a = v.token(i - 1);
    const std::string& b = v.token(i);
    INFO(a, " before ", b);
    CHECK((count[a] > count[b] || (count[a] == count[b] && first[a] < first[b])));
  }
  // Built again, the same ids.
  CHECK(Vocab::build(docs, 0, 1).tokens() == v.tokens());
}

TEST_CASE("data: vocab JSON round trip and validation") {
  const Vocab v = Vocab::build({{"hi", "\xF0\x9F\x98\x82", "hi", "#tag"}}, 0, 1);
  const std::string text = v.to_json().dump();
  const Vocab back = Vocab::from_json(nlohmann::json::parse(text));
  CHECK(back.tokens() == v.tokens());
  CHECK(back.id("\xF0\x9F\x98\x82") == v.id("\xF0\x9F\x98\x82"));
  CHECK(back.id("#tag") == 4);

  using nlohmann::json;
  CHECK_THROWS_AS(Vocab::from_json(json::array()), CheckpointError);
  CHECK_THROWS_AS(Vocab::from_json(json{{"words", json::array()}}), CheckpointError);
  CHECK_THROWS_AS(Vocab::from_json(json{{"tokens", "abc"}}), CheckpointError);
  CHECK_THROWS_AS(Vocab::from_json(json{{"tokens", {"<unk>", "<pad>", "a"}}}), CheckpointError);
  CHECK_THROWS_AS(Vocab::from_json(json{{"tokens", {"<pad>"}}}), CheckpointError);
  CHECK_THROWS_AS(Vocab::from_json(json{{"tokens", {"<pad>", "<unk>", "a", "a"}}}), CheckpointError);
  CHECK_THROWS_AS(Vocab::from_json(json{{"tokens", json::array({"<pad>", "<unk>", 3})}}), CheckpointError);
  try {
    Vocab::from_json(json{{"tokens", {"<pad>", "<unk>", "x", "y", "x"}}});
    FAIL("expected a CheckpointError");
  } catch (const CheckpointError& e) {
    CHECK(std::string(e.what()).find("\"x\" appears twice") != std::string::npos);
  }
}
