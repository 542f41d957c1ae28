// fuzz/embeddings.cc: load_pretrained_embeddings (data/embeddings.h), GloVe and word2vec text, on
// arbitrary bytes.
//
// The first byte picks the embedding width (1 to 4); the rest is the file. The vocabulary is a
// fixed handful of tokens, one of them non-ASCII and one cased, so the fuzzer can reach the exact
// and the lowercase matches. Checked: a refusal is a DataError naming the file; on success the
// width and format are what the file says, row 0 (<pad>) is untouched, every value written is
// finite (an embedding with NaN or inf would poison training), no more rows change than the
// coverage counts, and the coverage counts are consistent.
#include <cmath>
#include <cstdint>
#include <string>

#include "data/embeddings.h"
#include "fuzz/fuzz_util.h"

using namespace loom;

int loom_fuzz_embeddings(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::int64_t width = 1 + in.byte() % 4;
  static const data::Vocab vocab =
      data::Vocab::from_tokens({"<pad>", "<unk>", "the", "hello", "world", "\xC3\xA9t\xC3\xA9", "Cat", "a"});
  const std::string path = fuzz::write_scratch("vectors.txt", in.rest());
  const float kFill = 7.0f;  // no test writes 7 exactly... but a file may: counted with <= below
  Tensor weight = Tensor::full({vocab.size(), width}, kFill);

  data::EmbeddingCoverage c;
  if (!fuzz::run_expecting<DataError>([&] { c = data::load_pretrained_embeddings(path, vocab, weight); }, path))
    return 0;

  FUZZ_CHECK(c.dim == width, "dim " + std::to_string(c.dim) + " for a width " + std::to_string(width));
  FUZZ_CHECK(c.format == "glove" || c.format == "word2vec", "format '" + c.format + "'");
  FUZZ_CHECK(c.vocab == vocab.size() - 2, "vocab count");
  FUZZ_CHECK(c.found >= 0 && c.found <= c.vocab && c.lowercase <= c.found, "coverage counts");
  FUZZ_CHECK(c.lines >= 1, "success without a vector line");
  const float* w = weight.data<float>();
  std::int64_t changed = 0;
  for (std::int64_t r = 0; r < vocab.size(); ++r) {
    bool row_changed = false;
    for (std::int64_t k = 0; k < width; ++k) {
      const float v = w[r * width + k];
      FUZZ_CHECK(std::isfinite(v), "a non-finite value loaded into row " + std::to_string(r));
      row_changed |= v != kFill;
    }
    FUZZ_CHECK(r != 0 || !row_changed, "row 0 (<pad>) was written");
    if (r >= 2 && row_changed) ++changed;
  }
  FUZZ_CHECK(changed <= c.found, std::to_string(changed) + " rows changed, " + std::to_string(c.found) + " found");
  return 0;
}

LOOM_FUZZ_ENTRY(loom_fuzz_embeddings)
