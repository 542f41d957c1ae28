// tests/data/test_embeddings.cc: GloVe and word2vec text files into an embedding matrix.
//
// Rows not covered must keep their values (the model's own initialization), so every case starts
// the weight at a sentinel and checks both the rows written and the rows left alone.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "ops/tensor.h"
#include "data/embeddings.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"
#include "tests/support/timing.h"

using namespace loom;
using namespace loom::data;

namespace {

// One folder for this file's cases, removed when the test binary exits.
std::string write_file(const std::string& name, const std::string& content) {
  static const test::TempDir dir("test_embeddings");
  return dir.write(name, content);
}

std::vector<float> row(const Tensor& w, std::int64_t r) {
  const std::vector<float> all = w.to_vector();
  const std::int64_t e = w.dim(1);
  return std::vector<float>(all.begin() + r * e, all.begin() + (r + 1) * e);
}

#define CHECK_DATA_ERROR(callable, ...) \
  ::loom::test::check_throws_naming<::loom::DataError>(__FILE__, __LINE__, callable, {__VA_ARGS__})

}  // namespace

TEST_CASE("data: embeddings GloVe text fills matching rows and reports coverage") {
  // ids: <pad> 0, <unk> 1, the 2, hello 3, missing 4, caf\u00e9 5
  const Vocab v = Vocab::from_tokens({"<pad>", "<unk>", "the", "hello", "missing", "caf\xC3\xA9"});
  const std::string path = write_file("glove.txt",
                                      "the 0.1 0.2 -0.3\n"
                                      "Hello 1 2 3\n"
                                      "zzz 4 5 6\n"
                                      "caf\xC3\xA9 1e-2 -2.5E1 0\n"
                                      "<pad> 9 9 9\n");
  Tensor w = Tensor::full({6, 3}, 7.0);
  const EmbeddingCoverage c = load_pretrained_embeddings(path, v, w);
  CHECK(c.format == "glove");
  CHECK(c.dim == 3);
  CHECK(c.vocab == 4);
  CHECK(c.found == 3);
  CHECK(c.lowercase == 1);
  CHECK(c.lines == 5);
  CHECK(c.missing_examples == std::vector<std::string>{"missing"});
  CHECK(row(w, 2) == std::vector<float>{0.1f, 0.2f, -0.3f});
  CHECK(row(w, 3) == std::vector<float>{1, 2, 3});  // through the lowercase fallback
  CHECK(row(w, 4) == std::vector<float>{7, 7, 7});  // not in the file: unchanged
  CHECK(row(w, 5) == std::vector<float>{0.01f, -25.0f, 0});
  CHECK(row(w, 0) == std::vector<float>{7, 7, 7});  // <pad> is never written
  CHECK(row(w, 1) == std::vector<float>{7, 7, 7});
  CHECK(describe(c).find("matched 3 / 4 tokens (75.0%)") != std::string::npos);
}

TEST_CASE("data: embeddings word2vec header, CRLF, trailing spaces and exact over lowercase") {
  const Vocab v = Vocab::from_tokens({"<pad>", "<unk>", "hello", "a\xC2\xA0" "b", "new york"});
  const std::string path = write_file("w2v.vec",
                                      "4 2\r\n"
                                      "HELLO 5 5 \r\n"      // lowercase match first...
                                      "hello 0.5 -0.5 \r\n"  // ...the exact line still wins
                                      "hello 9 9\r\n"        // a later duplicate does not
                                      "a\xC2\xA0" "b 3 4\r\n"     // NBSP is part of the token
                                      "new york 6 7");       // a token with a space (GloVe 840B)
  Tensor w = Tensor::zeros({5, 2});
  const EmbeddingCoverage c = load_pretrained_embeddings(path, v, w);
  CHECK(c.format == "word2vec");
  CHECK(c.dim == 2);
  CHECK(c.lines == 5);
  CHECK(c.found == 3);
  CHECK(c.lowercase == 0);
  CHECK(row(w, 2) == std::vector<float>{0.5f, -0.5f});
  CHECK(row(w, 3) == std::vector<float>{3, 4});
  CHECK(row(w, 4) == std::vector<float>{6, 7});
}

