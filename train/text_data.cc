// train/text_data.cc: see text_data.h.
#include "train/text_data.h"

#include <omp.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/parallel.h"
#include "data/groups.h"
#include "train/run_setup.h"

namespace loom::train {
namespace {

std::string percent(double f) {
  std::ostringstream os;
  os << f * 100 << "%";
  return os.str();
}

void print_skipped(const data::Dataset& d, const std::string& path, std::ostream& out) {
  if (d.skipped.count == 0) return;
  out << "skipped " << d.skipped.count << " bad row" << (d.skipped.count == 1 ? "" : "s") << " of " << path
      << " (--on-bad-row skip), e.g.:\n";
  for (const std::string& why : d.skipped.examples) out << "  " << why << "\n";
}

}  // namespace

data::DatasetSpec dataset_spec(const TrainOptions& o, const std::string& path, bool labeled) {
  data::DatasetSpec spec;
  spec.path = path;
  spec.format = data::parse_input_format(o.format);
  spec.encoding = data::parse_text_encoding(o.encoding);
  spec.text_col = o.text_col;
  spec.label_col = o.label_col;
  spec.label_cols = o.label_cols;
  spec.id_cols = o.id_cols;
  spec.on_bad_row = data::parse_bad_row_policy(o.on_bad_row);
  spec.labeled = labeled;
  return spec;
}

data::TokenizerConfig tokenizer_config(const TrainOptions& o) {
  data::TokenizerConfig c;
  c.kind = data::parse_tokenizer_kind(o.tokenizer);
  c.normalize = data::parse_normalize(o.normalize);
  data::validate(c);
  return c;
}

std::vector<std::vector<std::string>> tokenize_all(const data::Dataset& d, const data::TokenizerConfig& config) {
  const auto n = static_cast<std::int64_t>(d.examples.size());
  std::vector<std::vector<std::string>> docs(static_cast<std::size_t>(n));
  // Dynamic chunks: tweet lengths vary, and each row is independent (same result for any thread count).
#pragma omp parallel for schedule(dynamic, 256) num_threads(loom::num_threads()) if (n > 2048)
  for (std::int64_t i = 0; i < n; ++i)
    docs[static_cast<std::size_t>(i)] = data::tokenize(d.examples[static_cast<std::size_t>(i)].text, config);
  return docs;
}

std::string class_counts(const data::Dataset& d) {
  const std::vector<std::int64_t> counts = data::label_counts(d);
  std::ostringstream os;
  for (std::size_t k = 0; k < counts.size() && k < d.label_names.size(); ++k)
    os << (k ? ", " : "") << d.label_names[k] << " " << counts[k];
  return os.str();
}

bool has_metadata(const TrainOptions& o) { return !o.meta_cols.empty(); }

std::vector<std::string> load_id_cols(const TrainOptions& o) {
  std::vector<std::string> cols = o.id_cols;
  auto add = [&cols](const std::string& c) {
    if (!c.empty() && std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
  };
  if (!o.accounts.empty()) add(o.join_col);
  add(o.group_col);
  return cols;
}

data::MetaSpec meta_spec(const TrainOptions& o, const std::string& path, bool training_input) {
  data::MetaSpec m;
  m.accounts_path = o.accounts;
  m.input_path = path;
  m.join_col = o.join_col;
  m.columns = o.meta_cols;
  LOOM_CHECK(o.meta_features == "engineered" || o.meta_features == "raw",
             "--meta-features must be engineered or raw, got '", o.meta_features, "'");
  m.engineered = o.meta_features == "engineered";
  m.label_col = o.label_col;
  m.missing_account = data::parse_missing_account(o.missing_account);
  // Accounts without a tweet are training examples of their own; a val / test / predict file only
  // gets its own tweets (appending every other account of the accounts file there would be wrong).
  m.without_tweets =
      training_input ? data::parse_accounts_without_tweets(o.accounts_without_tweets) : data::AccountsWithoutTweets::Drop;
  m.on_bad_row = data::parse_bad_row_policy(o.on_bad_row);
  return m;
}

data::JoinReport attach_metadata(data::Dataset& d, const TrainOptions& o, const std::string& path,
                                 const data::MetaSchema& schema, std::vector<std::vector<float>>& meta) {
  data::JoinReport report;
  meta = data::join_metadata(d, meta_spec(o, path, /*training_input=*/false), &schema, nullptr, &report);
  LOOM_CHECK(meta.size() == d.examples.size(), "join_metadata: ", meta.size(), " feature rows for ",
             d.examples.size(), " examples");
  return report;
}

std::vector<data::EncodedExample> encode_for_inference(data::Dataset& d, const TrainOptions& o, const std::string& path,
                                                       const data::TokenizerConfig& tok, const data::Vocab& vocab,
                                                       const data::MetaSchema& schema, std::ostream& log) {
  std::vector<std::vector<float>> meta;
  if (schema.size() > 0) log << path << ": " << attach_metadata(d, o, path, schema, meta).summary() << "\n";
  // ngram_options(o): a fasttext run hashes the same n-grams it was trained on (none for other archs).
  std::vector<data::EncodedExample> rows = data::encode_examples(d, tokenize_all(d, tok), vocab, ngram_options(o));
  if (schema.size() > 0)
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i].meta = std::move(meta[i]);
  return rows;
}

std::string thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string dedup_key(const std::string& text) {
  std::string key;
  key.reserve(text.size());
  bool space = false;  // a whitespace run is pending (written only before the next non-space byte)
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = !key.empty();
      continue;
    }
    if (space) key += ' ';
    space = false;
    key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return key;
}

