// train/word2vec.cc: skip-gram with negative sampling (see word2vec.h): the vocabulary, the noise
// table, subsampling, the SGD step, the (Hogwild) training loop and the .vec writer.
#include "train/word2vec.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "io/atomic_file.h"

namespace loom::train {

namespace {

// splitmix64: small, fast, and the same stream on every machine (std:: distributions are not).
struct Rng {
  std::uint64_t state;
  explicit Rng(std::uint64_t seed) : state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

// A stream seed for (seed, epoch, thread): distinct streams that a change of any of the three moves.
std::uint64_t stream_seed(std::uint64_t seed, std::int64_t epoch, int thread) {
  Rng r(seed ^ (0x5851F42D4C957F2Dull * static_cast<std::uint64_t>(epoch + 1)));
  for (int i = 0; i <= thread; ++i) r.next();
  return r.next();
}

bool storable(const std::string& w) {
  if (w.empty()) return false;
  for (const char c : w)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return false;
  return true;
}

// log(1 + exp(x)) without overflow: the loss terms -log sigma(f) = softplus(-f).
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

// The corpus as vocabulary ids, one run per tweet; words outside the vocabulary are dropped
// before windows are taken, as word2vec does.
struct Corpus {
  std::vector<std::int32_t> ids;
  std::vector<std::int64_t> starts;  // tweet s is ids[starts[s], starts[s + 1])
};

Corpus encode(const std::vector<std::vector<std::string>>& docs, const Word2VecVocab& v) {
  Corpus c;
  c.starts.reserve(docs.size() + 1);
  c.starts.push_back(0);
  for (const auto& doc : docs) {
    for (const auto& w : doc) {
      const auto it = v.index.find(w);
      if (it != v.index.end()) c.ids.push_back(it->second);
    }
    c.starts.push_back(static_cast<std::int64_t>(c.ids.size()));
  }
  return c;
}

// What every thread reads (and the matrices all of them write).
struct Shared {
  const Word2VecOptions* o = nullptr;
  const Corpus* corpus = nullptr;
  const std::vector<std::int32_t>* noise = nullptr;
  const std::vector<double>* keep = nullptr;
  float* in = nullptr;
  float* out = nullptr;
  std::int64_t planned_words = 0;  // epochs * vocabulary tokens: where the rate reaches its floor
  std::atomic<std::int64_t> words_done{0};
};

struct SliceResult {
  double loss = 0;
  std::int64_t pairs = 0, trained = 0;
};

double rate(const Shared& sh, std::int64_t done) {
  const double left = 1.0 - static_cast<double>(done) / static_cast<double>(sh.planned_words + 1);
  return sh.o->lr * std::max(left, 1e-4);
}

// One thread's pass over tweets [first, last) of one epoch.
SliceResult train_slice(Shared& sh, std::int64_t first, std::int64_t last, std::uint64_t seed) {
  const Word2VecOptions& o = *sh.o;
  const std::int64_t dim = o.dim;
  Rng rng(seed);
  SliceResult r;
  std::vector<std::int32_t> kept, targets(static_cast<std::size_t>(o.negative + 1));
  std::vector<float> work(static_cast<std::size_t>(dim));
  // The shared word count moves in steps of ~10k words (as word2vec.c): fewer atomic operations,
  // and with one thread the rate sequence is still a pure function of the data.
  std::int64_t unreported = 0;
  float lr = static_cast<float>(rate(sh, sh.words_done.load()));
  for (std::int64_t s = first; s < last; ++s) {
    const std::int64_t b = sh.corpus->starts[static_cast<std::size_t>(s)];
    const std::int64_t e = sh.corpus->starts[static_cast<std::size_t>(s + 1)];
    unreported += e - b;
    kept.clear();
    for (std::int64_t i = b; i < e; ++i) {
      const std::int32_t w = sh.corpus->ids[static_cast<std::size_t>(i)];
      if ((*sh.keep)[static_cast<std::size_t>(w)] >= 1.0 || rng.uniform() < (*sh.keep)[static_cast<std::size_t>(w)])
        kept.push_back(w);
    }
    r.trained += static_cast<std::int64_t>(kept.size());
    const auto n = static_cast<std::int64_t>(kept.size());
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int32_t word = kept[static_cast<std::size_t>(i)];
      const std::int64_t reach = o.window - static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(o.window)));
      for (std::int64_t j = std::max<std::int64_t>(0, i - reach); j <= std::min(n - 1, i + reach); ++j) {
        if (j == i) continue;
        int count = 0;
        targets[static_cast<std::size_t>(count++)] = word;
        for (std::int64_t k = 0; k < o.negative; ++k) {
          const std::int32_t noise = (*sh.noise)[rng.below(sh.noise->size())];
          if (noise != word) targets[static_cast<std::size_t>(count++)] = noise;  // word2vec skips a draw of the word itself
        }
        const std::int32_t context = kept[static_cast<std::size_t>(j)];
        r.loss += sgns_step(sh.in + static_cast<std::int64_t>(context) * dim, sh.out, targets.data(), count, dim, lr,
                            work.data());
        ++r.pairs;
      }
    }
    if (unreported >= 10000) {
      lr = static_cast<float>(rate(sh, sh.words_done.fetch_add(unreported) + unreported));
      unreported = 0;
    }
  }
  sh.words_done.fetch_add(unreported);
  return r;
}

}  // namespace

