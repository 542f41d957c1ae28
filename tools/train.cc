// tools/train.cc: `loom train`: the flags (names from the issue, and from Keras and PyTorch where
// they already have one: --val-split, --patience, --min-delta, --clip-grad-norm, --class-weight,
// --pos-weight), grouped for --help, and the run.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "models/model_config.h"
#include "train/bot_run.h"
#include "train/checkpoint.h"
#include "train/cross_validation.h"
#include "train/ensemble.h"
#include "train/recipe.h"
#include "train/runtime.h"
#include "train/trainer.h"
#include "tools/commands.h"

namespace loom::tools {

void add_train_options(CLI::App& app, train::TrainOptions& o) {
  app.option_defaults()->always_capture_default(true);
  const std::string D = "Data", T = "Text", M = "Model", L = "Training", R = "Run";
  // --input may be repeated: the first file names the run's data, the others are merged into it.
  app.add_option_function<std::vector<std::string>>(
         "--input",
         [&o](const std::vector<std::string>& files) {
           o.input = files.front();
           o.more_inputs.assign(files.begin() + 1, files.end());
         },
         "Training data (CSV with a header, raw Sentiment140, or fastText lines); repeat to merge several files "
         "(duplicate texts kept once)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->group(D);
  app.add_option("--format", o.format, "Input format")->check(CLI::IsMember({"csv", "sentiment140", "fasttext"}))->group(D);
  app.add_option("--encoding", o.encoding, "Input bytes (the raw Sentiment140 file is latin1)")
      ->check(CLI::IsMember({"utf-8", "utf8", "latin1"}))->group(D);
  app.add_option("--text-col", o.text_col, "Column holding the tweet")->group(D);
  app.add_option("--label-col", o.label_col, "Column holding the label (binary or multi-class)")->group(D);
  app.add_option("--label-cols", o.label_cols, "Multi-label: comma-separated 0/1 columns, one per label")
      ->delimiter(',')->group(D);
  app.add_option("--id-col", o.id_cols, "Column(s) passed through to predictions (repeat or comma-separate)")
      ->delimiter(',')->group(D);
  app.add_option("--on-bad-row", o.on_bad_row, "A malformed row, unknown label, bad UTF-8 or empty text: fail or skip (and count)")
      ->check(CLI::IsMember({"fail", "skip"}))->group(D);
  app.add_option("--val", o.val_path, "Validation file (default: a stratified --val-split of --input)")->group(D);
  app.add_option("--val-split", o.val_split, "Fraction of --input held out for validation when --val is not given")
      ->group(D);
  app.add_option("--test", o.test_path, "Test file, evaluated once at the end (default: a stratified --test-split)")
      ->group(D);
  app.add_option("--test-split", o.test_split, "Fraction of --input held out for the test when --test is not given")
      ->group(D);

  const std::string B = "Account metadata, users and cross-validation (bot detection)";
  app.add_option("--accounts", o.accounts, "Accounts CSV (one row per account: --join column, numeric columns, "
                 "optionally the label); implies --group-col = --join")->group(B);
  app.add_option("--join", o.join_col, "The key column of --input and --accounts")->group(B);
  app.add_option("--meta-cols", o.meta_cols, "Metadata columns, comma-separated, or all-numeric (of --accounts, else "
                 "of --input itself)")->delimiter(',')->group(B);
  app.add_option("--meta-features", o.meta_features, "engineered (adds log1p counts, ratios, per-day rates) or raw")
      ->check(CLI::IsMember({"engineered", "raw"}))->group(B);
  app.add_option("--missing-account", o.missing_account, "A tweet whose account is absent: fail, skip or keep "
                 "(features 0, no_account = 1)")->check(CLI::IsMember({"fail", "skip", "keep"}))->group(B);
  app.add_option("--accounts-without-tweets", o.accounts_without_tweets,
                 "An account no tweet names: keep (an empty-text example) or drop")
      ->check(CLI::IsMember({"keep", "drop"}))->group(B);
  app.add_option("--group-col", o.group_col, "Splits keep each group (user) whole; the user column for --user-model")
      ->group(B);
  app.add_option("--cv", o.cv, "K-fold cross-validation (K >= 2), grouped and stratified; prints mean +- std")
      ->group(B);
  app.add_option("--user-model", o.user_model, "User-level model after the tweet model: mean-prob, cnn or knn")
      ->check(CLI::IsMember({"mean-prob", "cnn", "knn"}))->group(B);
  app.add_option("--user-tweets", o.user_tweets, "Tweets per user (N)")->group(B);
  app.add_option("--user-tweet-order", o.user_tweet_order, "Which N tweets: first, last (file order) or random")
      ->check(CLI::IsMember({"first", "last", "random"}))->group(B);
  app.add_option("--k", o.knn_k, "knn: neighbours")->group(B);
  app.add_flag("--freeze-encoder", o.freeze_encoder, "cnn: train on fixed tweet vectors (no fine-tuning)")->group(B);
  app.add_flag("--balance-users", o.balance_users, "Resample extra tweet sets of the minority label's users")
      ->group(B);
  app.add_option("--encoder", o.encoder, "A trained run whose tweet model feeds the user model (no tweet stage)")
      ->group(B);
  app.add_option("--user-filters", o.user_filters, "cnn: maps per width")->group(B);
  app.add_option("--user-widths", o.user_widths, "cnn: widths over the tweet axis, comma-separated")
      ->delimiter(',')->group(B);
  app.add_option("--user-epochs", o.user_epochs, "cnn: epochs of the user stage")->group(B);
  app.add_option("--user-lr", o.user_lr, "cnn: learning rate of the user stage")->group(B);
  app.add_option("--user-batch-size", o.user_batch_size, "cnn: users per step")->group(B);

  app.add_option("--tokenizer", o.tokenizer, "tweet (NLTK TweetTokenizer rules), whitespace or char")
      ->check(CLI::IsMember({"tweet", "whitespace", "char"}))->group(T);
  app.add_option("--normalize", o.normalize, "none, or glove-twitter (<user>, <url>, <hashtag> ... as GloVe Twitter)")
      ->check(CLI::IsMember({"none", "glove-twitter"}))->group(T);
  app.add_option("--max-vocab", o.max_vocab, "Vocabulary size, counting <pad> and <unk> (0 = no limit)")->group(T);
  app.add_option("--min-freq", o.min_freq, "Drop tokens seen fewer times in the training split")->group(T);
  app.add_option("--max-len", o.max_len, "Tokens kept per tweet (the rest is cut)")->group(T);
  app.add_flag("--bucket-by-length", o.bucket_by_length, "Batch tweets of similar length together (less padding)")
      ->group(T);
  app.add_option("--embeddings", o.embeddings, "Pretrained vectors: GloVe or word2vec/fastText .vec text file")
      ->group(T);
  app.add_flag("--freeze-embeddings", o.freeze_embeddings, "Do not train the embedding table")->group(T);
  app.add_option("--word-dropout", o.word_dropout, "Training only: replace each token by <unk> with this probability")
      ->check(CLI::Range(0.0, 0.9))->group(T);

  app.add_option("--arch", o.arch, "Architecture")
      ->check(CLI::IsMember({"bow", "cnn", "lstm", "bilstm", "cnn-lstm", "lstm-cnn", "fasttext", "hybrid", "meta-mlp"}))
      ->group(M);
  app.add_option("--text-arch", o.text_arch, "hybrid: the text encoder")
      ->check(CLI::IsMember({"bow", "cnn", "lstm", "bilstm", "cnn-lstm", "lstm-cnn", "fasttext"}))->group(M);
  app.add_option("--meta-hidden", o.meta_hidden, "hybrid, meta-mlp: width of the metadata dense layer")->group(M);
  app.add_option("--meta-encoding", o.meta_encoding,
                 "hybrid, meta-mlp: standardize the account features, or ple (also piecewise-linear bins)")
      ->check(CLI::IsMember({"standardize", "ple"}))->group(M);
  app.add_option("--meta-bins", o.meta_bins, "--meta-encoding ple: quantile bins per feature")->group(M);
  app.add_option("--fuse-hidden", o.fuse_hidden, "hybrid: width of the dense layer after the concatenation")->group(M);
  app.add_option("--text-dropout", o.text_dropout,
                 "hybrid: in training, zero an example's whole text vector with this probability (modality dropout)")
      ->check(CLI::Range(0.0, 0.9))->group(M);
  app.add_option("--preset", o.preset,
                 "A familiar baseline (bilstm-imdb, cnn-kim): sets arch and sizes; or a recipe of several runs and "
                 "their ensemble (tweets-ensemble: needs --embeddings; train/README.md)")
      ->group(M);
  app.add_option("--embed-dim", o.embed_dim, "Embedding width")->group(M);
  app.add_option("--hidden", o.hidden, "LSTM hidden size per direction")->group(M);
  app.add_option("--layers", o.layers, "Stacked LSTM layers")->group(M);
  app.add_option("--dropout", o.dropout, "Dropout before the output layer (and between LSTM layers)")->group(M);
  app.add_option("--filters", o.filters, "Convolution filters per width (cnn, cnn-lstm, lstm-cnn)")->group(M);
  app.add_option("--widths", o.widths, "Convolution widths, comma-separated")->delimiter(',')->group(M);
  app.add_option("--word-ngrams", o.word_ngrams,
                 "fasttext (and --text-arch fasttext): longest word n-gram (1 = words only, 2 = also bigrams)")
      ->check(CLI::Range(1, 5))->group(M);
  app.add_option("--buckets", o.ngram_buckets,
                 "fasttext (and --text-arch fasttext): hash buckets shared by the n-grams")
      ->check(CLI::PositiveNumber)->group(M);
  app.add_option("--char-ngrams", o.char_ngrams,
                 "fasttext (and --text-arch fasttext): character n-gram lengths min,max (e.g. 3,5)")
      ->delimiter(',')->expected(2)->group(M);

  app.add_option("--batch-size", o.batch_size, "Tweets per step")->group(L);
  app.add_option("--epochs", o.epochs, "Passes over the training split (at most: see --patience)")->group(L);
  app.add_option("--lr", o.lr, "AdamW learning rate (betas 0.9, 0.999, eps 1e-8: PyTorch's)")->group(L);
  app.add_option("--weight-decay", o.weight_decay, "AdamW decoupled weight decay")->group(L);
  app.add_option("--clip-grad-norm", o.clip_grad_norm, "Clip the global L2 gradient norm to this (0 = off)")->group(L);
  app.add_option("--nonfinite", o.nonfinite,
                 "A step whose loss or gradients are NaN/inf: error (stop, naming the epoch, step and first "
                 "non-finite parameter) or skip (no update; counted as skipped)")
      ->check(CLI::IsMember({"error", "skip"}))->group(L);
  app.add_option("--lr-schedule", o.lr_schedule, "constant, linear (decay to 0) or plateau (reduce on no improvement)")
      ->check(CLI::IsMember({"constant", "linear", "plateau"}))->group(L);
  app.add_option("--warmup-steps", o.warmup_steps, "Linear warmup steps before the schedule")->group(L);
  app.add_option("--plateau-factor", o.plateau_factor, "plateau: multiply the lr by this")->group(L);
  app.add_option("--plateau-patience", o.plateau_patience, "plateau: epochs without improvement first")->group(L);
  app.add_option("--min-lr", o.plateau_min_lr, "plateau: lower bound of the lr")->group(L);
  app.add_option("--monitor", o.monitor, "Early stopping / best checkpoint metric: val_loss, val_accuracy, val_f1, val_auc, ...")
      ->group(L);
  app.add_option("--patience", o.patience, "Stop after this many epochs without improvement (-1 = never)")->group(L);
  app.add_option("--min-delta", o.min_delta, "Smallest change that counts as an improvement")->group(L);
  app.add_flag_callback("--no-restore-best", [&o] { o.restore_best = false; },
                        "Keep the last epoch's weights instead of the best one's")->group(L);
  app.add_option("--pos-weight", o.pos_weight, "Binary / multi-label: none, auto (negatives/positives) or N")->group(L);
  app.add_option("--class-weight", o.class_weight, "none, balanced, or w0,w1,... per class")->group(L);
  app.add_option("--threshold", o.threshold, "Decision threshold on probabilities (binary, multi-label)")->group(L);

  app.add_option("--device", o.device, "auto (CUDA when present), cpu, cuda or cuda:N")->group(R);
  app.add_option("--precision", o.precision,
                 "fp32, bf16 or fp16: the forward and loss in autocast regions, F32 master weights and AdamW")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}))->group(R);
  app.add_option("--loss-scale-init", o.loss_scale_init, "fp16: the loss scaler's first scale (PyTorch's 2^16)")
      ->group(R);
  app.add_option("--loss-scale-growth-interval", o.loss_scale_growth_interval,
                 "fp16: consecutive finite steps before the loss scale doubles")
      ->group(R);
  app.add_option("--impl", o.impl, "LSTM / conv kernels: auto, cpu, cuda (loom's) or cudnn")
      ->check(CLI::IsMember({"auto", "cpu", "cuda", "cudnn"}))->group(R);
  app.add_option("--seeds", o.ensemble_seeds,
                 "A seed ensemble: one run per seed (comma-separated) and an ensemble folder; with --cv, one run "
                 "per seed in each fold, scored by their mean probability (the folds come from --seed)")
      ->delimiter(',')->group(R);
  app.add_option("--seed", o.seed, "Seeds init, dropout, shuffling and the split")->group(R);
  app.add_flag("--deterministic", o.deterministic, "Same bits run to run on a GPU too (no float atomics, no cuDNN LSTM)")
      ->group(R);
  app.add_option("--threads", o.threads, "CPU threads (0 = all cores or LOOM_NUM_THREADS)")->group(R);
  app.add_option("--ckpt-dir", o.ckpt_dir, "Run folder (default runs/<arch>-<date>-<time>)")->group(R);
  app.add_option("--resume", o.resume, "Continue the run in this folder (its saved flags apply; flags given here override)")
      ->group(R);
  app.footer(
      "Examples:\n"
      "  loom train --input data/synthetic/train.csv --arch lstm-cnn\n"
      "  loom train --input tweets.csv --text-col tweet --label-col sentiment --val dev.csv --arch bilstm\n"
      "  loom train --input training.1600000.processed.noemoticon.csv --format sentiment140 --encoding latin1\n"
      "  loom train --input tweets.csv --arch bilstm --precision bf16\n"
      "  loom train --resume runs/lstm-cnn-20250101-120000 --epochs 10\n"
      "  loom train --preset tweets-ensemble --input a.csv --input b.csv --embeddings tweets.vec --ckpt-dir runs/ens\n"
      "  loom train --input tweets.csv --accounts users.csv --join user_id --meta-cols all-numeric --arch hybrid --cv 5\n"
      "  loom train --input tweets.csv --group-col user_id --arch lstm --user-model mean-prob --user-tweets 100\n"
      "The run folder gets config.json, best/last.safetensors, metrics.csv/jsonl and curves.png.");
}

