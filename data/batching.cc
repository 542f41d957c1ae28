// data/batching.cc: epoch orders, collation and stratified splits (see batching.h for the choices).
#include "data/batching.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/philox.h"

namespace loom::data {

namespace {

// Counter word 3 of every draw: which use of the stream this is.
constexpr std::uint32_t kDomainRows = 0, kDomainBatches = 1, kDomainSplit = 2;

// How many of the row's words collate keeps (an empty row: its one <unk>).
std::int64_t kept_words(const EncodedExample& e, std::int64_t max_len) {
  const auto n = std::max<std::int64_t>(1, static_cast<std::int64_t>(e.ids.size()));  // empty -> one <unk>
  return max_len > 0 ? std::min(n, max_len) : n;
}

// How many n-gram ids come with the first `words` words (fasttext rows; 0 for the others).
std::int64_t kept_ngrams(const EncodedExample& e, std::int64_t words) {
  if (e.ngram_ends.empty() || e.ids.empty()) return 0;
  return e.ngram_ends[static_cast<std::size_t>(words - 1)];
}

// The row's length in the batch: its kept words, then their n-grams.
std::int64_t effective_length(const EncodedExample& e, std::int64_t max_len) {
  const std::int64_t words = kept_words(e, max_len);
  return words + kept_ngrams(e, words);
}

// Fisher-Yates, draw i from counter (i, word2, domain): the result depends on nothing else.
template <typename T>
void shuffle_in_place(std::vector<T>& v, std::uint64_t seed, std::uint32_t word2, std::uint32_t domain) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(draw_below(i, seed, i - 1, word2, domain));
    std::swap(v[i - 1], v[j]);
  }
}

std::uint32_t epoch_word(std::uint64_t epoch) {
  LOOM_CHECK(epoch <= 0xFFFFFFFFull, "epoch_batches: epoch ", epoch, " does not fit the 32-bit counter word");
  return static_cast<std::uint32_t>(epoch);
}

}  // namespace

std::uint64_t philox_u64(std::uint64_t seed, std::uint64_t index, std::uint32_t word2, std::uint32_t domain) {
  const Philox4 counter{{static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32),
                                  word2, domain}};
  const Philox4 r =
      philox4x32_10(counter, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  return static_cast<std::uint64_t>(r.v[0]) | (static_cast<std::uint64_t>(r.v[1]) << 32);
}

std::uint64_t draw_below(std::uint64_t n, std::uint64_t seed, std::uint64_t index, std::uint32_t word2,
                         std::uint32_t domain) {
  const unsigned __int128 product =
      static_cast<unsigned __int128>(philox_u64(seed, index, word2, domain)) * n;
  return static_cast<std::uint64_t>(product >> 64);
}

std::vector<std::vector<std::int64_t>> epoch_batches(const std::vector<EncodedExample>& data,
                                                     const BatchOptions& options, std::uint64_t epoch) {
  LOOM_CHECK(options.batch_size >= 1, "epoch_batches: batch_size must be >= 1, got ", options.batch_size);
  const auto n = static_cast<std::int64_t>(data.size());
  const std::uint32_t word2 = epoch_word(epoch);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  if (options.shuffle) shuffle_in_place(order, options.seed, word2, kDomainRows);

  std::vector<std::vector<std::int64_t>> batches;
  const auto cut = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; b += options.batch_size)
      batches.emplace_back(order.begin() + b, order.begin() + std::min(end, b + options.batch_size));
  };
  if (!options.bucket_by_length) {
    cut(0, n);
    return batches;
  }
  const std::int64_t window = options.batch_size * kBucketWindowBatches;
  for (std::int64_t w = 0; w < n; w += window) {
    const std::int64_t end = std::min(n, w + window);
    std::stable_sort(order.begin() + w, order.begin() + end, [&](std::int64_t a, std::int64_t b) {
      return effective_length(data[static_cast<std::size_t>(a)], options.max_len) <
             effective_length(data[static_cast<std::size_t>(b)], options.max_len);
    });
    cut(w, end);
  }
  // Without this, every window would run from short to long batches, a drift the optimizer feels.
  if (options.shuffle) shuffle_in_place(batches, options.seed, word2, kDomainBatches);
  return batches;
}

namespace {

// [B, F] of the rows' meta vectors, or undefined when the rows have none.
Tensor collate_meta(const std::vector<EncodedExample>& data, const std::vector<std::int64_t>& rows) {
  const std::size_t F = data[static_cast<std::size_t>(rows[0])].meta.size();
  for (const std::int64_t r : rows)
    LOOM_CHECK(data[static_cast<std::size_t>(r)].meta.size() == F, "collate: row ", r, " has ",
               data[static_cast<std::size_t>(r)].meta.size(), " metadata features but row ", rows[0], " has ", F);
  if (F == 0) return Tensor();
  std::vector<float> meta;
  meta.reserve(rows.size() * F);
  for (const std::int64_t r : rows) {
    const auto& m = data[static_cast<std::size_t>(r)].meta;
    meta.insert(meta.end(), m.begin(), m.end());
  }
  return Tensor::from_vector(meta, {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(F)});
}

}  // namespace

