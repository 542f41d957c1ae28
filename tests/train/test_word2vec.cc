// tests/train/test_word2vec.cc: `loom embed` and train/word2vec.h: the noise table's distribution,
// the subsampling probabilities, one SGNS step against PyTorch's autograd, determinism with one
// thread, the .vec round trip through data/embeddings (and loom train --embeddings), a planted
// neighbour on a synthetic corpus, and the errors a user meets.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "core/error.h"
#include "data/embeddings.h"
#include "data/vocab.h"
#include "tests/train/train_util.h"
#include "train/word2vec.h"

using namespace loom;
using loom::test::Cli;
using loom::test::read_bytes;
using loom::test::TempDir;

namespace {

// 8 planted pairs (aI, bI): each sentence holds one of the pair and two of the pair's four topic
// words cI_0..cI_3, among random filler words. aI and bI never meet, but share every context, so
// skip-gram must make them each other's nearest neighbour.
std::vector<std::vector<std::string>> planted_corpus(int sentences, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<std::string>> docs;
  for (int s = 0; s < sentences; ++s) {
    const int pair = static_cast<int>(rng() % 8);
    std::vector<std::string> doc;
    for (int f = 0; f < 2; ++f) doc.push_back("f" + std::to_string(rng() % 30));
    doc.push_back(std::string(rng() % 2 ? "a" : "b") + std::to_string(pair));
    for (int c = 0; c < 2; ++c) doc.push_back("c" + std::to_string(pair) + "_" + std::to_string(rng() % 4));
    for (int f = 0; f < 2; ++f) doc.push_back("f" + std::to_string(rng() % 30));
    docs.push_back(doc);
  }
  return docs;
}

train::Word2VecOptions small_options() {
  train::Word2VecOptions o;
  o.dim = 16;
  o.window = 3;
  o.negative = 5;
  o.min_count = 1;
  o.epochs = 5;
  o.subsample = 0;
  o.seed = 7;
  return o;
}

// A CSV of `docs` joined by spaces, in a column named `col`.
std::string corpus_csv(const std::vector<std::vector<std::string>>& docs, const std::string& col = "text") {
  std::string s = "id," + col + "\n";
  for (std::size_t i = 0; i < docs.size(); ++i) {
    s += std::to_string(i) + ",";
    for (std::size_t k = 0; k < docs[i].size(); ++k) s += (k ? " " : "") + docs[i][k];
    s += "\n";
  }
  return s;
}

}  // namespace

TEST_CASE("word2vec: the noise table draws words in proportion to count^0.75") {
  const std::vector<std::int64_t> counts = {1000, 100, 10, 1};
  const std::size_t size = 1000000;
  const auto table = train::build_noise_table(counts, size);
  REQUIRE(table.size() == size);
  std::vector<double> seen(4, 0);
  for (const auto id : table) seen[static_cast<std::size_t>(id)] += 1;
  double z = 0;
  for (const auto c : counts) z += std::pow(static_cast<double>(c), 0.75);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double want = std::pow(static_cast<double>(counts[i]), 0.75) / z;  // 0.8373, 0.1489, 0.0265, 0.0047
    CHECK(std::abs(seen[i] / static_cast<double>(size) - want) <= 2.0 / static_cast<double>(size));
  }
  // Ids are laid out in order: a uniform index draws the smoothed unigram distribution.
  CHECK(std::is_sorted(table.begin(), table.end()));
  // power 1 is the plain unigram distribution: the rarest word's share is 1/1111.
  const auto plain = train::build_noise_table(counts, size, 1.0);
  CHECK(std::count(plain.begin(), plain.end(), 3) == doctest::Approx(size / 1111.0).epsilon(0.002));
}

TEST_CASE("word2vec: subsampling keeps (sqrt(f/t) + 1) t / f of a word, at most all of it") {
  // f = 1e-3, t = 1e-4: (sqrt(10) + 1) * 0.1 = 0.41623
  CHECK(train::subsample_keep_probability(1000, 1000000, 1e-4) == doctest::Approx(0.4162277660).epsilon(1e-9));
  // f = 0.1 (a word like "the"): (sqrt(1000) + 1) * 1e-3 = 0.032623
  CHECK(train::subsample_keep_probability(100000, 1000000, 1e-4) == doctest::Approx(0.0326227766).epsilon(1e-9));
  CHECK(train::subsample_keep_probability(10, 1000000, 1e-4) == 1.0);  // rare words are always kept
  CHECK(train::subsample_keep_probability(100000, 1000000, 0.0) == 1.0);  // t = 0: no subsampling
}

