// train/user_level.h: user-level bot detection on top of a trained tweet model (issue 14).
//
// Each user (a group of --group-col) is represented by up to N of its tweets (--user-tweets,
// chosen by --user-tweet-order; data/groups.h user_sets). Three user models (--user-model):
//   mean-prob  the mean of the tweet model's probabilities over the user's N tweets; nothing to train.
//   cnn        the tweet encoder's pooled feature vectors (Classifier::features, D floats each) stacked
//              as an [n, D] matrix per user, read by a Kim CNN over the tweet axis (widths 2,3,4 x 300
//              maps, ReLU, max over tweets, dropout, linear head; models/user_cnn.h). With
//              --freeze-encoder the vectors are computed once and only the CNN trains; without, the
//              encoder is fine-tuned through the CNN (every step runs the encoder on the batch's tweets).
//   knn        each user's mean tweet vector, L2-normalized; a user's score is the share of bots among
//              its k nearest training users by cosine similarity (models/knn.h; k = --k, default 1).
// The tweet model is the run's own (trained first, at tweet level, on the same grouped split) or
// a trained run given with --encoder RUN. Splits are by user (data/groups.h), so no account is on
// both sides. --balance-users adds resampled tweet sets of the minority label to the training users.
//
// Run folder: user_model.json (kind, N, order, k, sizes, the group column), user_model.safetensors
// (cnn: the CNN, plus the fine-tuned encoder under "encoder." when it was not frozen; knn: the
// training users' normalized mean vectors "vectors" [N, D] F64 and "labels" [N] I32; mean-prob has
// no tensors and no such file), report_user_test.txt/json (accuracy, precision, recall, F1, ROC-AUC,
// PR-AUC, confusion matrix at user level). The tensors file is written before the JSON and stamped
// with the kind in its metadata, so load_user_model refuses a mismatched pair.
// The user CNN trains with --dropout, --weight-decay and --clip-grad-norm of the run, in F32; its
// no-gradient passes (tweet vectors, scoring) run in --precision. Implementation: user_level.cc,
// the tweet vectors and per-user stacks in user_vectors.h.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "data/groups.h"
#include "models/classifier.h"
#include "train/evaluate.h"
#include "train/options.h"
#include "train/text_data.h"

namespace loom::train {

enum class UserModelKind { MeanProb, Cnn, Knn };
UserModelKind parse_user_model(const std::string& s);  // "mean-prob" | "cnn" | "knn"; Error otherwise
const char* user_model_name(UserModelKind k);

struct UserStageResult {
  std::optional<Evaluation> val, test;  // user-level, when the split has users
  std::int64_t train_users = 0, val_users = 0, test_users = 0;
  double seconds = 0, tweets_per_s = 0;  // the user stage's training (cnn) or fitting time
  std::vector<double> val_scores, test_scores;  // P(label_names[1]) per user set, in the splits' set order
};

// The user stage of `loom train` (after the tweet stage, or with --encoder): builds the user sets
// of each split from p.*_keys, trains or fits the user model on the training users (cnn: early
// stopping on the validation users' loss, best weights kept), evaluates val and test users, writes
// the files above into run_dir and the report to `out`. `tweet_model` may be fine-tuned (cnn
// without --freeze-encoder); the tweet model's own weights files are left as the tweet stage wrote them.
UserStageResult train_user_model(const TrainOptions& o, models::Classifier& tweet_model, const PreparedData& p,
                                 const std::string& run_dir, std::ostream& out);

// A run's user model, for eval and predict. Holds the tweet encoder it needs (the run's tweet
// model, or the fine-tuned copy stored with a cnn).
class UserModel {
 public:
  virtual ~UserModel() = default;
  virtual UserModelKind kind() const = 0;
  std::int64_t tweets_per_user = 10;
  data::TweetOrder order = data::TweetOrder::First;
  std::string group_col;
  // P(label_names[1]) for each user set, in order. `rows`: the encoded tweets the sets index.
  virtual std::vector<double> score(const std::vector<data::EncodedExample>& rows,
                                    const std::vector<data::UserSet>& sets, std::int64_t max_len,
                                    ops::Precision precision) const = 0;
};

// nullptr when run_dir has no user_model.json. `tweet_model` is the run's loaded tweet model
// (load_run); the UserModel keeps a reference to it (or to its own fine-tuned copy).
std::unique_ptr<UserModel> load_user_model(const std::string& run_dir, const models::Classifier& tweet_model,
                                           Device device);

}  // namespace loom::train
