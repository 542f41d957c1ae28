// train/user_level.cc: the user stage of the bot detector: user sets per split, the three user
// models (mean-prob, the tweet-vector CNN, cosine kNN), their user-level reports and their files.
// See train/user_level.h for what each model is and what the run folder holds.
//
// Choices made here:
//   - Tweet vectors are the tweet model's features() in Phase::Eval (no dropout), computed once per
//     distinct row a split's sets use, in batches sorted by length (a row's features do not depend
//     on its batch-mates or its padding, so this only saves padding work).
//   - The user CNN trains in F32 (the gradient passes); the no-gradient passes (tweet vectors,
//     scoring) run in the run's --precision, as the tweet stage's evaluation does.
//   - The user CNN's dropout is --dropout; its loss is BCE with logits on the user's label; the
//     gradient norm is clipped by --clip-grad-norm; AdamW takes --user-lr and --weight-decay.
//   - Early stopping monitors the validation users' BCE (--patience, --min-delta); the best epoch's
//     weights (the CNN's, and the encoder's when it is fine-tuned) are kept in memory and restored.
//     Without validation users every epoch runs and the last weights are kept.
//   - Speed: tweets/s = tweet rows the fitting read (each row once per pass: the encoder's pass for
//     the training users' vectors, plus one per epoch through the CNN) / fitting seconds. mean-prob
//     fits nothing, so its rate is that of scoring the validation and test users' tweets.
#include "train/user_level.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "models/factory.h"
#include "models/knn.h"
#include "models/user_cnn.h"
#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/embedding.h"
#include "ops/loss.h"
#include "ops/optim.h"
#include "ops/shape_ops.h"
#include "train/checkpoint.h"
#include "train/early_stopping.h"
#include "train/runtime.h"
#include "train/user_vectors.h"