std::int64_t Word2VecVocab::total() const { return std::accumulate(counts.begin(), counts.end(), std::int64_t{0}); }

Word2VecVocab build_word2vec_vocab(const std::vector<std::vector<std::string>>& docs, std::int64_t min_count,
                                   std::int64_t max_vocab) {
  LOOM_CHECK(min_count >= 1, "word2vec: min_count must be >= 1, got ", min_count);
  LOOM_CHECK(max_vocab >= 0, "word2vec: max_vocab must be >= 0, got ", max_vocab);
  // Counts in order of first occurrence, so that the sort below breaks ties by it (stable sort).
  std::unordered_map<std::string, std::size_t> slot;
  std::vector<std::string> words;
  std::vector<std::int64_t> counts;
  for (const auto& doc : docs)
    for (const auto& w : doc) {
      const auto [it, fresh] = slot.emplace(w, words.size());
      if (fresh) {
        words.push_back(w);
        counts.push_back(0);
      }
      ++counts[it->second];
    }
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < words.size(); ++i)
    if (counts[i] >= min_count && storable(words[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return counts[a] > counts[b]; });
  if (max_vocab > 0 && static_cast<std::int64_t>(order.size()) > max_vocab) order.resize(static_cast<std::size_t>(max_vocab));
  Word2VecVocab v;
  for (const std::size_t i : order) {
    v.index.emplace(words[i], static_cast<std::int32_t>(v.words.size()));
    v.words.push_back(words[i]);
    v.counts.push_back(counts[i]);
  }
  return v;
}

std::vector<std::int32_t> build_noise_table(const std::vector<std::int64_t>& counts, std::size_t size, double power) {
  LOOM_CHECK(!counts.empty() && size > 0, "word2vec: the noise table needs words and a size");
  double sum = 0;
  for (const auto c : counts) sum += std::pow(static_cast<double>(c), power);
  // Word i owns the slots up to its cumulative share of the table (word2vec.c's InitUnigramTable).
  std::vector<std::int32_t> table(size);
  std::size_t word = 0;
  double reach = std::pow(static_cast<double>(counts[0]), power) / sum;
  for (std::size_t a = 0; a < size; ++a) {
    table[a] = static_cast<std::int32_t>(word);
    if (static_cast<double>(a + 1) / static_cast<double>(size) > reach && word + 1 < counts.size()) {
      ++word;
      reach += std::pow(static_cast<double>(counts[word]), power) / sum;
    }
  }
  return table;
}

double subsample_keep_probability(std::int64_t count, std::int64_t total, double t) {
  if (t <= 0 || count <= 0 || total <= 0) return 1.0;
  const double f = static_cast<double>(count) / static_cast<double>(total);
  return std::min(1.0, (std::sqrt(f / t) + 1.0) * t / f);
}

