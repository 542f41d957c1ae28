// train/word2vec.h: word vectors trained by loom (`loom embed`): word2vec's skip-gram with
// negative sampling (Mikolov et al. 2013, "Distributed Representations of Words and Phrases").
//
// Each tweet is one sentence; a context never crosses a tweet. For every kept word w at position i
// and every context word c within a randomly shrunk window (1..window words each side, as word2vec
// does), the input vector of c is pushed towards the output vector of w and away from the output
// vectors of `negative` noise words drawn from the unigram distribution raised to 0.75:
//     loss = -log sigma(out[w] . in[c]) - sum_k log sigma(-out[n_k] . in[c])
// with plain SGD whose rate falls linearly from lr to lr * 1e-4 over all epochs. Frequent words are
// dropped at random (keep probability (sqrt(f/t) + 1) * t / f for a word of corpus share f), which
// both speeds training up and gives rare words more weight. The input vectors are the embeddings.
//
// Threads: each thread trains its own slice of the tweets on the shared matrices without locks
// (Hogwild, as word2vec.c does). With threads > 1 the interleaving of updates differs from run to
// run, so the vectors are NOT bitwise repeatable; with threads = 1 they are (same seed, same bytes).
//
// Output: word2vec text .vec ("N D" then "word v1 ... vD", floats in shortest round-trip form),
// which data/embeddings.h reads back exactly (loom train --embeddings).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loom::train {

struct Word2VecOptions {
  std::int64_t dim = 100;
  std::int64_t window = 5;     // the widest context, in words each side
  std::int64_t negative = 5;   // noise words per (word, context) pair
  std::int64_t min_count = 5;  // words seen fewer times are dropped before training
  std::int64_t max_vocab = 0;  // keep only the most frequent words (0 = no limit)
  std::int64_t epochs = 5;
  double lr = 0.025;
  double subsample = 1e-4;     // t of the keep probability; 0 keeps every word
  int threads = 1;
  std::uint64_t seed = 1;
};

// Words by count descending, ties by first occurrence (a pure function of the documents).
// Tokens holding an ASCII space, tab or line break are left out: a .vec line could not hold them.
struct Word2VecVocab {
  std::vector<std::string> words;
  std::vector<std::int64_t> counts;
  std::unordered_map<std::string, std::int32_t> index;
  std::int64_t total() const;  // sum of counts: the tokens of the corpus that are in the vocabulary
};
Word2VecVocab build_word2vec_vocab(const std::vector<std::vector<std::string>>& docs, std::int64_t min_count,
                                   std::int64_t max_vocab);

// The noise table: `size` word ids, word i filling a share counts[i]^power / sum_j counts[j]^power
// of it (word2vec's layout), so a uniform index draws from the smoothed unigram distribution.
std::vector<std::int32_t> build_noise_table(const std::vector<std::int64_t>& counts, std::size_t size,
                                            double power = 0.75);

// The probability of keeping one occurrence of a word seen `count` times among `total` tokens;
// 1 when t <= 0 (no subsampling) and never above 1.
double subsample_keep_probability(std::int64_t count, std::int64_t total, double t);

// One skip-gram step for one input vector: targets[0] is the true word (label 1), targets[1..n-1]
// noise words (label 0); their output vectors are rows of `out` ([V, dim], row-major). Updates
// `out`'s rows and then `in` exactly as one SGD step of rate lr on the loss above (all gradients
// taken at the values before the step). `work` holds dim floats. Returns the loss before the step.
double sgns_step(float* in, float* out, const std::int32_t* targets, int n, std::int64_t dim, float lr,
                 float* work);

struct Word2VecModel {
  Word2VecVocab vocab;
  std::int64_t dim = 0;
  std::vector<float> in;   // [V, dim]: the word vectors
  std::vector<float> out;  // [V, dim]: the output (context) vectors of negative sampling
};

struct Word2VecStats {
  std::int64_t documents = 0, corpus_tokens = 0;  // tweets, and all their tokens
  std::int64_t vocab_tokens = 0;                 // tokens whose word is in the vocabulary
  std::int64_t trained_words = 0;                // kept by subsampling, over all epochs
  double seconds = 0;                            // vocabulary, tables, initialization and training
  double words_per_second = 0;                   // vocabulary tokens read per second of the epochs
  std::vector<double> epoch_loss;                // mean loss per (word, context) pair
};

// Throws loom::Error for bad options and for a corpus with no word seen min_count times.
// `log` (may be null) gets one line per epoch.
Word2VecModel train_word2vec(const std::vector<std::vector<std::string>>& docs, const Word2VecOptions& o,
                             Word2VecStats* stats, std::ostream* log);

// The .vec text of a model, and writing it atomically (io/atomic_file.h).
std::string format_vec(const Word2VecModel& m);
void write_vec(const std::string& path, const Word2VecModel& m);

// The k words whose input vectors have the largest cosine with `word`'s (the word itself left
// out); empty when `word` is not in the vocabulary.
std::vector<std::pair<std::string, double>> nearest_words(const Word2VecModel& m, const std::string& word, int k);

}  // namespace loom::train