namespace loom::train {

using Clock = std::chrono::steady_clock;
using detail::TweetVectors;

UserModelKind parse_user_model(const std::string& s) {
  if (s == "mean-prob") return UserModelKind::MeanProb;
  if (s == "cnn") return UserModelKind::Cnn;
  if (s == "knn") return UserModelKind::Knn;
  LOOM_THROW(Error, "--user-model: unknown user model '", s, "' (expected mean-prob, cnn or knn)");
}

const char* user_model_name(UserModelKind k) {
  switch (k) {
    case UserModelKind::MeanProb: return "mean-prob";
    case UserModelKind::Cnn: return "cnn";
    case UserModelKind::Knn: return "knn";
  }
  return "?";
}

namespace {

constexpr std::uint32_t kDomainUserShuffle = 0x55534552;  // "USER": the user CNN's epoch order

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string fmt(double v, int digits = 4) {
  if (std::isnan(v)) return "n/a";
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

// ---- the three user models ----

class MeanProbUser final : public UserModel {
 public:
  explicit MeanProbUser(const models::Classifier& tweet) : tweet_(tweet) {}
  UserModelKind kind() const override { return UserModelKind::MeanProb; }
  std::vector<double> score(const std::vector<data::EncodedExample>& rows, const std::vector<data::UserSet>& sets,
                            std::int64_t max_len, ops::Precision precision) const override {
    return detail::mean_probabilities(tweet_, rows, sets, max_len, precision);
  }

 private:
  const models::Classifier& tweet_;
};

class KnnUser final : public UserModel {
 public:
  KnnUser(const models::Classifier& tweet, models::CosineKnn knn) : tweet_(tweet), knn_(std::move(knn)) {}
  UserModelKind kind() const override { return UserModelKind::Knn; }
  std::vector<double> score(const std::vector<data::EncodedExample>& rows, const std::vector<data::UserSet>& sets,
                            std::int64_t max_len, ops::Precision precision) const override {
    if (sets.empty()) return {};
    const TweetVectors v = detail::tweet_vectors(tweet_, rows, sets, max_len, precision);
    return knn_.score(detail::mean_vectors(v, sets));
  }
  const models::CosineKnn& knn() const { return knn_; }

 private:
  const models::Classifier& tweet_;
  models::CosineKnn knn_;
};

class CnnUser final : public UserModel {
 public:
  // `own` is the fine-tuned encoder when the model carries one (load_user_model); otherwise the
  // encoder is `tweet` (the run's tweet model, which training may have fine-tuned in place).
  CnnUser(const models::Classifier& tweet, std::unique_ptr<models::Classifier> own, std::unique_ptr<models::UserCnn> cnn)
      : own_(std::move(own)), encoder_(own_ ? *own_ : tweet), cnn_(std::move(cnn)) {}
  UserModelKind kind() const override { return UserModelKind::Cnn; }
  std::vector<double> score(const std::vector<data::EncodedExample>& rows, const std::vector<data::UserSet>& sets,
                            std::int64_t max_len, ops::Precision precision) const override {
    if (sets.empty()) return {};
    const TweetVectors v = detail::tweet_vectors(encoder_, rows, sets, max_len, precision);
    std::vector<double> out;
    for (double z : detail::cnn_logits(*cnn_, v, sets, precision)) out.push_back(1.0 / (1.0 + std::exp(-z)));
    return out;
  }

 private:
  std::unique_ptr<models::Classifier> own_;
  const models::Classifier& encoder_;
  std::unique_ptr<models::UserCnn> cnn_;
};

// ---- the user sets of the splits ----

struct SplitUsers {
  data::Groups groups;
  std::vector<data::UserSet> sets;
  std::int64_t users = 0;  // distinct users (sets before balancing)
};

SplitUsers split_users(const data::Dataset& d, const std::vector<std::string>& keys, const TrainOptions& o,
                       data::TweetOrder order) {
  SplitUsers s;
  if (d.examples.empty()) return s;
  LOOM_CHECK(keys.size() == d.examples.size(), "user stage: ", keys.size(), " group keys for ", d.examples.size(),
             " examples (the split's keys were not prepared: --group-col)");
  s.groups = data::make_groups(d, keys);
  std::vector<std::int64_t> ids(s.groups.keys.size());
  for (std::size_t g = 0; g < ids.size(); ++g) ids[g] = static_cast<std::int64_t>(g);
  s.sets = data::user_sets(s.groups, ids, o.user_tweets, order, o.seed);
  s.users = static_cast<std::int64_t>(s.sets.size());
  return s;
}

std::int64_t tweets_in(const std::vector<data::UserSet>& sets) {
  std::int64_t n = 0;
  for (const auto& s : sets) n += static_cast<std::int64_t>(s.rows.size());
  return n;
}

// One labeled example per user, what evaluate() reads the truth from.
std::vector<data::EncodedExample> user_truth(const std::vector<data::UserSet>& sets) {
  std::vector<data::EncodedExample> out(sets.size());
  for (std::size_t i = 0; i < sets.size(); ++i) out[i].label = sets[i].label;
  return out;
}

Evaluation evaluate_users(const std::vector<double>& probs, const std::vector<data::UserSet>& sets,
                          const std::vector<std::string>& label_names, double threshold, double loss) {
  Scores s;
  s.n = static_cast<std::int64_t>(sets.size());
  s.k = 1;
  s.probs = probs;
  s.loss = loss;
  return evaluate(s, user_truth(sets), data::TaskKind::Binary, label_names, threshold);
}

// ---- the user CNN's training ----

// Mean BCE with logits over the users, in double on the host (the validation loss).
double bce_of(const std::vector<double>& logits, const std::vector<data::UserSet>& sets) {
  if (sets.empty()) return std::nan("");
  double sum = 0.0;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const double z = logits[i], y = sets[i].label == 1 ? 1.0 : 0.0;
    sum += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::fabs(z)));  // softplus(z) - y z, stable
  }
  return sum / static_cast<double>(sets.size());
}

// Copies of the tensors' values (the best epoch's weights, kept in memory).
std::vector<Tensor> snapshot(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  for (const Tensor& p : params) out.push_back(p.clone());
  return out;
}
void restore(const std::vector<Tensor>& params, const std::vector<Tensor>& saved) {
  for (std::size_t i = 0; i < params.size(); ++i) Tensor(params[i]).copy_from(saved[i]);
}

struct CnnFit {
  std::unique_ptr<models::UserCnn> cnn;
  std::int64_t tweets_read = 0;
  int epochs = 0, best_epoch = -1;
};

