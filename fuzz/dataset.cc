// fuzz/dataset.cc: load_dataset (data/dataset.h) on arbitrary bytes, in all three formats (csv,
// sentiment140, fasttext) and both encodings (utf-8, latin1).
//
// The first two bytes pick the format, the encoding, the bad-row policy, labeled or not, a
// multi-label column set, an id column and a model's known labels; the rest is the file.
// Checked: a refusal is a DataError naming the file; a loaded dataset has at least one example,
// every text is valid UTF-8 (checked by fuzz_util.h's own validator) and not blank, every label is
// an index into label_names (or -1 where the task allows it), multi-label targets are 0/1 with one
// per label, ids match id_names, lines are >= 1.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "fuzz/fuzz_util.h"

using namespace loom;

int loom_fuzz_dataset(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t a = in.byte(), b = in.byte();
  data::DatasetSpec spec;
  spec.format = static_cast<data::InputFormat>(a % 3);
  spec.encoding = (a & 4) ? data::TextEncoding::Latin1 : data::TextEncoding::Utf8;
  spec.on_bad_row = (a & 8) ? data::BadRowPolicy::Skip : data::BadRowPolicy::Fail;
  spec.labeled = (a & 16) == 0;
  const bool known = (a & 32) != 0;
  if (spec.format == data::InputFormat::Csv && (b & 1)) spec.label_cols = {"pos", "neg"};
  if (spec.format != data::InputFormat::FastText && (b & 2)) spec.id_cols = {"id"};
  if (spec.format == data::InputFormat::FastText) spec.multi_label = (b & 4) != 0;
  spec.path = fuzz::write_scratch("dataset.txt", in.rest());
  const std::vector<std::string> known_labels =
      !spec.label_cols.empty() ? spec.label_cols
      : spec.format == data::InputFormat::Sentiment140 ? std::vector<std::string>{"negative", "positive"}
                                                      : std::vector<std::string>{"0", "1"};

  data::Dataset d;
  if (!fuzz::run_expecting<DataError>([&] { d = data::load_dataset(spec, known ? &known_labels : nullptr); },
                                      spec.path))
    return 0;

  FUZZ_CHECK(!d.examples.empty(), "a dataset loaded with no examples");
  const auto n_labels = static_cast<int>(d.label_names.size());
  for (const data::Example& e : d.examples) {
    FUZZ_CHECK(fuzz::valid_utf8(e.text), "a text that is not valid UTF-8 (line " + std::to_string(e.line) + ")");
    FUZZ_CHECK(e.text.find_first_not_of(" \t\r\n\v\f") != std::string::npos, "a blank text was kept");
    FUZZ_CHECK(e.line >= 1, "line " + std::to_string(e.line));
    FUZZ_CHECK(e.ids.size() == d.id_names.size(), "ids do not match id_names");
    for (const std::string& id : e.ids) FUZZ_CHECK(fuzz::valid_utf8(id), "an id that is not valid UTF-8");
    FUZZ_CHECK(e.label >= -1 && e.label < n_labels, "label " + std::to_string(e.label) + " of " +
                                                        std::to_string(n_labels));
    if (d.task == data::TaskKind::MultiLabel) {
      if (spec.labeled) {
        FUZZ_CHECK(static_cast<int>(e.targets.size()) == n_labels, "multi-label targets do not match the labels");
        for (float t : e.targets) FUZZ_CHECK(t == 0.0f || t == 1.0f, "a multi-label target that is not 0/1");
      }
    } else if (spec.labeled) {
      FUZZ_CHECK(e.label >= 0, "a labeled single-label example without a label");
    }
  }
  if (spec.labeled && d.task != data::TaskKind::MultiLabel) FUZZ_CHECK(n_labels >= 2, "fewer than two labels");
  FUZZ_CHECK(d.skipped.count == 0 || spec.on_bad_row == data::BadRowPolicy::Skip, "rows skipped under fail");
  return 0;
}

LOOM_FUZZ_ENTRY(loom_fuzz_dataset)