Batch collate(const std::vector<EncodedExample>& data, const std::vector<std::int64_t>& rows,
              std::int64_t max_len, TaskKind task, std::int64_t num_labels) {
  const auto B = static_cast<std::int64_t>(rows.size());
  LOOM_CHECK(B >= 1, "collate: an empty batch");
  const auto n = static_cast<std::int64_t>(data.size());
  std::int64_t T = 1;
  for (const std::int64_t r : rows) {
    LOOM_CHECK(r >= 0 && r < n, "collate: row ", r, " is outside [0, ", n, ")");
    T = std::max(T, effective_length(data[static_cast<std::size_t>(r)], max_len));
  }
  Batch batch;
  batch.rows = rows;
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(T * B), Vocab::kPad);
  std::vector<std::int32_t> lengths(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) {
    const EncodedExample& e = data[static_cast<std::size_t>(rows[static_cast<std::size_t>(b)])];
    const std::int64_t len = effective_length(e, max_len);
    lengths[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(len);
    if (e.ids.empty()) {
      tokens[static_cast<std::size_t>(b)] = Vocab::kUnk;
      continue;
    }
    const std::int64_t words = kept_words(e, max_len);
    for (std::int64_t t = 0; t < words; ++t) tokens[static_cast<std::size_t>(t * B + b)] = e.ids[static_cast<std::size_t>(t)];
    for (std::int64_t t = words; t < len; ++t)
      tokens[static_cast<std::size_t>(t * B + b)] = e.ngrams[static_cast<std::size_t>(t - words)];
  }
  batch.tokens = Tensor::from_vector(tokens, {T, B});
  batch.lengths = Tensor::from_vector(lengths, {B});
  batch.meta = collate_meta(data, rows);

  const auto is_labeled = [&](const EncodedExample& e) {
    return task == TaskKind::MultiLabel ? !e.targets.empty() : e.label >= 0;
  };
  const bool labeled = is_labeled(data[static_cast<std::size_t>(rows[0])]);
  for (const std::int64_t r : rows)
    LOOM_CHECK(is_labeled(data[static_cast<std::size_t>(r)]) == labeled,
               "collate: row ", r, " is ", labeled ? "unlabeled" : "labeled", " but row ", rows[0], " is not");
  if (!labeled) return batch;

  switch (task) {
    case TaskKind::Binary: {
      std::vector<float> y(static_cast<std::size_t>(B));
      for (std::int64_t b = 0; b < B; ++b) {
        const int label = data[static_cast<std::size_t>(rows[static_cast<std::size_t>(b)])].label;
        LOOM_CHECK(label == 0 || label == 1, "collate: binary label ", label, " in row ", rows[static_cast<std::size_t>(b)]);
        y[static_cast<std::size_t>(b)] = static_cast<float>(label);
      }
      batch.targets = Tensor::from_vector(y, {B, 1});
      break;
    }
    case TaskKind::MultiClass: {
      std::vector<std::int32_t> y(static_cast<std::size_t>(B));
      for (std::int64_t b = 0; b < B; ++b) {
        const int label = data[static_cast<std::size_t>(rows[static_cast<std::size_t>(b)])].label;
        LOOM_CHECK(label < num_labels, "collate: label ", label, " in row ", rows[static_cast<std::size_t>(b)],
                   " is outside [0, ", num_labels, ")");
        y[static_cast<std::size_t>(b)] = label;
      }
      batch.targets = Tensor::from_vector(y, {B});
      break;
    }
    case TaskKind::MultiLabel: {
      std::vector<float> y;
      y.reserve(static_cast<std::size_t>(B * num_labels));
      for (const std::int64_t r : rows) {
        const auto& t = data[static_cast<std::size_t>(r)].targets;
        LOOM_CHECK(static_cast<std::int64_t>(t.size()) == num_labels, "collate: row ", r, " has ", t.size(),
                   " targets, expected ", num_labels);
        y.insert(y.end(), t.begin(), t.end());
      }
      batch.targets = Tensor::from_vector(y, {B, num_labels});
      break;
    }
  }
  return batch;
}