train::TrainOptions parse_train_flags(const std::vector<std::string>& args) {
  train::TrainOptions o;
  CLI::App app;
  add_train_options(app, o);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them in reverse
  app.parse(reversed);
  return o;
}

std::vector<std::string> given_train_flags(const std::vector<std::string>& args) {
  train::TrainOptions o;
  CLI::App app;
  add_train_options(app, o);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  app.parse(reversed);
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options())
    if (opt->count() > 0) names.push_back(opt->get_name());
  return names;
}

namespace {

// --preset RECIPE: each member an ordinary run in DIR/<member>, then DIR/ensemble.json (as --seeds).
int run_recipe(const train::TrainOptions& o, const std::vector<std::string>& args, std::ostream& out,
               std::ostream* bar) {
  const std::string dir = o.ckpt_dir.empty() ? train::default_run_dir(o.preset) : o.ckpt_dir;
  // Expanded (and refused) before any training: a wrong flag costs nothing.
  const std::vector<train::RecipeMember> members = train::expand_recipe(o.preset, o, given_train_flags(args), dir);
  std::vector<std::string> dirs;
  for (std::size_t i = 0; i < members.size(); ++i) {
    out << "== " << o.preset << " member " << members[i].name << " (" << i + 1 << " of " << members.size()
        << "): " << members[i].options.ckpt_dir << "\n";
    train::train(members[i].options, out, bar);
    dirs.push_back(members[i].options.ckpt_dir);
  }
  train::write_ensemble(dir, dirs);
  out << "ensemble: " << dir << "/" << train::kEnsembleFile << " lists " << dirs.size() << " runs of --preset "
      << o.preset << " (loom eval --model " << dir << " averages their probabilities)\n";
  return 0;
}

}  // namespace

