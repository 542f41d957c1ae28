// train/text_data.cc: see text_data.h.
#include "train/text_data.h"

#include <omp.h>

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/parallel.h"

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

PreparedData prepare_data(const TrainOptions& o, const data::Vocab* fixed_vocab, std::ostream& out) {
  PreparedData p;
  LOOM_CHECK(!o.input.empty(), "loom train: --input FILE is required");
  LOOM_CHECK(o.val_split >= 0 && o.val_split < 1 && o.test_split >= 0 && o.test_split < 1,
             "--val-split and --test-split must be in [0, 1), got ", o.val_split, " and ", o.test_split);
  data::Dataset all = data::load_dataset(dataset_spec(o, o.input));
  print_skipped(all, o.input, out);
  p.label_names = all.label_names;
  p.task = all.task;
  const std::string input_name = std::filesystem::path(o.input).filename().string();

  // A file wins over a split; the split is stratified and seeded, so the same seed gives the same
  // rows in every run (and in a resumed one).
  const double val_fraction = o.val_path.empty() ? o.val_split : 0.0;
  const double test_fraction = o.test_path.empty() ? o.test_split : 0.0;
  LOOM_CHECK(val_fraction + test_fraction < 1.0, "--val-split + --test-split must leave training rows");
  if (val_fraction > 0 || test_fraction > 0) {
    const data::SplitIndices split = data::stratified_split(all, val_fraction, test_fraction, o.seed);
    p.train = data::subset(all, split.train);
    p.val = data::subset(all, split.val);
    p.test = data::subset(all, split.test);
  } else {
    p.train = std::move(all);
    p.val = data::subset(p.train, {});
    p.test = data::subset(p.train, {});
  }
  p.val_source = o.val_path.empty() ? (val_fraction > 0 ? percent(val_fraction) + " of " + input_name : "none")
                                    : std::filesystem::path(o.val_path).filename().string();
  p.test_source = o.test_path.empty() ? (test_fraction > 0 ? percent(test_fraction) + " of " + input_name : "none")
                                      : std::filesystem::path(o.test_path).filename().string();
  // --val / --test files use the training labels: an unknown label there is an error naming it.
  if (!o.val_path.empty()) {
    p.val = data::load_dataset(dataset_spec(o, o.val_path), &p.label_names);
    print_skipped(p.val, o.val_path, out);
  }
  if (!o.test_path.empty()) {
    p.test = data::load_dataset(dataset_spec(o, o.test_path), &p.label_names);
    print_skipped(p.test, o.test_path, out);
  }
  LOOM_CHECK(!p.train.examples.empty(), "no training rows left after the split of ", o.input);

  out << "data: " << data::to_string(p.task) << ", " << p.label_names.size() << " labels\n";
  out << "  train " << p.train.examples.size() << " (" << class_counts(p.train) << ")\n";
  out << "  val   " << p.val.examples.size() << " [" << p.val_source << "]"
      << (p.val.examples.empty() ? "" : " (" + class_counts(p.val) + ")") << "\n";
  out << "  test  " << p.test.examples.size() << " [" << p.test_source << "]"
      << (p.test.examples.empty() ? "" : " (" + class_counts(p.test) + ")") << "\n";

  const data::TokenizerConfig tok = tokenizer_config(o);
  const auto train_docs = tokenize_all(p.train, tok);
  p.vocab = fixed_vocab ? *fixed_vocab : data::Vocab::build(train_docs, o.max_vocab, o.min_freq);
  p.train_rows = data::encode_examples(p.train, train_docs, p.vocab);
  p.val_rows = data::encode_examples(p.val, tokenize_all(p.val, tok), p.vocab);
  p.test_rows = data::encode_examples(p.test, tokenize_all(p.test, tok), p.vocab);

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