double sgns_step(float* in, float* out, const std::int32_t* targets, int n, std::int64_t dim, float lr, float* work) {
  std::fill(work, work + dim, 0.0f);
  double loss = 0;
  for (int k = 0; k < n; ++k) {
    float* u = out + static_cast<std::int64_t>(targets[k]) * dim;
    float f = 0;
    for (std::int64_t d = 0; d < dim; ++d) f += in[d] * u[d];
    const float label = k == 0 ? 1.0f : 0.0f;
    const float sigma = 1.0f / (1.0f + std::exp(-f));
    loss += k == 0 ? softplus(-static_cast<double>(f)) : softplus(static_cast<double>(f));
    // d(loss)/d(f) = sigma - label; g is the step along -gradient.
    const float g = lr * (label - sigma);
    for (std::int64_t d = 0; d < dim; ++d) work[d] += g * u[d];  // in's step, applied after the loop
    for (std::int64_t d = 0; d < dim; ++d) u[d] += g * in[d];    // in still holds its old values
  }
  for (std::int64_t d = 0; d < dim; ++d) in[d] += work[d];
  return loss;
}

Word2VecModel train_word2vec(const std::vector<std::vector<std::string>>& docs, const Word2VecOptions& o,
                             Word2VecStats* stats, std::ostream* log) {
  LOOM_CHECK(o.dim >= 1 && o.window >= 1 && o.negative >= 1 && o.epochs >= 1 && o.lr > 0 && o.subsample >= 0 &&
                 o.threads >= 1,
             "word2vec: bad options (dim ", o.dim, ", window ", o.window, ", negative ", o.negative, ", epochs ",
             o.epochs, ", lr ", o.lr, ", subsample ", o.subsample, ", threads ", o.threads, ")");
  const auto t0 = std::chrono::steady_clock::now();
  Word2VecStats st;
  st.documents = static_cast<std::int64_t>(docs.size());
  for (const auto& d : docs) st.corpus_tokens += static_cast<std::int64_t>(d.size());
  if (st.corpus_tokens == 0) LOOM_THROW(DataError, "embed: the input has no tokens (", st.documents, " texts, all empty)");

  Word2VecModel m;
  m.vocab = build_word2vec_vocab(docs, o.min_count, o.max_vocab);
  m.dim = o.dim;
  if (m.vocab.words.empty())
    LOOM_THROW(DataError, "embed: no word appears --min-count ", o.min_count, " times (", st.corpus_tokens,
               " tokens in ", st.documents, " texts); lower --min-count or give more text");
  const Corpus corpus = encode(docs, m.vocab);
  st.vocab_tokens = static_cast<std::int64_t>(corpus.ids.size());

  const auto V = static_cast<std::int64_t>(m.vocab.words.size());
  // word2vec's start: inputs uniform in +-0.5/dim, outputs zero (the first steps move outputs only).
  m.in.resize(static_cast<std::size_t>(V * o.dim));
  m.out.assign(static_cast<std::size_t>(V * o.dim), 0.0f);
  Rng init(o.seed);
  for (float& x : m.in) x = static_cast<float>((init.uniform() - 0.5) / static_cast<double>(o.dim));

  const std::vector<std::int32_t> noise = build_noise_table(m.vocab.counts, std::size_t{1} << 22);
  std::vector<double> keep(static_cast<std::size_t>(V));
  for (std::int64_t i = 0; i < V; ++i)
    keep[static_cast<std::size_t>(i)] = subsample_keep_probability(m.vocab.counts[static_cast<std::size_t>(i)],
                                                                    st.vocab_tokens, o.subsample);

  Shared sh;
  sh.o = &o;
  sh.corpus = &corpus;
  sh.noise = &noise;
  sh.keep = &keep;
  sh.in = m.in.data();
  sh.out = m.out.data();
  sh.planned_words = o.epochs * st.vocab_tokens;
  const std::int64_t S = st.documents;
  const int T = static_cast<int>(std::min<std::int64_t>(o.threads, std::max<std::int64_t>(S, 1)));
  double train_seconds = 0;
  for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    const auto e0 = std::chrono::steady_clock::now();
    const std::int64_t before = sh.words_done.load();
    std::vector<SliceResult> results(static_cast<std::size_t>(T));
    if (T == 1) {
      results[0] = train_slice(sh, 0, S, stream_seed(o.seed, epoch, 0));
    } else {
      std::vector<std::thread> pool;
      for (int t = 0; t < T; ++t)
        pool.emplace_back([&, t] {
          results[static_cast<std::size_t>(t)] =
              train_slice(sh, S * t / T, S * (t + 1) / T, stream_seed(o.seed, epoch, t));
        });
      for (auto& th : pool) th.join();
    }
    SliceResult sum;
    for (const auto& r : results) {
      sum.loss += r.loss;
      sum.pairs += r.pairs;
      sum.trained += r.trained;
    }
    st.trained_words += sum.trained;
    st.epoch_loss.push_back(sum.pairs > 0 ? sum.loss / static_cast<double>(sum.pairs) : 0.0);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
    train_seconds += secs;
    if (log) {
      std::ostringstream line;
      line << "embed: epoch " << epoch + 1 << "/" << o.epochs << ": loss " << std::fixed << std::setprecision(4)
           << st.epoch_loss.back() << ", lr " << std::setprecision(5) << rate(sh, sh.words_done.load()) << ", "
           << std::setprecision(0) << static_cast<double>(sh.words_done.load() - before) / std::max(secs, 1e-9)
           << " words/s, " << std::setprecision(1) << secs << " s\n";
      *log << line.str() << std::flush;  // a long run shows its progress as it goes
    }
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.words_per_second = static_cast<double>(o.epochs * st.vocab_tokens) / std::max(train_seconds, 1e-9);
  if (stats) *stats = st;
  return m;
}

