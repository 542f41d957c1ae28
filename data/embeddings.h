// data/embeddings.h: pretrained word vectors (GloVe text, word2vec / fastText .vec text) copied
// into the rows of an embedding matrix whose tokens they cover.
//
// The format is detected from the first line: exactly two integers "N D" is the word2vec/.vec
// header; anything else is a GloVe vector line, whose field count gives D. Lines are split on ASCII
// space only and the LAST D fields are the vector, so tokens containing other whitespace (NBSP) or
// even spaces (GloVe 840B has a few) survive. The file is streamed in chunks and only the lines whose
// token is in the vocabulary have their numbers parsed, so a 1.2M-line GloVe file costs one scan.
//
// Matching: exact token first; a vocabulary token with no exact line takes the first line whose
// ASCII-lowercased token equals it (GloVe Twitter is uncased; a cased vocabulary still matches).
// The first exact line of a token wins over later duplicates. Row 0 (<pad>) is never written.
// Errors (DataError "PATH:LINE: ..."): a line whose value count differs from D, a D different from
// the embedding's width (both sizes named), a value that is not a finite number on a line that is used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/tensor.h"
#include "data/vocab.h"

namespace loom::data {

struct EmbeddingCoverage {
  std::int64_t found = 0;     // vocabulary tokens (pad and unk excluded) that got a vector
  std::int64_t vocab = 0;     // vocabulary tokens, pad and unk excluded
  std::int64_t dim = 0;
  std::string format;         // "glove" | "word2vec"
  std::int64_t lowercase = 0; // of `found`, matched through the lowercase fallback
  std::int64_t lines = 0;     // vector lines read
  std::vector<std::string> missing_examples;  // the most frequent tokens without a vector (<= 10)
};

// Rows of `weight` ([V, E] F32 CPU, V = vocab.size()) whose token is in the file are overwritten;
// the others keep their values. Throws ShapeError for a wrong weight, DataError for the file.
EmbeddingCoverage load_pretrained_embeddings(const std::string& path, const Vocab& vocab, Tensor& weight);

// "matched 18342 / 19998 tokens (91.7%), 120 by lowercase; e.g. missing: a, b, c" for the log.
std::string describe(const EmbeddingCoverage& c);

}  // namespace loom::data