// Trains the user CNN on the training sets (frozen: on fixed tweet vectors; otherwise the encoder
// runs inside every step and is updated too). Validation sets drive early stopping.
CnnFit fit_cnn(const TrainOptions& o, models::Classifier& encoder, const PreparedData& p,
               const std::vector<data::UserSet>& train, const std::vector<data::UserSet>& val,
               ops::Precision precision, std::ostream& out) {
  CnnFit fit;
  const bool frozen = o.freeze_encoder;
  const Device device = encoder.device();
  // Frozen: the training users' vectors once. Fine-tuned: the vector size from one row.
  TweetVectors train_vectors;
  if (frozen) {
    train_vectors = detail::tweet_vectors(encoder, p.train_rows, train, o.max_len, precision);
    fit.tweets_read += static_cast<std::int64_t>(train_vectors.rows.size());
  }
  const std::int64_t D =
      frozen ? train_vectors.dim
             : detail::tweet_vectors(encoder, p.train_rows, {train.front()}, o.max_len, precision).dim;
  models::UserCnnConfig cc;
  cc.input_size = D;
  cc.widths = o.user_widths;
  cc.filters = o.user_filters;
  cc.dropout = static_cast<float>(o.dropout);
  cc.conv_impl = parse_impl(o.impl);
  fit.cnn = std::make_unique<models::UserCnn>(cc, models::Classifier::sub_seed(o.seed, 0x75CE), device);
  models::UserCnn& cnn = *fit.cnn;

  std::vector<Tensor> params = cnn.parameters();
  std::vector<Tensor> encoder_params;
  if (!frozen) encoder_params = encoder.trainable_parameters();
  params.insert(params.end(), encoder_params.begin(), encoder_params.end());
  ops::AdamWConfig ac;
  ac.lr = static_cast<float>(o.user_lr);
  ac.weight_decay = static_cast<float>(o.weight_decay);
  ops::AdamW opt(params, ac);
  EarlyStopping stopper(MonitorSpec{"val_loss", MetricMode::Min}, o.patience, o.min_delta);
  std::vector<Tensor> best;
  Generator gen(models::Classifier::sub_seed(o.seed, 0x75CF));  // dropout of the CNN (and the encoder)
  std::string widths;
  for (std::int64_t w : o.user_widths) widths += (widths.empty() ? "" : ",") + std::to_string(w);
  out << "user cnn: widths " << widths << " x " << o.user_filters << " maps over " << D << "-float tweet vectors, "
      << (frozen ? "encoder frozen" : "encoder fine-tuned") << ", " << train.size() << " training sets, "
      << o.user_epochs << " epochs max, batch " << o.user_batch_size << " users, AdamW lr " << o.user_lr << "\n";

  const std::int64_t S = static_cast<std::int64_t>(train.size());
  TweetVectors val_vectors;  // frozen: computed once; fine-tuned: recomputed each epoch
  for (int epoch = 0; epoch < o.user_epochs; ++epoch) {
    const auto t0 = Clock::now();
    std::vector<std::int64_t> order(static_cast<std::size_t>(S));
    for (std::int64_t i = 0; i < S; ++i) order[i] = i;
    for (std::int64_t i = S - 1; i > 0; --i)  // seeded Fisher-Yates: the order is a function of (seed, epoch)
      std::swap(order[i], order[data::draw_below(static_cast<std::uint64_t>(i + 1), o.seed, static_cast<std::uint64_t>(i),
                                                 static_cast<std::uint32_t>(epoch), kDomainUserShuffle)]);
    double loss_sum = 0.0;
    std::int64_t tweets = 0;
    for (std::int64_t start = 0; start < S; start += o.user_batch_size) {
      const std::int64_t end = std::min(S, start + o.user_batch_size);
      std::vector<data::UserSet> batch;
      for (std::int64_t i = start; i < end; ++i) batch.push_back(train[order[i]]);
      std::vector<float> y;
      for (const auto& s : batch) y.push_back(s.label == 1 ? 1.0f : 0.0f);
      const Tensor targets = Tensor::from_vector(y, {static_cast<std::int64_t>(batch.size()), 1}).to(device);
      Tape tape;
      Tensor loss;
      {
        auto rec = tape.record();
        const detail::CnnInput in = frozen ? detail::stack_vectors(train_vectors, batch, device)
                                           : detail::encode_batch(encoder, p.train_rows, batch, o.max_len, gen);
        loss = ops::bce_with_logits(cnn.forward(in.x, in.counts, layers::Phase::Train, gen), targets);
      }
      opt.zero_grad();
      tape.backward(loss);
      tape.clear();
      if (o.clip_grad_norm > 0) ops::clip_grad_norm(params, o.clip_grad_norm);
      opt.step();
      loss_sum += loss.item() * static_cast<double>(batch.size());
      tweets += tweets_in(batch);
    }
    fit.tweets_read += tweets;  // each training tweet once per epoch (through the encoder too when fine-tuned)
    ++fit.epochs;
    // Validation: the current encoder's vectors (recomputed only when it is being fine-tuned).
    double val_loss = std::nan(""), val_acc = std::nan("");
    if (!val.empty()) {
      if (!frozen || val_vectors.rows.empty())
        val_vectors = detail::tweet_vectors(encoder, p.val_rows, val, o.max_len, precision);
      const std::vector<double> z = detail::cnn_logits(cnn, val_vectors, val, precision);
      val_loss = bce_of(z, val);
      std::int64_t correct = 0;
      for (std::size_t i = 0; i < val.size(); ++i) correct += ((z[i] >= 0.0) == (val[i].label == 1)) ? 1 : 0;
      val_acc = static_cast<double>(correct) / static_cast<double>(val.size());
    }
    const double secs = seconds_since(t0);
    out << "user epoch " << epoch + 1 << "/" << o.user_epochs << ": train loss " << fmt(loss_sum / S) << ", val loss "
        << fmt(val_loss) << ", val acc " << fmt(val_acc) << ", " << fmt(secs, 1) << " s ("
        << fmt(static_cast<double>(tweets) / std::max(secs, 1e-9), 0) << " tweets/s)\n";
    if (val.empty()) continue;
    if (stopper.update(val_loss, epoch + 1)) {
      best = snapshot(params);
      fit.best_epoch = epoch + 1;
    }
    if (stopper.should_stop()) {
      out << "user cnn: early stop after epoch " << epoch + 1 << " (best epoch " << fit.best_epoch << ")\n";
      break;
    }
  }
  if (!best.empty()) restore(params, best);
  return fit;
}