std::vector<EncodedExample> encode_examples(const Dataset& data,
                                            const std::vector<std::vector<std::string>>& docs,
                                            const Vocab& vocab, const NgramOptions& ngrams) {
  LOOM_CHECK(docs.size() == data.examples.size(), "encode_examples: ", docs.size(), " token lists for ",
             data.examples.size(), " examples");
  std::vector<EncodedExample> out(docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    out[i].ids = vocab.encode(docs[i]);
    out[i].label = data.examples[i].label;
    out[i].targets = data.examples[i].targets;
  }
  if (ngrams.enabled()) add_ngrams(out, docs, ngrams, vocab.size());
  return out;
}

void add_ngrams(std::vector<EncodedExample>& rows, const std::vector<std::vector<std::string>>& docs,
                const NgramOptions& ngrams, std::int64_t vocab_size) {
  LOOM_CHECK(docs.size() == rows.size(), "add_ngrams: ", docs.size(), " token lists for ", rows.size(), " rows");
  validate(ngrams, vocab_size);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    LOOM_CHECK(docs[i].size() == rows[i].ids.size(), "add_ngrams: row ", i, " has ", rows[i].ids.size(),
               " ids but ", docs[i].size(), " tokens");
    TweetNgrams g = tweet_ngrams(docs[i], ngrams, vocab_size);
    rows[i].ngrams = std::move(g.ids);
    rows[i].ngram_ends = std::move(g.ends);
  }
}

Tensor word_dropout(const Tensor& tokens, const Tensor& lengths, double p, Generator& gen) {
  LOOM_CHECK(p >= 0.0 && p < 1.0, "--word-dropout must be in [0, 1), got ", p);
  if (p == 0.0) return tokens;
  LOOM_CHECK(tokens.dtype() == DType::I32 && tokens.ndim() == 2 && lengths.dtype() == DType::I32 &&
                 lengths.ndim() == 1 && lengths.dim(0) == tokens.dim(1),
             "word_dropout: tokens must be i32 [T, B] and lengths i32 [B], got ", describe(tokens), " and ",
             describe(lengths));
  const std::int64_t T = tokens.dim(0), B = tokens.dim(1);
  std::vector<std::int32_t> ids = tokens.to_vector_i32();
  const std::vector<std::int32_t> len = lengths.to_vector_i32();
  const std::uint64_t offset = gen.reserve(static_cast<std::uint64_t>(T * B));
  const auto threshold = static_cast<float>(p);
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t b = 0; b < B; ++b) {
      if (t >= len[static_cast<std::size_t>(b)]) continue;  // padding stays padding
      const auto i = static_cast<std::size_t>(t * B + b);
      if (philox_uniform(gen.seed(), offset + i) < threshold) ids[i] = Vocab::kUnk;
    }
  return Tensor::from_vector(ids, {T, B});
}

SplitIndices stratified_split(const Dataset& data, double val_fraction, double test_fraction, std::uint64_t seed) {
  LOOM_CHECK(val_fraction >= 0 && val_fraction < 1 && test_fraction >= 0 && test_fraction < 1 &&
                 val_fraction + test_fraction < 1,
             "stratified_split: fractions must be in [0, 1) with a sum below 1, got val ", val_fraction,
             " and test ", test_fraction);
  // Ordered map: groups are visited in key order, one more thing the result does not depend on.
  std::map<std::int64_t, std::vector<std::int64_t>> groups;
  for (std::size_t i = 0; i < data.examples.size(); ++i) {
    const Example& e = data.examples[i];
    std::int64_t key = e.label;  // -1: unlabeled
    if (data.task == TaskKind::MultiLabel && !e.targets.empty()) {
      const auto it = std::find_if(e.targets.begin(), e.targets.end(), [](float v) { return v > 0.5f; });
      key = it - e.targets.begin();  // == K for a row with no positive label
    }
    groups[key].push_back(static_cast<std::int64_t>(i));
  }
  SplitIndices out;
  for (auto& [key, rows] : groups) {
    shuffle_in_place(rows, seed, static_cast<std::uint32_t>(key), kDomainSplit);
    const auto n = static_cast<std::int64_t>(rows.size());
    const auto rounded = [n](double f) { return static_cast<std::int64_t>(std::floor(static_cast<double>(n) * f + 0.5)); };
    std::int64_t n_test = rounded(test_fraction), n_val = rounded(val_fraction);
    while (n_test + n_val >= n && n_test + n_val > 0) {
      if (n_test > 0) --n_test;
      else --n_val;
    }
    out.test.insert(out.test.end(), rows.begin(), rows.begin() + n_test);
    out.val.insert(out.val.end(), rows.begin() + n_test, rows.begin() + n_test + n_val);
    out.train.insert(out.train.end(), rows.begin() + n_test + n_val, rows.end());
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.val.begin(), out.val.end());
  std::sort(out.test.begin(), out.test.end());
  return out;
}

}  // namespace loom::data