TEST_CASE("data: embeddings dimension mismatches name file, line and both sizes") {
  const Vocab v = Vocab::from_tokens({"<pad>", "<unk>", "the"});
  Tensor w4 = Tensor::zeros({3, 4});
  const std::string glove = write_file("glove3.txt", "the 1 2 3\nof 4 5 6\n");
  CHECK_DATA_ERROR([&] { load_pretrained_embeddings(glove, v, w4); }, glove + ":1:", "3 values", "4 columns");

  Tensor w3 = Tensor::zeros({3, 3});
  const std::string short_line = write_file("short.txt", "the 1 2 3\nof 4 5 6\nand 7 8\n");
  CHECK_DATA_ERROR([&] { load_pretrained_embeddings(short_line, v, w3); }, short_line + ":3:", "2 values",
                   "expected 3");
  const std::string long_line = write_file("long.txt", "the 1 2 3\nof 4 5 6 7\n");
  CHECK_DATA_ERROR([&] { load_pretrained_embeddings(long_line, v, w3); }, long_line + ":2:", "4 values",
                   "expected 3");
  const std::string header = write_file("header.vec", "10 5\nthe 1 2 3 4 5\n");
  CHECK_DATA_ERROR([&] { load_pretrained_embeddings(header, v, w3); }, header + ":1:", "5 values",
                   "3 columns");
  const std::string nan_text = write_file("bad_number.txt", "of 1 2 3\nthe 1 x 3\n");
  CHECK_DATA_ERROR([&] { load_pretrained_embeddings(nan_text, v, w3); }, nan_text + ":2:", "value 2 ('x')");
  const std::string empty = write_file("empty.vec", "3 3\n");
  CHECK_DATA_ERROR([&] { load_pretrained_embeddings(empty, v, w3); }, empty, "no vectors");
  CHECK_DATA_ERROR([&] { load_pretrained_embeddings(glove + ".gone", v, w3); }, glove + ".gone");

  Tensor wrong = Tensor::zeros({2, 3});
  CHECK_THROWS_AS(load_pretrained_embeddings(glove, v, wrong), ShapeError);
}

TEST_CASE("data: embeddings a 100k x 100 file loads in about a second") {
  // 100k lines, the vocabulary covers every 10th token: the shape of a real GloVe load.
  std::vector<std::string> tokens = {"<pad>", "<unk>"};
  // The 1997 distinct value strings are formatted once: 10M snprintf calls would dominate the test.
  std::vector<std::string> values(1997);
  char value[32];
  for (int v = 0; v < 1997; ++v) {
    std::snprintf(value, sizeof value, " %.5f", static_cast<double>(v) / 997.0 - 1.0);
    values[static_cast<std::size_t>(v)] = value;
  }
  std::string content;
  content.reserve(100000 * 880);
  for (int i = 0; i < 100000; ++i) {
    const std::string t = "tok" + std::to_string(i);
    if (i % 10 == 0) tokens.push_back(t);
    content += t;
    for (int k = 0; k < 100; ++k) content += values[static_cast<std::size_t>((i * 100 + k) % 1997)];
    content += '\n';
  }
  const std::string path = write_file("big.txt", content);
  const Vocab v = Vocab::from_tokens(tokens);
  Tensor w = Tensor::zeros({v.size(), 100});
  const auto t0 = std::chrono::steady_clock::now();
  const EmbeddingCoverage c = load_pretrained_embeddings(path, v, w);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("embeddings: ", content.size() / 1000000.0, " MB, 100k x 100 in ", seconds, " s");
  CHECK(c.found == 10000);
  CHECK(c.lines == 100000);
  const std::int64_t r = v.id("tok50");  // line 51: value k is (5000 + k) % 1997 / 997 - 1
  CHECK(row(w, r)[3] == doctest::Approx(1009.0 / 997.0 - 1.0).epsilon(1e-4));
  CHECK(seconds < loom::testing::wall_bound(2.0));
}