data::Dataset merge_inputs(std::vector<data::Dataset> files, const std::vector<std::string>& paths,
                           std::vector<InputCount>& counts) {
  LOOM_CHECK(!files.empty() && files.size() == paths.size(), "merge_inputs: ", files.size(), " files, ",
             paths.size(), " paths");
  // Pass 1: the label of each text's first row, and whether another label ever shows up.
  struct Seen {
    int label;
    std::vector<float> targets;  // multi-label
    bool conflict = false;
  };
  std::unordered_map<std::string, Seen> seen;
  for (const data::Dataset& d : files)
    for (const data::Example& e : d.examples) {
      auto [it, inserted] = seen.try_emplace(dedup_key(e.text), Seen{e.label, e.targets});
      if (!inserted && (it->second.label != e.label || it->second.targets != e.targets)) it->second.conflict = true;
    }
  // Pass 2: keep the first row of each text that has a single label.
  data::Dataset merged;
  merged.label_names = files.front().label_names;
  merged.task = files.front().task;
  merged.id_names = files.front().id_names;
  counts.clear();
  std::unordered_map<std::string, bool> kept;  // texts already kept
  for (std::size_t f = 0; f < files.size(); ++f) {
    LOOM_CHECK(files[f].id_names == merged.id_names, "--input ", paths[f], ": id columns differ from ", paths[0]);
    InputCount c;
    c.path = paths[f];
    for (data::Example& e : files[f].examples) {
      ++c.rows;
      std::string key = dedup_key(e.text);
      if (seen.at(key).conflict) {
        ++c.conflicts;
      } else if (!kept.emplace(std::move(key), true).second) {
        ++c.duplicates;
      } else {
        ++c.kept;
        merged.examples.push_back(std::move(e));
      }
    }
    merged.skipped.count += files[f].skipped.count;
    counts.push_back(c);
  }
  return merged;
}

data::Dataset load_training_inputs(const TrainOptions& o, const data::DatasetSpec& first_spec, std::ostream& out) {
  data::Dataset first = data::load_dataset(first_spec);
  print_skipped(first, o.input, out);
  if (o.more_inputs.empty()) return first;
  // Metadata joins and group keys are per-file notions (an accounts file, a user column): with
  // several files the rows of one user could be split across them, so the two are not combined.
  LOOM_CHECK(!has_metadata(o) && o.accounts.empty() && o.group_col.empty(),
             "several --input files cannot be combined with --meta-cols, --accounts or --group-col");
  std::vector<data::Dataset> files;
  std::vector<std::string> paths{o.input};
  const std::vector<std::string> names = first.label_names;
  files.push_back(std::move(first));
  for (const std::string& path : o.more_inputs) {
    data::DatasetSpec spec = first_spec;
    spec.path = path;
    files.push_back(data::load_dataset(spec, &names));
    print_skipped(files.back(), path, out);
    paths.push_back(path);
  }
  std::vector<InputCount> counts;
  data::Dataset merged = merge_inputs(std::move(files), paths, counts);
  for (std::size_t f = 0; f < counts.size(); ++f) {
    const InputCount& c = counts[f];
    out << "input " << f + 1 << " " << c.path << ": " << thousands(c.rows) << " rows, kept " << thousands(c.kept)
        << ", duplicates " << thousands(c.duplicates) << " (text already seen), conflicts " << thousands(c.conflicts)
        << " (text seen with two labels: all its rows dropped)\n";
  }
  out << "inputs merged: " << thousands(static_cast<std::int64_t>(merged.examples.size()))
      << " rows (deduplicated by lowercased, whitespace-collapsed text)\n";
  return merged;
}