// ---- the files ----

std::string order_name(data::TweetOrder t) {
  switch (t) {
    case data::TweetOrder::First: return "first";
    case data::TweetOrder::Last: return "last";
    case data::TweetOrder::Random: return "random";
  }
  return "?";
}

}  // namespace

UserStageResult train_user_model(const TrainOptions& o, models::Classifier& tweet_model, const PreparedData& p,
                                 const std::string& run_dir, std::ostream& out) {
  const UserModelKind kind = parse_user_model(o.user_model);
  LOOM_CHECK(!o.group_col.empty(), "--user-model ", o.user_model, " needs --group-col (the column naming each user)");
  LOOM_CHECK(p.task == data::TaskKind::Binary && p.label_names.size() == 2, "--user-model ", o.user_model,
             ": user-level models are binary (bot vs human), but the task is ", data::to_string(p.task), " with ",
             p.label_names.size(), " labels");
  LOOM_CHECK(o.user_tweets >= 1, "--user-tweets must be >= 1, got ", o.user_tweets);
  LOOM_CHECK(o.user_batch_size >= 1, "--user-batch-size must be >= 1, got ", o.user_batch_size);
  const data::TweetOrder order = data::parse_tweet_order(o.user_tweet_order);
  const ops::Precision precision = check_precision(o.precision);

  SplitUsers tr = split_users(p.train, p.train_keys, o, order);
  const SplitUsers va = split_users(p.val, p.val_keys, o, order);
  const SplitUsers te = split_users(p.test, p.test_keys, o, order);
  LOOM_CHECK(!tr.sets.empty(), "user stage: the training split has no users");
  std::vector<data::UserSet> train_sets = tr.sets;
  if (o.balance_users) train_sets = data::balance_user_sets(tr.groups, tr.sets, o.user_tweets, o.seed);

  UserStageResult r;
  r.train_users = tr.users;
  r.val_users = va.users;
  r.test_users = te.users;
  out << "\nuser level: " << user_model_name(kind) << ", up to " << o.user_tweets << " tweets per user ("
      << o.user_tweet_order << "), users: train " << tr.users;
  if (train_sets.size() > tr.sets.size()) out << " (+" << train_sets.size() - tr.sets.size() << " resampled sets)";
  out << ", val " << va.users << ", test " << te.users << "\n";

  // Fit.
  const auto t0 = Clock::now();
  std::unique_ptr<UserModel> model;
  std::int64_t tweets_read = 0;
  nlohmann::json extra;
  io::NamedTensors tensors;
  if (kind == UserModelKind::MeanProb) {
    model = std::make_unique<MeanProbUser>(tweet_model);
  } else if (kind == UserModelKind::Knn) {
    const TweetVectors v = detail::tweet_vectors(tweet_model, p.train_rows, train_sets, o.max_len, precision);
    tweets_read = static_cast<std::int64_t>(v.rows.size());
    models::CosineKnn knn(o.knn_k);
    std::vector<int> labels;
    for (const auto& s : train_sets) labels.push_back(s.label);
    knn.fit(detail::mean_vectors(v, train_sets), labels);
    extra["feature_size"] = v.dim;
    tensors.emplace_back("vectors", knn.normalized());
    tensors.emplace_back("labels", Tensor::from_vector(labels, {static_cast<std::int64_t>(labels.size())}));
    model = std::make_unique<KnnUser>(tweet_model, std::move(knn));
  } else {
    CnnFit fit = fit_cnn(o, tweet_model, p, train_sets, va.sets, precision, out);
    tweets_read = fit.tweets_read;
    extra["cnn"] = fit.cnn->config().to_json();
    extra["epochs"] = fit.epochs;
    extra["best_epoch"] = fit.best_epoch;
    for (auto& [name, t] : fit.cnn->state_dict()) tensors.emplace_back(name, t);
    if (!o.freeze_encoder)
      for (auto& [name, t] : tweet_model.state_dict()) tensors.emplace_back("encoder." + name, t);
    model = std::make_unique<CnnUser>(tweet_model, nullptr, std::move(fit.cnn));
  }
  r.seconds = seconds_since(t0);
  model->tweets_per_user = o.user_tweets;
  model->order = order;
  model->group_col = o.group_col;

  // Evaluate the validation and test users.
  const auto e0 = Clock::now();
  const std::vector<double> val_p = model->score(p.val_rows, va.sets, o.max_len, precision);
  const std::vector<double> test_p = model->score(p.test_rows, te.sets, o.max_len, precision);
  const double eval_secs = seconds_since(e0);
  r.val_scores = val_p;
  r.test_scores = test_p;
  if (kind == UserModelKind::MeanProb) {
    tweets_read = tweets_in(va.sets) + tweets_in(te.sets);
    r.seconds = eval_secs;
  }
  r.tweets_per_s = static_cast<double>(tweets_read) / std::max(r.seconds, 1e-9);
  out << "user stage: " << fmt(r.seconds, 2) << " s, " << tweets_read << " tweets, " << fmt(r.tweets_per_s, 0)
      << " tweets/s (" << (kind == UserModelKind::MeanProb ? "scoring val and test" : "fitting") << ")\n";
  if (!va.sets.empty()) {
    r.val = evaluate_users(val_p, va.sets, p.label_names, o.threshold, std::nan(""));
    const EvalMetrics& m = r.val->metrics;
    out << "user-level validation (" << va.users << " users): accuracy " << fmt(m.accuracy) << ", precision "
        << fmt(m.precision) << ", recall " << fmt(m.recall) << ", f1 " << fmt(m.f1) << ", roc_auc " << fmt(m.auc)
        << ", pr_auc " << fmt(m.pr_auc) << "\n";
  }
  if (!te.sets.empty()) {
    r.test = evaluate_users(test_p, te.sets, p.label_names, o.threshold, std::nan(""));
    const EvalMetrics& m = r.test->metrics;
    out << "\nuser-level test (" << te.users << " users, " << user_model_name(kind) << "): roc_auc " << fmt(m.auc)
        << ", pr_auc " << fmt(m.pr_auc) << "\n"
        << r.test->text();
    io::write_file_atomic(run_dir + "/report_user_test.txt", r.test->text());
    nlohmann::json j = r.test->json();
    j["user_model"] = user_model_name(kind);
    j["users"] = te.users;
    j["tweets_per_user"] = o.user_tweets;
    write_json_file(run_dir + "/report_user_test.json", j);
  }

  // The model's files: the tensors first, then the JSON that names them (a reader that finds the
  // JSON finds its tensors; the stamp in both lets load_user_model refuse a mismatched pair).
  nlohmann::json j = {{"kind", user_model_name(kind)},
                      {"tweets_per_user", o.user_tweets},
                      {"order", order_name(order)},
                      {"k", o.knn_k},
                      {"group_col", o.group_col},
                      {"freeze_encoder", o.freeze_encoder},
                      {"encoder_fine_tuned", kind == UserModelKind::Cnn && !o.freeze_encoder},
                      {"balance_users", o.balance_users},
                      {"train_users", tr.users},
                      {"train_sets", static_cast<std::int64_t>(train_sets.size())},
                      {"val_users", va.users},
                      {"test_users", te.users},
                      {"seed", o.seed}};
  if (extra.is_object()) j.update(extra);
  if (!tensors.empty())
    io::write_safetensors(run_dir + "/user_model.safetensors", tensors, {{"user_model", user_model_name(kind)}});
  write_json_file(run_dir + "/user_model.json", j);
  return r;
}

