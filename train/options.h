// train/options.h: every choice of `loom train`, as one plain struct.
//
// The command line (tools/train.cc) fills it, the trainer reads it, and it is saved whole in the
// run's config.json ("training"), so a run can be reproduced from its folder and `--resume DIR`
// needs no other flag. Defaults are the documented ones (`loom train --help`, train/README.md):
// they follow Keras/PyTorch conventions (Keras' EarlyStopping and validation_split, PyTorch's
// AdamW betas and eps, clip_grad_norm_ over all parameters).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loom::train {

struct TrainOptions {
  // ---- data ----
  std::string input;                       // --input FILE (required)
  std::vector<std::string> more_inputs;    // --input given again: more training files, merged with the
                                           // first and deduplicated by normalized text (train/text_data.cc)
  std::string format = "csv";              // csv | sentiment140 | fasttext
  std::string encoding = "utf-8";          // utf-8 | latin1 (the raw Sentiment140 file is Latin-1)
  std::string text_col = "text", label_col = "label";
  std::vector<std::string> label_cols;     // multi-label: one 0/1 column per label
  std::vector<std::string> id_cols;        // passed through to predictions
  std::string on_bad_row = "fail";         // fail | skip
  std::string val_path, test_path;         // --val FILE / --test FILE
  double val_split = 0.1, test_split = 0.1;  // used when the matching file is not given

  // ---- account metadata and users (bot detection: data/metadata.h, data/groups.h) ----
  std::string accounts;                    // --accounts FILE (one row per account)
  std::string join_col = "user_id";        // --join COL: the key in --input and --accounts
  std::vector<std::string> meta_cols;      // --meta-cols a,b,c | all-numeric (empty: no metadata)
  std::string meta_features = "engineered";  // engineered | raw
  std::string missing_account = "fail";    // fail | skip | keep: a tweet whose account is absent
  std::string accounts_without_tweets = "keep";  // keep (empty text) | drop
  std::string group_col;                   // --group-col COL: splits keep each group whole
  int cv = 0;                              // --cv K (>= 2): grouped stratified K-fold cross-validation

  // ---- text ----
  std::string tokenizer = "tweet";         // tweet | whitespace | char
  std::string normalize = "none";          // none | glove-twitter
  std::int64_t max_vocab = 20000, min_freq = 1, max_len = 64;
  bool bucket_by_length = false;
  std::string embeddings;                  // GloVe / word2vec text file
  bool freeze_embeddings = false;
  double word_dropout = 0.0;               // training only: each token becomes <unk> with this probability

  // ---- model ----
  std::string arch = "lstm-cnn";
  std::string preset;                      // bilstm-imdb, cnn-kim: overrides arch and sizes
  std::int64_t embed_dim = 128, hidden = 128;
  int layers = 1;
  double dropout = 0.5;
  std::int64_t filters = 100;
  std::vector<std::int64_t> widths{3, 4, 5};
  std::string text_arch = "lstm";          // hybrid: the text encoder
  std::int64_t meta_hidden = 64, fuse_hidden = 64;
  std::string meta_encoding = "standardize";  // | "ple": piecewise-linear bins (models/meta_mlp.h)
  std::int64_t meta_bins = 8;                 // ple: quantile bins per feature
  double text_dropout = 0.0;                  // hybrid: modality dropout of the whole text vector
  // fasttext (models/fasttext.h): hashed word n-grams and character n-grams next to the words
  std::int64_t word_ngrams = 1;            // 2: word bigrams as well, hashed into ngram_buckets rows
  std::int64_t ngram_buckets = 200000;     // rows shared by all hashed n-grams (the dense AdamW step
                                           // over buckets x embed-dim rows bounds a fasttext epoch)
  std::vector<std::int64_t> char_ngrams;   // {min, max} character n-gram lengths; empty: none

  // ---- user level (train/user_level.h; needs --group-col) ----
  std::string user_model;                  // "" (none) | mean-prob | cnn | knn
  std::int64_t user_tweets = 10;           // --user-tweets N per user
  std::string user_tweet_order = "first";  // first | last | random
  int knn_k = 1;                           // --k
  bool freeze_encoder = false;             // cnn: train on fixed tweet vectors
  bool balance_users = false;              // --balance-users: extra tweet sets of the minority label
  std::string encoder;                     // --encoder RUN: a trained tweet model (no tweet stage)
  std::int64_t user_filters = 300;         // cnn: maps per width
  std::vector<std::int64_t> user_widths{2, 3, 4};
  int user_epochs = 10;
  double user_lr = 1e-3;
  std::int64_t user_batch_size = 32;

  // ---- training ----
  std::int64_t batch_size = 64;
  int epochs = 5;
  double lr = 1e-3, weight_decay = 0.0;
  double clip_grad_norm = 1.0;             // 0 = off
  std::string nonfinite = "error";         // a non-finite loss or gradient: error (stop) | skip (the step)
  std::string lr_schedule = "constant";    // constant | linear | plateau
  std::int64_t warmup_steps = 0;
  double plateau_factor = 0.5;
  int plateau_patience = 1;
  double plateau_min_lr = 0.0;
  std::string monitor = "val_loss";
  int patience = 3;                        // < 0: never stop early
  double min_delta = 0.0;
  bool restore_best = true;
  std::string pos_weight = "none";         // none | auto | N (binary and multi-label)
  std::string class_weight = "none";       // none | balanced | w0,w1,... (multi-class; binary -> pos_weight)
  double threshold = 0.5;                  // multi-label decision threshold on sigmoid outputs

  // ---- run ----
  std::string device = "auto";             // auto | cpu | cuda[:N]
  std::string precision = "fp32";          // fp32 | bf16 | fp16 (autocast regions; F32 master weights)
  double loss_scale_init = 65536.0;        // fp16: the loss scaler's first scale (PyTorch's 2^16)
  std::int64_t loss_scale_growth_interval = 2000;  // fp16: finite steps before the scale doubles
  std::string impl = "auto";               // auto | cpu | cuda | cudnn (LSTM and conv kernels)
  std::uint64_t seed = 42;
  std::vector<std::uint64_t> ensemble_seeds;  // --seeds a,b,c: one run per seed and an ensemble folder
  bool deterministic = false;
  int threads = 0;                         // 0: all cores (or LOOM_NUM_THREADS)
  std::string ckpt_dir;                    // default runs/<arch>-<timestamp>
  std::string resume;                      // a run folder to continue

  // ---- not flags: for tests ----
  int stop_after_epochs = 0;               // > 0: return after this many epochs of THIS call, as if killed
  std::int64_t inject_nan_grad_at_step = 0;  // > 0: after this global step's backward (1-based) one
                                             // gradient element of the LAST parameter is set to NaN
  // ---- not flags: set by the --cv driver (train/cross_validation.h) ----
  int cv_fold = -1;                        // >= 0: test = this fold of the grouped K folds (K = cv)
  // --cv with --seeds: the seed of the folds and of each fold's validation split (the CV's --seed),
  // so that every member of a fold trains and is tested on the same rows; `seed` then only draws
  // the member's weights, batch order and dropout. Unset (false): the splits use `seed`.
  bool split_seed_set = false;
  std::uint64_t split_seed = 0;
};

nlohmann::json to_json(const TrainOptions& o);
// Fields missing from `j` keep their defaults (older run folders stay resumable); a field of the
// wrong type is a CheckpointError naming it.
TrainOptions train_options_from_json(const nlohmann::json& j);

}  // namespace loom::train