TEST_CASE("word2vec: one SGNS step equals one SGD step of PyTorch's autograd on the same loss") {
  // Reference: torch (float64), loss = -logsigmoid(u0.v) - logsigmoid(-u1.v) - logsigmoid(-u2.v),
  // then v -= 0.5 * dv and U -= 0.5 * dU.
  std::vector<float> in = {0.1f, -0.2f, 0.3f};
  std::vector<float> out = {0.4f, 0.1f, -0.1f, -0.3f, 0.2f, 0.5f, 0.05f, -0.4f, 0.2f};
  const std::int32_t targets[3] = {0, 1, 2};
  std::vector<float> work(3);
  const double loss = train::sgns_step(in.data(), out.data(), targets, 3, 3, 0.5f, work.data());
  CHECK(loss == doctest::Approx(2.2003796542603746).epsilon(1e-6));
  const double want_in[3] = {0.2650937313509174, -0.1196366110108555, 0.09125900397958134};
  const double want_out[9] = {0.42512499895834377,  0.04975000208331251, -0.024625003124968764,
                              -0.3259994670077791,  0.2519989340155582,  0.42200159897666273,
                              0.023190668988410268, -0.3463813379768206, 0.11957200696523082};
  for (int d = 0; d < 3; ++d) CHECK(in[static_cast<std::size_t>(d)] == doctest::Approx(want_in[d]).epsilon(1e-5));
  for (int d = 0; d < 9; ++d) CHECK(out[static_cast<std::size_t>(d)] == doctest::Approx(want_out[d]).epsilon(1e-5));
}

TEST_CASE("word2vec: the vocabulary is by count, ties by first occurrence, without unstorable tokens") {
  const std::vector<std::vector<std::string>> docs = {{"b", "a", "c", "a"}, {"c", "d", "has space", "has space"}};
  const auto v = train::build_word2vec_vocab(docs, 1, 0);
  CHECK(v.words == std::vector<std::string>{"a", "c", "b", "d"});
  CHECK(v.counts == std::vector<std::int64_t>{2, 2, 1, 1});
  CHECK(train::build_word2vec_vocab(docs, 2, 0).words == std::vector<std::string>{"a", "c"});
  CHECK(train::build_word2vec_vocab(docs, 1, 3).words == std::vector<std::string>{"a", "c", "b"});
}

TEST_CASE("word2vec: a planted partner is the nearest neighbour, one thread repeats bitwise") {
  const auto docs = planted_corpus(3000, 11);
  const train::Word2VecOptions o = small_options();
  train::Word2VecStats st;
  const auto m = train::train_word2vec(docs, o, &st, nullptr);
  CHECK(st.documents == 3000);
  CHECK(st.corpus_tokens == 3000 * 7);
  CHECK(st.vocab_tokens == 3000 * 7);
  REQUIRE(st.epoch_loss.size() == 5);
  CHECK(st.epoch_loss.back() < st.epoch_loss.front());  // it learns
  for (int p = 0; p < 8; ++p) {
    const auto near = train::nearest_words(m, "a" + std::to_string(p), 1);
    REQUIRE(near.size() == 1);
    CHECK_MESSAGE(near[0].first == "b" + std::to_string(p), "a", p, "'s nearest is ", near[0].first);
  }
  CHECK(train::nearest_words(m, "nope", 3).empty());
  // Same seed, one thread: the same bytes. Another seed: other vectors.
  const auto again = train::train_word2vec(docs, o, nullptr, nullptr);
  CHECK(train::format_vec(again) == train::format_vec(m));
  train::Word2VecOptions other = o;
  other.seed = 8;
  CHECK(train::format_vec(train::train_word2vec(docs, other, nullptr, nullptr)) != train::format_vec(m));
  // Two Hogwild threads still learn the planted pairs (their bits may differ from run to run).
  // Hogwild is a deliberate race on the shared vectors, which ThreadSanitizer rightly reports: the
  // TSan shape skips this part (one thread, above, has no race).
#if defined(__SANITIZE_THREAD__)
  return;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return;
#endif
#endif
  train::Word2VecOptions two = o;
  two.threads = 2;
  const auto m2 = train::train_word2vec(docs, two, nullptr, nullptr);
  int right = 0;
  for (int p = 0; p < 8; ++p) right += train::nearest_words(m2, "a" + std::to_string(p), 1)[0].first == "b" + std::to_string(p);
  CHECK(right == 8);
}

TEST_CASE("word2vec: the .vec reads back exactly through data/embeddings") {
  const auto docs = planted_corpus(400, 3);
  train::Word2VecOptions o = small_options();
  o.epochs = 1;
  const auto m = train::train_word2vec(docs, o, nullptr, nullptr);
  TempDir dir("w2v");
  train::write_vec(dir.file("v.vec"), m);
  const std::string text = read_bytes(dir.file("v.vec"));
  CHECK(text.rfind(std::to_string(m.vocab.words.size()) + " 16\n", 0) == 0);
  // A vocabulary with every word and one that is not in the file.
  std::vector<std::string> tokens = {"<pad>", "<unk>"};
  for (const auto& w : m.vocab.words) tokens.push_back(w);
  tokens.push_back("absent");
  const data::Vocab vocab = data::Vocab::from_tokens(tokens);
  Tensor w = Tensor::zeros({vocab.size(), 16}, DType::F32, Device::cpu());
  const auto cov = data::load_pretrained_embeddings(dir.file("v.vec"), vocab, w);
  CHECK(cov.format == "word2vec");
  CHECK(cov.found == static_cast<std::int64_t>(m.vocab.words.size()));
  const float* got = w.data<float>();
  bool same = true;
  for (std::size_t i = 0; i < m.vocab.words.size(); ++i)
    for (std::int64_t d = 0; d < 16; ++d) same = same && got[(i + 2) * 16 + static_cast<std::size_t>(d)] == m.in[i * 16 + static_cast<std::size_t>(d)];
  CHECK(same);  // bit for bit: the writer prints the shortest round-trip form
}