std::string format_vec(const Word2VecModel& m) {
  std::string s;
  s.reserve(m.in.size() * 11 + m.vocab.words.size() * 8 + 32);
  s += std::to_string(m.vocab.words.size()) + " " + std::to_string(m.dim) + "\n";
  char buf[32];
  for (std::size_t i = 0; i < m.vocab.words.size(); ++i) {
    s += m.vocab.words[i];
    const float* v = m.in.data() + static_cast<std::int64_t>(i) * m.dim;
    for (std::int64_t d = 0; d < m.dim; ++d) {
      // Shortest text that reads back to the same float: the round trip through data/embeddings is exact.
      const auto r = std::to_chars(buf, buf + sizeof buf, v[d]);
      s += ' ';
      s.append(buf, r.ptr);
    }
    s += '\n';
  }
  return s;
}

void write_vec(const std::string& path, const Word2VecModel& m) { io::write_file_atomic(path, format_vec(m)); }

std::vector<std::pair<std::string, double>> nearest_words(const Word2VecModel& m, const std::string& word, int k) {
  const auto it = m.vocab.index.find(word);
  if (it == m.vocab.index.end()) return {};
  const auto norm = [&](std::int64_t row) {
    double s = 0;
    for (std::int64_t d = 0; d < m.dim; ++d) s += double(m.in[row * m.dim + d]) * m.in[row * m.dim + d];
    return std::sqrt(s);
  };
  const std::int64_t w = it->second;
  const double nw = norm(w);
  std::vector<std::pair<std::string, double>> all;
  for (std::int64_t r = 0; r < static_cast<std::int64_t>(m.vocab.words.size()); ++r) {
    if (r == w) continue;
    double dot = 0;
    for (std::int64_t d = 0; d < m.dim; ++d) dot += double(m.in[w * m.dim + d]) * m.in[r * m.dim + d];
    const double nr = norm(r);
    all.emplace_back(m.vocab.words[static_cast<std::size_t>(r)], nw > 0 && nr > 0 ? dot / (nw * nr) : 0.0);
  }
  const auto top = std::min<std::size_t>(static_cast<std::size_t>(std::max(k, 0)), all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top), all.end(),
                    [](const auto& a, const auto& b) { return a.second > b.second; });
  all.resize(top);
  return all;
}

}  // namespace loom::train