std::unique_ptr<UserModel> load_user_model(const std::string& run_dir, const models::Classifier& tweet_model,
                                           Device device) {
  const std::string json_path = run_dir + "/user_model.json", st_path = run_dir + "/user_model.safetensors";
  {
    std::ifstream probe(json_path);
    if (!probe) return nullptr;
  }
  const nlohmann::json j = read_json_file(json_path);
  auto field = [&](const char* name) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(name))
      LOOM_THROW(CheckpointError, json_path, ": missing field '", name, "'");
    return j.at(name);
  };
  UserModelKind kind;
  std::int64_t n = 0;
  int k = 1;
  data::TweetOrder order;
  std::string group_col;
  bool fine_tuned = false;
  try {
    kind = parse_user_model(field("kind").get<std::string>());
    n = field("tweets_per_user").get<std::int64_t>();
    k = field("k").get<int>();
    order = data::parse_tweet_order(field("order").get<std::string>());
    group_col = field("group_col").get<std::string>();
    fine_tuned = field("encoder_fine_tuned").get<bool>();
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {  // a wrong type (nlohmann) or value (parse_*)
    LOOM_THROW(CheckpointError, json_path, ": ", e.what());
  }
  if (n < 1) LOOM_THROW(CheckpointError, json_path, ": tweets_per_user must be >= 1, got ", n);

  std::unique_ptr<UserModel> model;
  if (kind == UserModelKind::MeanProb) {
    model = std::make_unique<MeanProbUser>(tweet_model);
  } else {
    const io::SafetensorsFile f = io::read_safetensors(st_path);
    const auto stamp = f.metadata.find("user_model");
    if (stamp == f.metadata.end() || stamp->second != user_model_name(kind))
      LOOM_THROW(CheckpointError, st_path, ": holds a '", stamp == f.metadata.end() ? "?" : stamp->second,
                 "' user model but user_model.json names '", user_model_name(kind), "'");
    auto find = [&](const std::string& name) -> const Tensor& {
      for (const auto& [nm, t] : f.tensors)
        if (nm == name) return t;
      LOOM_THROW(CheckpointError, st_path, ": missing tensor '", name, "'");
    };
    if (kind == UserModelKind::Knn) {
      const Tensor& labels = find("labels");
      if (labels.dtype() != DType::I32 || labels.ndim() != 1)
        LOOM_THROW(CheckpointError, st_path, ": 'labels' must be i32 [N], found ", labels.str());
      models::CosineKnn knn(k);
      try {
        knn.restore(find("vectors"), labels.to_vector_i32());
      } catch (const CheckpointError&) {
        throw;
      } catch (const Error& e) {
        LOOM_THROW(CheckpointError, st_path, ": ", e.what());
      }
      model = std::make_unique<KnnUser>(tweet_model, std::move(knn));
    } else {
      models::UserCnnConfig cc;
      try {
        cc = models::UserCnnConfig::from_json(field("cnn"));
      } catch (const Error& e) {
        LOOM_THROW(CheckpointError, json_path, ": ", e.what());
      }
      auto cnn = std::make_unique<models::UserCnn>(cc, 0, device);
      io::NamedTensors cnn_tensors, encoder_tensors;
      for (const auto& [name, t] : f.tensors) {
        if (name.rfind("encoder.", 0) == 0) encoder_tensors.emplace_back(name.substr(8), t);
        else cnn_tensors.emplace_back(name, t);
      }
      std::unique_ptr<models::Classifier> own;
      try {
        cnn->load_state_dict(cnn_tensors);
        if (fine_tuned) {
          // The fine-tuned copy of the run's tweet model: same architecture, its own weights.
          own = models::make_model(tweet_model.config(), 0, device, tweet_model.dtype());
          own->load_state_dict(encoder_tensors);
        } else if (!encoder_tensors.empty()) {
          LOOM_THROW(CheckpointError, "encoder tensors in a model whose encoder was frozen");
        }
      } catch (const Error& e) {
        LOOM_THROW(CheckpointError, st_path, ": ", e.what());
      }
      model = std::make_unique<CnnUser>(tweet_model, std::move(own), std::move(cnn));
    }
  }
  model->tweets_per_user = n;
  model->order = order;
  model->group_col = group_col;
  return model;
}

}  // namespace loom::train