namespace {

template <typename T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<std::int64_t>& rows) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (std::int64_t r : rows) out.push_back(v[static_cast<std::size_t>(r)]);
  return out;
}

// One key per row: the group column's values, or (no group column: --cv on rows) the row index.
std::vector<std::string> group_keys(const data::Dataset& d, const std::string& group_col) {
  if (!group_col.empty()) return data::example_keys(d, group_col);
  std::vector<std::string> keys;
  keys.reserve(d.examples.size());
  for (std::size_t i = 0; i < d.examples.size(); ++i) keys.push_back("row " + std::to_string(i));
  return keys;
}

std::int64_t distinct(const std::vector<std::string>& keys) {
  std::vector<std::string> k = keys;
  std::sort(k.begin(), k.end());
  return static_cast<std::int64_t>(std::unique(k.begin(), k.end()) - k.begin());
}

// The seed of the splits: the run's seed, unless the --cv --seeds driver fixed it for all members.
std::uint64_t split_seed(const TrainOptions& o) { return o.split_seed_set ? o.split_seed : o.seed; }

// The grouped split of `all` (rows of whole groups): a fold as test when cv_fold >= 0.
data::SplitIndices grouped_split(const TrainOptions& o, const data::Dataset& all, const std::vector<std::string>& keys,
                                 double val_fraction, double test_fraction) {
  const data::Groups groups = data::make_groups(all, keys);
  const std::uint64_t seed = split_seed(o);
  if (o.cv_fold < 0) return data::grouped_stratified_split(all, groups, val_fraction, test_fraction, seed);
  LOOM_CHECK(o.cv >= 2 && o.cv_fold < o.cv, "cross-validation: fold ", o.cv_fold, " of --cv ", o.cv);
  const auto folds = data::grouped_stratified_folds(all, groups, o.cv, seed);
  data::SplitIndices s;
  s.test = folds[static_cast<std::size_t>(o.cv_fold)];
  std::vector<std::int64_t> rest;
  for (std::size_t f = 0; f < folds.size(); ++f)
    if (static_cast<int>(f) != o.cv_fold) rest.insert(rest.end(), folds[f].begin(), folds[f].end());
  std::sort(rest.begin(), rest.end());
  // Validation: a grouped split of the other folds (same seed), mapped back to rows of `all`.
  const data::Dataset rest_d = data::subset(all, rest);
  const std::vector<std::string> rest_keys = pick(keys, rest);
  const data::SplitIndices inner =
      data::grouped_stratified_split(rest_d, data::make_groups(rest_d, rest_keys), val_fraction, 0.0, seed);
  for (std::int64_t r : inner.train) s.train.push_back(rest[static_cast<std::size_t>(r)]);
  for (std::int64_t r : inner.val) s.val.push_back(rest[static_cast<std::size_t>(r)]);
  return s;
}

void print_feature_list(const data::MetaSchema& schema, std::ostream& out) {
  out << "metadata: " << schema.size() << " features (" << (schema.engineered ? "engineered" : "raw") << "):";
  for (std::size_t i = 0; i < schema.feature_names.size(); ++i)
    out << (i ? ", " : " ") << schema.feature_names[i];
  out << "\n";
}

}  // namespace