TEST_CASE("embed: cli trains vectors that loom train --embeddings loads") {
  TempDir dir("embed");
  test::write_corpus(dir, 300);
  Cli embed({"embed", "--input", dir.file("train.csv"), "--input", dir.file("unlabeled.csv"), "--output",
             dir.file("v.vec"), "--dim", "16", "--min-count", "2", "--epochs", "2", "--show", "good"});
  REQUIRE(embed.status == 0);
  const std::string log = embed.out.str();
  CHECK(log.find("words/s") != std::string::npos);
  CHECK(log.find("vocabulary ") != std::string::npos);
  CHECK(log.find("nearest to 'good'") != std::string::npos);
  const std::string vec = read_bytes(dir.file("v.vec"));
  CHECK(vec.find(" 16\n") != std::string::npos);
  // Same flags, one thread (the default): the same file.
  Cli again({"embed", "--input", dir.file("train.csv"), "--input", dir.file("unlabeled.csv"), "--output",
             dir.file("w.vec"), "--dim", "16", "--min-count", "2", "--epochs", "2"});
  REQUIRE(again.status == 0);
  CHECK(read_bytes(dir.file("w.vec")) == vec);
  Cli train({"train", "--input", dir.file("train.csv"), "--arch", "cnn", "--embed-dim", "16", "--filters", "8",
             "--epochs", "1", "--device", "cpu", "--embeddings", dir.file("v.vec"), "--freeze-embeddings",
             "--ckpt-dir", dir.file("run")});
  REQUIRE(train.status == 0);
  const std::string tlog = train.out.str();
  CHECK(tlog.find("(word2vec, dim 16)") != std::string::npos);
  CHECK(tlog.find("matched 0 /") == std::string::npos);
}

TEST_CASE("embed: cli reports bad input and bad flags in one line") {
  TempDir dir("embed_err");
  const std::string good = dir.write("t.csv", corpus_csv(planted_corpus(50, 1)));
  CHECK_THROWS_WITH_AS(Cli({"embed", "--input", good, "--text-col", "tweet", "--output", dir.file("v.vec")}),
                       doctest::Contains("no column 'tweet' (columns: id, text)"), DataError);
  CHECK_THROWS_WITH_AS(Cli({"embed", "--input", dir.file("nope.csv"), "--output", dir.file("v.vec")}),
                       doctest::Contains("nope.csv"), DataError);
  const std::string empty = dir.write("e.csv", "id,text\n1,\n2,\"\"\n");
  CHECK_THROWS_WITH_AS(Cli({"embed", "--input", empty, "--output", dir.file("v.vec")}),
                       doctest::Contains("no tokens"), DataError);
  CHECK_THROWS_WITH_AS(Cli({"embed", "--input", good, "--min-count", "100000", "--output", dir.file("v.vec")}),
                       doctest::Contains("--min-count 100000"), DataError);
  CHECK_FALSE(std::filesystem::exists(dir.file("v.vec")));  // nothing written on failure
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--dim", "0"}, {"--window", "-1"}, {"--negative", "0"}, {"--lr", "0"}, {"--subsample", "2"},
           {"--threads", "0"}, {"--epochs", "0"}, {"--tokenizer", "bpe"}, {"--normalize", "x"}}) {
    std::vector<std::string> args = {"embed", "--input", good, "--output", dir.file("v.vec")};
    args.insert(args.end(), bad.begin(), bad.end());
    Cli c(args);
    CHECK_MESSAGE(c.status != 0, bad[0]);
    CHECK_MESSAGE(c.err.str().find(bad[0]) != std::string::npos, c.err.str());
  }
  Cli missing({"embed", "--input", good});
  CHECK(missing.status != 0);
  CHECK(missing.err.str().find("--output") != std::string::npos);
  // A malformed row is skipped and counted, not fatal.
  const std::string broken = dir.write("b.csv", corpus_csv(planted_corpus(50, 2)) + "x,\"unterminated\n");
  Cli skip({"embed", "--input", broken, "--min-count", "1", "--epochs", "1", "--output", dir.file("v.vec")});
  CHECK(skip.status == 0);
  CHECK(skip.out.str().find("1 malformed rows skipped") != std::string::npos);
}