int run_train(const train::TrainOptions& parsed, const std::vector<std::string>& args, std::ostream& out,
              std::ostream* bar) {
  if (train::is_recipe(parsed.preset)) return run_recipe(parsed, args, out, bar);
  if (!parsed.preset.empty() && !models::is_preset(parsed.preset)) {
    std::vector<std::string> names = models::preset_names();
    for (const std::string& r : train::recipe_names()) names.push_back(r);
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    LOOM_THROW(Error, "unknown --preset '", parsed.preset, "' (choose one of ", list, ")");
  }
  train::TrainOptions o = parsed;
  if (!parsed.resume.empty()) {
    // The saved flags, then every flag given on this command line over them.
    o = train::read_run_config(parsed.resume).training;
    CLI::App again;
    add_train_options(again, o);
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them in reverse
    again.parse(reversed);
    o.resume = parsed.resume;
  }
  LOOM_CHECK(!o.input.empty(), "loom train: --input FILE is required (see loom train --help)");
  if (o.cv != 0 && o.cv_fold < 0 && o.resume.empty()) {  // with --seeds: a seed ensemble per fold
    train::cross_validate(train::resolve_bot_options(o), out, bar);
    return 0;
  }
  if (!o.ensemble_seeds.empty()) {
    // A seed ensemble: the same recipe once per seed into DIR/seed-<s>, then DIR/ensemble.json.
    // Each member is an ordinary run (its config.json holds its own seed and no --seeds), so eval,
    // predict and --resume work on it alone; --resume DIR of the ensemble is not supported.
    LOOM_CHECK(o.resume.empty(), "--seeds starts new runs; resume a member folder (DIR/seed-N) instead");
    const std::string dir = o.ckpt_dir.empty() ? train::default_run_dir(o.arch + "-seeds") : o.ckpt_dir;
    for (std::size_t i = 0; i < o.ensemble_seeds.size(); ++i)  // before any training: a typo costs nothing
      LOOM_CHECK(std::count(o.ensemble_seeds.begin(), o.ensemble_seeds.end(), o.ensemble_seeds[i]) == 1,
                 "--seeds lists seed ", o.ensemble_seeds[i], " twice");
    std::vector<std::string> members;
    for (std::size_t i = 0; i < o.ensemble_seeds.size(); ++i) {
      train::TrainOptions m = o;
      m.seed = o.ensemble_seeds[i];
      m.ensemble_seeds.clear();
      m.ckpt_dir = (std::filesystem::path(dir) / ("seed-" + std::to_string(m.seed))).string();
      out << "== seed " << m.seed << " (" << i + 1 << " of " << o.ensemble_seeds.size() << "): " << m.ckpt_dir << "\n";
      train::train(m, out, bar);
      members.push_back(m.ckpt_dir);
    }
    train::write_ensemble(dir, members, o.ensemble_seeds);
    out << "ensemble: " << dir << "/" << train::kEnsembleFile << " lists " << members.size()
        << " seed runs (loom eval --model " << dir << " averages their probabilities)\n";
    return 0;
  }
  train::train(o, out, bar);
  return 0;
}

}  // namespace loom::tools
