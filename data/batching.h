// data/batching.h: epochs of mini-batches, collation into time-major tensors, stratified splits.
//
// Randomness: every shuffle here draws from Philox-4x32-10 (core/philox.h) with key =
// seed and a 128-bit counter {draw index (64 bits), epoch or stratum, domain}; the domain word keeps
// the row permutation, the bucketed batch order and the split apart. So an epoch's order is a pure
// function of (seed, epoch): the same on every machine and thread count, and resuming at epoch e
// needs no saved generator state. A draw in [0, n) is ((64 random bits) * n) >> 64 (Lemire's
// multiply-shift without rejection; its bias is below n / 2^64, i.e. nil for any dataset).
//
// Empty rows: a text whose tokens are all gone (or that had none) is given one <unk> token, so every
// length is >= 1: an LSTM's "last valid state" and a max over time stay defined, and the model sees
// "something unknown" rather than nothing.
// Truncation keeps the first max_len tokens (Keras truncating='post'); max_len <= 0: no limit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/tensor.h"
#include "core/random.h"
#include "data/dataset.h"
#include "data/ngrams.h"
#include "data/vocab.h"

namespace loom::data {

struct EncodedExample {
  std::vector<std::int32_t> ids;
  // --arch fasttext: the hashed n-gram ids of the tweet and, per word, how many belong to words
  // 0..i (data/ngrams.h); empty for every other model. collate() appends the n-grams of the words
  // it keeps after those words.
  std::vector<std::int32_t> ngrams;
  std::vector<std::int32_t> ngram_ends;
  int label = -1;
  std::vector<float> targets;
  std::vector<float> meta;  // raw account features (data/metadata.h); empty when the run has none
};

struct Batch {
  // [T, B] I32 CPU, T = longest row in this batch (after max_len), right-padded with 0. A fasttext
  // row is its kept words followed by their n-gram ids (ids >= V).
  Tensor tokens;
  Tensor lengths;   // [B] I32 CPU, >= 1 (an empty row is given one <unk> token)
  Tensor targets;   // Binary: [B, 1] F32; MultiClass: [B] I32; MultiLabel: [B, K] F32; undefined if unlabeled
  Tensor meta;      // [B, F] F32 CPU, the rows' raw account features; undefined when rows carry none
  std::vector<std::int64_t> rows;  // indices into the encoded list, in batch order
};

struct BatchOptions {
  std::int64_t batch_size = 64;
  std::int64_t max_len = 64;
  bool shuffle = true;
  bool bucket_by_length = false;
  std::uint64_t seed = 42;
};

// How many consecutive batches' worth of rows one bucketing window holds.
constexpr std::int64_t kBucketWindowBatches = 50;

// The row order of one epoch, cut into batches of batch_size (the last may be smaller). With
// shuffle, a seeded permutation of all rows; without, file order. Bucketing sorts each window of
// kBucketWindowBatches * batch_size consecutive rows of that order by length (stable, so ties keep
// their shuffled order), cuts it into batches, then shuffles the batch order (when shuffling).
std::vector<std::vector<std::int64_t>> epoch_batches(const std::vector<EncodedExample>& data,
                                                     const BatchOptions& options, std::uint64_t epoch);

// Rows must carry meta all alike (all F features, or none). Rows must be labeled all alike: with labels (targets built per task; Binary labels must be 0/1,
// MultiClass in [0, num_labels), MultiLabel targets of size num_labels) or all without (label -1 /
// empty targets: `targets` stays undefined). Anything else is a loom::Error.
Batch collate(const std::vector<EncodedExample>& data, const std::vector<std::int64_t>& rows,
              std::int64_t max_len, TaskKind task, std::int64_t num_labels);

// One EncodedExample per example: docs[i] are example i's tokens, encoded with `vocab`; with
// `ngrams` enabled (--arch fasttext), each row also carries its hashed n-grams (data/ngrams.h),
// ids in [vocab.size(), vocab.size() + buckets).
std::vector<EncodedExample> encode_examples(const Dataset& data,
                                            const std::vector<std::vector<std::string>>& docs,
                                            const Vocab& vocab, const NgramOptions& ngrams = {});
// The same n-grams added to rows already encoded (docs[i]: row i's tokens; rows[i].ids their ids).
void add_ngrams(std::vector<EncodedExample>& rows, const std::vector<std::vector<std::string>>& docs,
                const NgramOptions& ngrams, std::int64_t vocab_size);

// --word-dropout p (training only): every token of the batch that is not padding (t < len_b)
// becomes <unk> with probability p, independently. The draws are philox_uniform(gen.seed(), off +
// t * B + b) with off = gen.reserve(T * B): one reservation per batch, so the masks are a pure
// function of the generator's state (the trainer saves it: a resumed run draws the same masks).
// p = 0 reserves nothing and returns the tokens as they are. fasttext rows drop n-gram ids the
// same way (each n-gram is one more token of the bag). p in [0, 1).
Tensor word_dropout(const Tensor& tokens, const Tensor& lengths, double p, Generator& gen);

struct SplitIndices {
  std::vector<std::int64_t> train, val, test;
};

// Stratified by label: rows are grouped by label (multi-label: by the first positive label, rows
// with none form their own group; unlabeled rows: one group), each group is shuffled with the seed,
// and its first round(n * test_fraction) rows go to test, the next round(n * val_fraction) to val,
// the rest to train. round() is half-up. If that would leave a group of n >= 1 rows with no
// training row, test and then val give one back, so every class seen in val/test is also trained
// on. Each list is sorted ascending (file order). Fractions in [0, 1) with a sum below 1.
SplitIndices stratified_split(const Dataset& data, double val_fraction, double test_fraction, std::uint64_t seed);

// The random words behind the functions above, exposed for tests: 64 bits of Philox stream `seed`
// at (index, word2, domain) and a uniform draw in [0, n).
std::uint64_t philox_u64(std::uint64_t seed, std::uint64_t index, std::uint32_t word2, std::uint32_t domain);
std::uint64_t draw_below(std::uint64_t n, std::uint64_t seed, std::uint64_t index, std::uint32_t word2,
                         std::uint32_t domain);

}  // namespace loom::data
