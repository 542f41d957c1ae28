// tests/train/test_user_level.cc: the user stage of the bot detector (train/user_level.h) on a small
// synthetic grouped dataset, built here in memory so the test needs no file and runs in seconds.
//
// The data: users of two labels, 3..10 tweets each, rows of different users interleaved. A tweet is
// 4..7 noise words plus, with probability 0.55, its user's label marker and, with probability 0.15,
// the other label's marker. A single tweet is therefore ambiguous (a tweet model gets ~0.7-0.8 of
// them right) while a user's 6 tweets together are not, which is what the user models must use:
// user-level accuracy well above chance (>= 0.8 of 20 test users; chance is 0.5, and a tweet-level
// vote of an ambiguous 6-tweet sample would miss several). The tweet model is a small bow model
// trained here for a few full-batch AdamW steps.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/groups.h"
#include "models/factory.h"
#include "ops/autograd.h"
#include "ops/loss.h"
#include "ops/optim.h"
#include "tests/support/temp_dir.h"
#include "tests/support/values.h"
#include "train/user_level.h"

using namespace loom;

namespace {

constexpr std::int32_t kVocab = 24, kBotMarker = 22, kHumanMarker = 23;  // ids 2..21: noise words
constexpr std::int64_t kTweets = 6;                                      // --user-tweets

struct Rng {  // splitmix64: the data is a pure function of the seed
  std::uint64_t s;
  std::uint64_t next() { return test::splitmix64(s); }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  std::int32_t below(std::int32_t n) { return static_cast<std::int32_t>(next() % static_cast<std::uint64_t>(n)); }
};

// One split: `bots` + `humans` users; keys "<prefix><i>"; rows interleaved across users.
void make_split(data::Dataset& d, std::vector<data::EncodedExample>& rows, std::vector<std::string>& keys,
                const std::string& prefix, int bots, int humans, Rng& rng) {
  d.label_names = {"human", "bot"};
  d.task = data::TaskKind::Binary;
  d.id_names = {"user_id"};
  std::vector<std::vector<data::EncodedExample>> users;
  std::vector<int> labels;
  for (int u = 0; u < bots + humans; ++u) {
    const int label = u < bots ? 1 : 0;
    const int count = 3 + (u % 8);  // 3..10 tweets: some below the widest CNN window, some above N
    std::vector<data::EncodedExample> tweets;
    for (int t = 0; t < count; ++t) {
      data::EncodedExample e;
      e.label = label;
      const int len = 4 + rng.below(4);
      for (int w = 0; w < len; ++w) e.ids.push_back(2 + rng.below(20));
      const std::int32_t own = label ? kBotMarker : kHumanMarker, other = label ? kHumanMarker : kBotMarker;
      if (rng.uniform() < 0.55) e.ids[static_cast<std::size_t>(rng.below(len))] = own;
      if (rng.uniform() < 0.15) e.ids[static_cast<std::size_t>(rng.below(len))] = other;
      tweets.push_back(e);
    }
    users.push_back(tweets);
    labels.push_back(label);
  }
  for (std::size_t t = 0; t < 10; ++t)  // interleave: tweet t of every user, then t + 1
    for (std::size_t u = 0; u < users.size(); ++u) {
      if (t >= users[u].size()) continue;
      data::Example ex;
      ex.label = labels[u];
      ex.ids = {prefix + std::to_string(u)};
      ex.line = static_cast<std::int64_t>(rows.size()) + 2;
      d.examples.push_back(ex);
      rows.push_back(users[u][t]);
      keys.push_back(prefix + std::to_string(u));
    }
}

train::PreparedData make_data(int train_bots, int train_humans, std::uint64_t seed) {
  Rng rng{seed};
  train::PreparedData p;
  make_split(p.train, p.train_rows, p.train_keys, "tr", train_bots, train_humans, rng);
  make_split(p.val, p.val_rows, p.val_keys, "va", 10, 10, rng);
  make_split(p.test, p.test_rows, p.test_keys, "te", 10, 10, rng);
  p.label_names = {"human", "bot"};
  p.task = data::TaskKind::Binary;
  return p;
}

// A bow tweet model (embedding 8), trained for 60 full-batch AdamW steps on the training tweets.
std::unique_ptr<models::Classifier> tweet_model(const train::PreparedData& p) {
  models::ModelConfig c;
  c.arch = models::Arch::Bow;
  c.vocab_size = kVocab;
  c.embed_dim = 8;
  c.num_outputs = 1;
  auto m = models::make_model(c, 3, Device::cpu());
  std::vector<std::int64_t> all(p.train_rows.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::int64_t>(i);
  const data::Batch b = data::collate(p.train_rows, all, 16, data::TaskKind::Binary, 2);
  ops::AdamWConfig ac;
  ac.lr = 0.05f;
  ops::AdamW opt(m->trainable_parameters(), ac);
  Generator gen(1);
  for (int step = 0; step < 60; ++step) {
    Tape tape;
    Tensor loss;
    {
      auto rec = tape.record();
      loss = ops::bce_with_logits(m->forward({b.tokens, b.lengths, b.meta}, layers::Phase::Train, gen), b.targets);
    }
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  }
  return m;
}

std::unique_ptr<models::Classifier> copy_of(const models::Classifier& m) {
  auto c = models::make_model(m.config(), 1234, Device::cpu());
  c->load_state_dict(m.state_dict());
  return c;
}

train::TrainOptions user_options(const std::string& kind) {
  train::TrainOptions o;
  o.group_col = "user_id";
  o.user_model = kind;
  o.user_tweets = kTweets;
  o.user_filters = 16;
  o.user_widths = {2, 3, 4};
  o.user_epochs = 20;
  o.user_lr = 1e-2;
  o.user_batch_size = 8;
  o.patience = 5;
  o.dropout = 0.2;
  o.knn_k = 3;
  o.max_len = 16;
  o.seed = 7;
  return o;
}

std::vector<data::UserSet> test_sets(const train::PreparedData& p) {
  const data::Groups g = data::make_groups(p.test, p.test_keys);
  std::vector<std::int64_t> ids(g.keys.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
  return data::user_sets(g, ids, kTweets, data::TweetOrder::First, 7);
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

}  // namespace

TEST_CASE("user level: each user model beats chance on synthetic users and reloads to the same scores") {
  const train::PreparedData p = make_data(30, 30, 11);
  const auto base = tweet_model(p);
  struct Variant {
    std::string kind;
    bool freeze;
  };
  for (const Variant& v : {Variant{"mean-prob", false}, Variant{"knn", false}, Variant{"cnn", true},
                           Variant{"cnn", false}}) {
    const std::string what = v.kind + (v.freeze ? " (frozen encoder)" : "");
    INFO(what);
    const test::TempDir dir("user_level");
    train::TrainOptions o = user_options(v.kind);
    o.freeze_encoder = v.freeze;
    auto model = copy_of(*base);  // fine-tuning changes it; the base stays as trained
    std::ostringstream log;
    const train::UserStageResult r = train::train_user_model(o, *model, p, dir.path(), log);
    INFO(log.str());
    CHECK(r.train_users == 60);
    CHECK(r.val_users == 20);
    CHECK(r.test_users == 20);
    REQUIRE(r.val.has_value());
    REQUIRE(r.test.has_value());
    CHECK(r.test->metrics.accuracy >= 0.8);
    CHECK(r.val->metrics.accuracy >= 0.8);
    CHECK(r.test->report.confusion.size() == 2);
    CHECK(r.tweets_per_s > 0);
    CHECK(exists(dir.file("user_model.json")));
    CHECK(exists(dir.file("report_user_test.txt")));
    CHECK(exists(dir.file("report_user_test.json")));
    CHECK(exists(dir.file("user_model.safetensors")) == (v.kind != "mean-prob"));
    CHECK(log.str().find("user-level test (20 users") != std::string::npos);

    // Reloaded: the same scores, bit for bit. A fine-tuned CNN is loaded next to the tweet model
    // as it was BEFORE fine-tuning: the scores can only match if the fine-tuned encoder was saved.
    const auto loaded = train::load_user_model(dir.path(), v.freeze || v.kind != "cnn" ? *model : *base, Device::cpu());
    REQUIRE(loaded != nullptr);
    CHECK(train::user_model_name(loaded->kind()) == v.kind);
    CHECK(loaded->tweets_per_user == kTweets);
    CHECK(loaded->group_col == "user_id");
    CHECK(loaded->score(p.test_rows, test_sets(p), o.max_len, ops::Precision::F32) == r.test_scores);
    if (v.kind == "cnn" && !v.freeze) {
      // The fine-tuned encoder differs from the one it started from.
      const auto a = model->state_dict(), b = base->state_dict();
      CHECK(a[0].second.to_vector() != b[0].second.to_vector());
    }
    if (v.kind != "mean-prob") {
      // A damaged tensors file is a CheckpointError naming it.
      test::write_bytes(dir.file("user_model.safetensors"), "{}");
      CHECK_THROWS_AS(train::load_user_model(dir.path(), *model, Device::cpu()), CheckpointError);
    }
  }
  const test::TempDir empty("user_level");
  CHECK(train::load_user_model(empty.path(), *base, Device::cpu()) == nullptr);
}

TEST_CASE("user level: mean-prob is the average of the tweet model's probabilities over each user's tweets") {
  const train::PreparedData p = make_data(10, 10, 5);
  const auto m = tweet_model(p);
  const test::TempDir dir("user_level");
  std::ostringstream log;
  const train::UserStageResult r = train::train_user_model(user_options("mean-prob"), *m, p, dir.path(), log);
  const train::Scores s = train::predict_scores(*m, p.test_rows, data::TaskKind::Binary, 2, 16, nullptr);
  const std::vector<data::UserSet> sets = test_sets(p);
  REQUIRE(sets.size() == r.test_scores.size());
  for (std::size_t u = 0; u < sets.size(); ++u) {
    double sum = 0;
    for (std::int64_t row : sets[u].rows) sum += s.probs[static_cast<std::size_t>(row)];
    // The user stage scores only the rows the sets use, so its batches differ from this call's and
    // the F32 logits may differ in the last bit (GEMM blocking): 1e-6 relative covers a few F32 ulps
    // (6e-8 each) through the sigmoid, whose slope is at most 1/4.
    CHECK(r.test_scores[u] == doctest::Approx(sum / static_cast<double>(sets[u].rows.size())).epsilon(1e-6));
    CHECK(static_cast<std::int64_t>(sets[u].rows.size()) <= kTweets);
  }
}

TEST_CASE("user level: --balance-users adds resampled sets of the minority label only") {
  const train::PreparedData p = make_data(12, 30, 9);  // 12 bots, 30 humans
  const data::Groups g = data::make_groups(p.train, p.train_keys);
  std::vector<std::int64_t> ids(g.keys.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
  const std::vector<data::UserSet> sets = data::user_sets(g, ids, kTweets, data::TweetOrder::First, 7);
  const std::vector<data::UserSet> balanced = data::balance_user_sets(g, sets, kTweets, 7);
  REQUIRE(balanced.size() == 60);  // 30 humans + 12 bots + 18 resampled bot sets
  for (std::size_t i = 0; i < sets.size(); ++i) CHECK(balanced[i].rows == sets[i].rows);  // originals first, unchanged
  int bots = 0;
  for (const auto& s : balanced) bots += s.label;
  CHECK(bots == 30);
  for (std::size_t i = sets.size(); i < balanced.size(); ++i) {
    CHECK(balanced[i].label == 1);
    CHECK(static_cast<std::int64_t>(balanced[i].rows.size()) == kTweets);
    CHECK(static_cast<std::int64_t>(g.rows[static_cast<std::size_t>(balanced[i].group)].size()) > kTweets);
  }
  // The user stage trains on them and records how many sets it had.
  const auto m = tweet_model(p);
  const test::TempDir dir("user_level");
  train::TrainOptions o = user_options("knn");
  o.balance_users = true;
  std::ostringstream log;
  const train::UserStageResult r = train::train_user_model(o, *m, p, dir.path(), log);
  CHECK(r.train_users == 42);
  std::ifstream in(dir.file("user_model.json"));
  nlohmann::json j;
  in >> j;
  CHECK(j.at("train_sets").get<int>() == 60);
  CHECK(log.str().find("+18 resampled sets") != std::string::npos);
}

TEST_CASE("user level: options it cannot honour are clear errors") {
  train::PreparedData p = make_data(4, 4, 3);
  const auto m = tweet_model(p);
  const test::TempDir dir("user_level");
  std::ostringstream log;
  auto message = [&](const train::TrainOptions& o) {
    try {
      train::train_user_model(o, *m, p, dir.path(), log);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(message(user_options("vote")).find("unknown user model 'vote'") != std::string::npos);
  train::TrainOptions o = user_options("cnn");
  o.group_col.clear();
  CHECK(message(o).find("needs --group-col") != std::string::npos);
  p.task = data::TaskKind::MultiClass;
  p.label_names = {"a", "b", "c"};
  CHECK(message(user_options("cnn")).find("user-level models are binary") != std::string::npos);
}

TEST_CASE("user level: user_model.json carries the set choice, a broken one names the problem") {
  const train::PreparedData p = make_data(6, 6, 4);
  const auto m = tweet_model(p);
  const test::TempDir dir("user_level");
  train::TrainOptions o = user_options("knn");
  o.user_tweet_order = "last";
  o.knn_k = 2;
  std::ostringstream log;
  const train::UserStageResult r = train::train_user_model(o, *m, p, dir.path(), log);
  const auto loaded = train::load_user_model(dir.path(), *m, Device::cpu());
  REQUIRE(loaded != nullptr);
  CHECK(loaded->order == data::TweetOrder::Last);
  CHECK(loaded->tweets_per_user == kTweets);
  // The last N tweets of each test user, scored by the reloaded model: the stage's own scores.
  const data::Groups g = data::make_groups(p.test, p.test_keys);
  std::vector<std::int64_t> ids(g.keys.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
  const auto sets = data::user_sets(g, ids, kTweets, data::TweetOrder::Last, 7);
  CHECK(loaded->score(p.test_rows, sets, o.max_len, ops::Precision::F32) == r.test_scores);

  std::ifstream in(dir.file("user_model.json"));
  nlohmann::json j;
  in >> j;
  CHECK(j.at("k").get<int>() == 2);
  j.erase("tweets_per_user");
  test::write_bytes(dir.file("user_model.json"), j.dump());
  try {
    train::load_user_model(dir.path(), *m, Device::cpu());
    FAIL("no error");
  } catch (const CheckpointError& e) {
    CHECK(std::string(e.what()).find("tweets_per_user") != std::string::npos);
  }
}