PreparedData prepare_data(const TrainOptions& o, const data::Vocab* fixed_vocab, std::ostream& out,
                          const data::MetaSchema* fixed_schema) {
  PreparedData p;
  LOOM_CHECK(!o.input.empty(), "loom train: --input FILE is required");
  LOOM_CHECK(o.val_split >= 0 && o.val_split < 1 && o.test_split >= 0 && o.test_split < 1,
             "--val-split and --test-split must be in [0, 1), got ", o.val_split, " and ", o.test_split);
  const bool meta = has_metadata(o);
  const bool grouped = !o.group_col.empty() || o.cv_fold >= 0;
  TrainOptions lo = o;
  lo.id_cols = load_id_cols(o);
  data::Dataset all = load_training_inputs(o, dataset_spec(lo, o.input), out);
  // The join runs on the whole input before any split: the schema (which columns, which missing
  // indicators) is a property of the data, and accounts without tweets become rows to split too.
  std::vector<std::vector<float>> all_meta;
  if (meta) {
    data::JoinReport report;
    all_meta = data::join_metadata(all, meta_spec(o, o.input, /*training_input=*/true), fixed_schema,
                                   fixed_schema ? nullptr : &p.meta_schema, &report);
    if (fixed_schema) p.meta_schema = *fixed_schema;
    LOOM_CHECK(all_meta.size() == all.examples.size(), "join_metadata: ", all_meta.size(), " feature rows for ",
               all.examples.size(), " examples");
    out << report.summary() << "\n";
    print_feature_list(p.meta_schema, out);
  }
  p.label_names = all.label_names;
  p.task = all.task;
  const std::string input_name =
      std::filesystem::path(o.input).filename().string() +
      (o.more_inputs.empty() ? "" : " + " + std::to_string(o.more_inputs.size()) + " more input file" +
                                        (o.more_inputs.size() == 1 ? "" : "s"));

  // A file wins over a split; the split is stratified and seeded, so the same seed gives the same
  // rows in every run (and in a resumed one).
  const double val_fraction = o.val_path.empty() ? o.val_split : 0.0;
  const double test_fraction = o.test_path.empty() ? o.test_split : 0.0;
  LOOM_CHECK(val_fraction + test_fraction < 1.0, "--val-split + --test-split must leave training rows");
  LOOM_CHECK(o.cv_fold < 0 || o.test_path.empty(), "--cv takes its test folds from --input; drop --test");
  std::vector<std::vector<float>> train_meta = all_meta, val_meta, test_meta;
  std::vector<std::string> all_keys = grouped ? group_keys(all, o.group_col) : std::vector<std::string>{};
  p.train_keys = all_keys;
  if (val_fraction > 0 || test_fraction > 0 || o.cv_fold >= 0) {
    const data::SplitIndices split = grouped ? grouped_split(o, all, all_keys, val_fraction, test_fraction)
                                             : data::stratified_split(all, val_fraction, test_fraction, split_seed(o));
    p.train = data::subset(all, split.train);
    p.val = data::subset(all, split.val);
    p.test = data::subset(all, split.test);
    if (meta) {
      train_meta = pick(all_meta, split.train);
      val_meta = pick(all_meta, split.val);
      test_meta = pick(all_meta, split.test);
    }
    if (grouped) {
      p.train_keys = pick(all_keys, split.train);
      p.val_keys = pick(all_keys, split.val);
      p.test_keys = pick(all_keys, split.test);
    }
  } else {
    p.train = std::move(all);
    p.val = data::subset(p.train, {});
    p.test = data::subset(p.train, {});
  }
  const std::string test_part =
      o.cv_fold >= 0 ? "fold " + std::to_string(o.cv_fold + 1) + " of " + std::to_string(o.cv) + " of " + input_name
                     : percent(test_fraction) + " of " + input_name;
  const std::string val_part = percent(val_fraction) + " of " + (o.cv_fold >= 0 ? "the other folds" : input_name);
  p.val_source = o.val_path.empty() ? (val_fraction > 0 ? val_part : "none")
                                    : std::filesystem::path(o.val_path).filename().string();
  p.test_source = o.test_path.empty() ? (test_fraction > 0 || o.cv_fold >= 0 ? test_part : "none")
                                      : std::filesystem::path(o.test_path).filename().string();
  // --val / --test files use the training labels: an unknown label there is an error naming it;
  // their metadata is built with the training schema.
  auto load_file = [&](const std::string& path, data::Dataset& d, std::vector<std::vector<float>>& m,
                       std::vector<std::string>& keys) {
    d = data::load_dataset(dataset_spec(lo, path), &p.label_names);
    print_skipped(d, path, out);
    if (meta) out << path << ": " << attach_metadata(d, o, path, p.meta_schema, m).summary() << "\n";
    if (!o.group_col.empty()) keys = data::example_keys(d, o.group_col);
  };
  if (!o.val_path.empty()) load_file(o.val_path, p.val, val_meta, p.val_keys);
  if (!o.test_path.empty()) load_file(o.test_path, p.test, test_meta, p.test_keys);
  LOOM_CHECK(!p.train.examples.empty(), "no training rows left after the split of ", o.input);

  out << "data: " << data::to_string(p.task) << ", " << p.label_names.size() << " labels\n";
  // With groups: "train 2,318 users / 231,800 tweets (...)": whole users on each side.
  auto users = [&](const std::vector<std::string>& keys) {
    return o.group_col.empty() ? std::string() : thousands(distinct(keys)) + " users / ";
  };
  out << "  train " << users(p.train_keys) << thousands(static_cast<std::int64_t>(p.train.examples.size()))
      << (o.group_col.empty() ? "" : " tweets") << " (" << class_counts(p.train) << ")\n";
  out << "  val   " << users(p.val_keys) << thousands(static_cast<std::int64_t>(p.val.examples.size()))
      << (o.group_col.empty() ? "" : " tweets") << " [" << p.val_source << "]"
      << (p.val.examples.empty() ? "" : " (" + class_counts(p.val) + ")") << "\n";
  out << "  test  " << users(p.test_keys) << thousands(static_cast<std::int64_t>(p.test.examples.size()))
      << (o.group_col.empty() ? "" : " tweets") << " [" << p.test_source << "]"
      << (p.test.examples.empty() ? "" : " (" + class_counts(p.test) + ")") << "\n";
  if (o.group_col.empty() && o.cv_fold >= 0) {  // row-level CV: the keys were only for the folds
    p.train_keys.clear();
    p.val_keys.clear();
    p.test_keys.clear();
  }

  const data::TokenizerConfig tok = tokenizer_config(o);
  const auto train_docs = tokenize_all(p.train, tok);
  p.vocab = fixed_vocab ? *fixed_vocab : data::Vocab::build(train_docs, o.max_vocab, o.min_freq);
  const data::NgramOptions ngrams = ngram_options(o);  // fasttext's hashed n-grams; none for other archs
  p.train_rows = data::encode_examples(p.train, train_docs, p.vocab, ngrams);
  p.val_rows = data::encode_examples(p.val, tokenize_all(p.val, tok), p.vocab, ngrams);
  p.test_rows = data::encode_examples(p.test, tokenize_all(p.test, tok), p.vocab, ngrams);
  if (meta) {
    auto put = [](std::vector<data::EncodedExample>& rows, std::vector<std::vector<float>>& m) {
      LOOM_CHECK(rows.size() == m.size(), "metadata: ", m.size(), " feature rows for ", rows.size(), " examples");
      for (std::size_t i = 0; i < rows.size(); ++i) rows[i].meta = std::move(m[i]);
    };
    put(p.train_rows, train_meta);
    put(p.val_rows, val_meta);
    put(p.test_rows, test_meta);
  }

  std::int64_t tokens = 0, unknown = 0, truncated = 0;
  for (const auto& r : p.train_rows) {
    tokens += static_cast<std::int64_t>(r.ids.size());
    for (std::int32_t id : r.ids) unknown += id == data::Vocab::kUnk;
    truncated += o.max_len > 0 && static_cast<std::int64_t>(r.ids.size()) > o.max_len;
  }
  out << "vocabulary: " << p.vocab.size() << " tokens (pad, unk included; --max-vocab " << o.max_vocab
      << ", --min-freq " << o.min_freq << ") from the training split; " << tokens << " training tokens, "
      << (tokens ? 100.0 * static_cast<double>(unknown) / static_cast<double>(tokens) : 0.0) << "% unknown, "
      << truncated << " tweets longer than --max-len " << o.max_len << "\n";
  return p;
}

}  // namespace loom::train
