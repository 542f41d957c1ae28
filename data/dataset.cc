// data/dataset.cc: turning CSV records or fastText lines into Examples (see dataset.h).
//
// Every row goes through the same checks: fields decoded (Latin-1) or validated (UTF-8) one by one
// so a bad byte is reported with its field and offset, an empty text or label rejected, labels
// mapped to the model's names when known. A bad row either throws or becomes one SkipLog entry.
// Label names are only known after the whole file when they are collected, so single-label rows
// keep their raw label string until finish_single_label() sorts the names and assigns indices.
#include "data/dataset.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "data/utf8.h"

namespace loom::data {

// ---- names ------------------------------------------------------------------------------------

InputFormat parse_input_format(const std::string& s) {
  if (s == "csv") return InputFormat::Csv;
  if (s == "sentiment140") return InputFormat::Sentiment140;
  if (s == "fasttext") return InputFormat::FastText;
  LOOM_THROW(DataError, "unknown input format '", s, "' (expected csv, sentiment140 or fasttext)");
}
BadRowPolicy parse_bad_row_policy(const std::string& s) {
  if (s == "fail") return BadRowPolicy::Fail;
  if (s == "skip") return BadRowPolicy::Skip;
  LOOM_THROW(DataError, "unknown bad-row policy '", s, "' (expected fail or skip)");
}
TaskKind parse_task_kind(const std::string& s) {
  if (s == "binary") return TaskKind::Binary;
  if (s == "multiclass") return TaskKind::MultiClass;
  if (s == "multilabel") return TaskKind::MultiLabel;
  LOOM_THROW(DataError, "unknown task '", s, "' (expected binary, multiclass or multilabel)");
}
TextEncoding parse_text_encoding(const std::string& s) {
  if (s == "utf-8" || s == "utf8") return TextEncoding::Utf8;
  if (s == "latin1" || s == "latin-1") return TextEncoding::Latin1;
  LOOM_THROW(DataError, "unknown encoding '", s, "' (expected utf-8 or latin1)");
}
std::string to_string(InputFormat f) {
  switch (f) {
    case InputFormat::Csv: return "csv";
    case InputFormat::Sentiment140: return "sentiment140";
    case InputFormat::FastText: return "fasttext";
  }
  return "?";
}
std::string to_string(BadRowPolicy p) { return p == BadRowPolicy::Fail ? "fail" : "skip"; }
std::string to_string(TaskKind t) {
  switch (t) {
    case TaskKind::Binary: return "binary";
    case TaskKind::MultiClass: return "multiclass";
    case TaskKind::MultiLabel: return "multilabel";
  }
  return "?";
}
std::string to_string(TextEncoding e) { return e == TextEncoding::Utf8 ? "utf-8" : "latin1"; }

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_space(c); });
}

std::string latin1_to_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (const char c : s) append_utf8(out, static_cast<unsigned char>(c));
  return out;
}

bool parse_number(const std::string& s, double& value) {
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, value);
  return r.ec == std::errc() && r.ptr == end;
}

// Shared state of one load: the spec, the dataset being filled and the bad-row policy.
class Loader {
 public:
  Loader(const DatasetSpec& spec, const std::vector<std::string>* known, Dataset& ds)
      : spec_(spec), known_(known), ds_(ds) {
    if (known_) {
      if (known_->empty()) LOOM_THROW(DataError, spec.path, ": the model has no label names");
      for (std::size_t i = 0; i < known_->size(); ++i) known_index_[(*known_)[i]] = static_cast<int>(i);
    }
  }

  // A bad row: throws under BadRowPolicy::Fail, otherwise counts it. Callers then drop the row.
  void bad(std::int64_t line, const std::string& field, const std::string& what) {
    const std::string msg = spec_.path + ":" + std::to_string(line) + ": field '" + field + "': " + what;
    if (spec_.on_bad_row == BadRowPolicy::Fail) LOOM_THROW(DataError, msg);
    record_skip(ds_.skipped, msg);
  }

  // raw bytes -> UTF-8 text in `out`; false (after bad()) when the bytes are not valid UTF-8.
  bool decode(const std::string& raw, std::int64_t line, const std::string& field, std::string& out) {
    if (spec_.encoding == TextEncoding::Latin1) {
      out = latin1_to_utf8(raw);
      return true;
    }
    const std::size_t at = first_invalid_utf8(raw);
    if (at != std::string::npos) {
      bad(line, field, "invalid UTF-8 at byte " + std::to_string(at) + " of the field" +
                           (at == 0 ? "" : " (after \"" + safe_prefix(raw, at) + "\")"));
      return false;
    }
    out = raw;
    return true;
  }

  bool decode_text(const std::string& raw, std::int64_t line, const std::string& field, std::string& out) {
    if (!decode(raw, line, field, out)) return false;
    if (blank(out)) {
      bad(line, field, out.empty() ? "empty text" : "the text is only whitespace");
      return false;
    }
    return true;
  }

  // A single label: decoded, trimmed, non-empty, and one of the model's names when those are known.
  // Sets `label` (known names) or `raw` (collected later).
  bool decode_label(const std::string& cell, std::int64_t line, const std::string& field, int& label,
                    std::string& raw) {
    if (!decode(cell, line, field, raw)) return false;
    raw = trim(raw);
    if (raw.empty()) {
      bad(line, field, "empty label");
      return false;
    }
    if (known_) return lookup(raw, line, field, label);
    return true;
  }

  bool lookup(const std::string& name, std::int64_t line, const std::string& field, int& label) {
    const auto it = known_index_.find(name);
    if (it == known_index_.end()) {
      bad(line, field, "unknown label '" + name + "' (the model's labels: " + join_names(*known_) + ")");
      return false;
    }
    label = it->second;
    return true;
  }

  // After all rows: label names, indices and the task for single-label data.
  void finish_single_label(const std::vector<std::string>& raw, const std::string& column) {
    if (!spec_.labeled) {
      if (known_) ds_.label_names = *known_;
      ds_.task = ds_.label_names.size() > 2 ? TaskKind::MultiClass : TaskKind::Binary;
      return;
    }
    if (known_) {
      ds_.label_names = *known_;
    } else {
      ds_.label_names = sorted_names(std::set<std::string>(raw.begin(), raw.end()));
      if (ds_.label_names.size() == 1)
        LOOM_THROW(DataError, spec_.path, ": ", column, " has the single value '", ds_.label_names[0],
                   "' in every row; a classifier needs at least two labels (evaluating a model? "
                   "pass its label names)");
      std::unordered_map<std::string, int> index;
      for (std::size_t i = 0; i < ds_.label_names.size(); ++i) index[ds_.label_names[i]] = static_cast<int>(i);
      for (std::size_t i = 0; i < ds_.examples.size(); ++i) ds_.examples[i].label = index.at(raw[i]);
    }
    ds_.task = ds_.label_names.size() > 2 ? TaskKind::MultiClass : TaskKind::Binary;
  }

  // Numeric names sorted by value ("2" < "10"), others by bytes.
  static std::vector<std::string> sorted_names(const std::set<std::string>& names) {
    std::vector<std::string> out(names.begin(), names.end());
    std::vector<double> values(out.size());
    bool numeric = true;
    for (std::size_t i = 0; i < out.size() && numeric; ++i) numeric = parse_number(out[i], values[i]);
    if (numeric) {
      std::vector<std::size_t> order(out.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
      std::vector<std::string> sorted;
      for (const std::size_t i : order) sorted.push_back(out[i]);
      out = std::move(sorted);
    }
    return out;
  }

  // No usable row at all (`rows` kept; DatasetReader counts the rows it has handed out).
  void finish() { finish(ds_.examples.size()); }
  void finish(std::size_t rows) {
    if (rows == 0) {
      std::string msg = spec_.path + ": no usable rows";
      if (ds_.skipped.count > 0)
        msg += " (" + std::to_string(ds_.skipped.count) + " skipped; first: " + ds_.skipped.examples[0] + ")";
      LOOM_THROW(DataError, msg);
    }
  }

  const DatasetSpec& spec() const { return spec_; }
  const std::vector<std::string>* known() const { return known_; }

 private:
  // The valid bytes before a bad one, at most 20 of them, for locating the byte in the text.
  static std::string safe_prefix(const std::string& s, std::size_t at) {
    std::size_t b = at > 20 ? at - 20 : 0;
    while (b < at && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) ++b;  // whole code points
    return s.substr(b, at - b);
  }

  const DatasetSpec& spec_;
  const std::vector<std::string>* known_;
  Dataset& ds_;
  std::unordered_map<std::string, int> known_index_;
};

std::int64_t require_column(const std::string& path, const std::vector<std::string>& header,
                           const std::string& name, const char* role) {
  const std::int64_t i = find_column(header, name);
  if (i >= 0) return i;
  std::string hint;
  double v = 0;
  if (header.size() == 6 && parse_number(header[0], v))
    hint = " (this looks like the raw Sentiment140 file without a header: use format sentiment140)";
  LOOM_THROW(DataError, path, ": no ", role, " column '", name, "'; the columns are: ",
             join_names(header), hint);
}

// Where the columns a CSV load reads are, found once from the header.
struct CsvColumns {
  std::int64_t text = -1, label = -1;  // label: single-label, labeled loads only
  std::vector<std::int64_t> labels;    // multi-label, labeled loads only
  std::vector<std::int64_t> ids;
};

CsvColumns csv_columns(const DatasetSpec& spec, const std::vector<std::string>* known,
                       const std::vector<std::string>& header) {
  CsvColumns c;
  c.text = require_column(spec.path, header, spec.text_col, "text");
  if (spec.labeled && !spec.label_cols.empty()) {
    if (known && *known != spec.label_cols)
      LOOM_THROW(DataError, spec.path, ": the label columns (", join_names(spec.label_cols),
                 ") differ from the model's labels (", join_names(*known), ")");
    for (const auto& name : spec.label_cols) c.labels.push_back(require_column(spec.path, header, name, "label"));
  } else if (spec.labeled) {
    c.label = require_column(spec.path, header, spec.label_col, "label");
  }
  for (const auto& name : spec.id_cols) c.ids.push_back(require_column(spec.path, header, name, "id"));
  return c;
}

// One CSV record as an Example; false when the row is bad (L threw or counted it). `raw` gets the
// label string when the names are collected later.
bool csv_example(Loader& L, const CsvColumns& c, const CsvRecord& r, Example& ex, std::string& raw) {
  const DatasetSpec& spec = L.spec();
  ex.line = r.line;
  if (!L.decode_text(r.fields[c.text], r.line, spec.text_col, ex.text)) return false;
  if (c.label >= 0 && !L.decode_label(r.fields[c.label], r.line, spec.label_col, ex.label, raw)) return false;
  for (std::size_t k = 0; k < c.labels.size(); ++k) {
    const std::string v = trim(r.fields[c.labels[k]]);
    if (v == "0" || v == "1") {
      ex.targets.push_back(v == "1" ? 1.0f : 0.0f);
    } else {
      std::string shown;
      if (L.decode(v, r.line, spec.label_cols[k], shown))
        L.bad(r.line, spec.label_cols[k], "expected 0 or 1, found '" + shown + "'");
      return false;
    }
  }
  for (std::size_t k = 0; k < c.ids.size(); ++k) {
    std::string id;
    if (!L.decode(r.fields[c.ids[k]], r.line, spec.id_cols[k], id)) return false;
    ex.ids.push_back(std::move(id));
  }
  return true;
}

Dataset load_csv(const DatasetSpec& spec, const std::vector<std::string>* known) {
  Dataset ds;
  Loader L(spec, known, ds);
  const bool skip = spec.on_bad_row == BadRowPolicy::Skip;
  const CsvTable table = read_csv(spec.path, CsvOptions{}, skip ? &ds.skipped : nullptr);
  const CsvColumns columns = csv_columns(spec, known, table.header);
  ds.id_names = spec.id_cols;

  std::vector<std::string> raw_labels;
  ds.examples.reserve(table.records.size());
  for (const CsvRecord& r : table.records) {
    Example ex;
    std::string raw;
    if (!csv_example(L, columns, r, ex, raw)) continue;
    ds.examples.push_back(std::move(ex));
    if (columns.label >= 0 && !known) raw_labels.push_back(std::move(raw));
  }
  L.finish();
  if (!spec.label_cols.empty()) {
    ds.task = TaskKind::MultiLabel;
    ds.label_names = spec.label_cols;
  } else {
    L.finish_single_label(raw_labels, "column '" + spec.label_col + "'");
  }
  return ds;
}

const std::vector<std::string>& sentiment140_columns() {
  static const std::vector<std::string> kColumns = {"polarity", "id", "date", "query", "user", "text"};
  return kColumns;
}

CsvOptions sentiment140_csv_options() {
  CsvOptions options;
  options.has_header = false;
  options.expected_fields = 6;
  return options;
}

// The id names of a Sentiment140 load (default "id") and their column indices.
std::vector<std::int64_t> sentiment140_ids(const DatasetSpec& spec, std::vector<std::string>& id_names) {
  id_names = spec.id_cols.empty() ? std::vector<std::string>{"id"} : spec.id_cols;
  std::vector<std::int64_t> id_is;
  for (const auto& c : id_names) {
    const std::int64_t i = find_column(sentiment140_columns(), c);
    if (i < 0)
      LOOM_THROW(DataError, spec.path, ": no id column '", c, "' in the Sentiment140 format; its columns are: ",
                 join_names(sentiment140_columns()));
    id_is.push_back(i);
  }
  return id_is;
}

// One record of the raw Sentiment140 file as an Example (see csv_example); `name` gets the
// polarity's label name.
bool sentiment140_example(Loader& L, const std::vector<std::int64_t>& id_is, const std::vector<std::string>& id_names,
                          const CsvRecord& r, Example& ex, std::string& name) {
  ex.line = r.line;
  if (!L.decode_text(r.fields[5], r.line, "text", ex.text)) return false;
  if (L.spec().labeled) {
    const std::string p = trim(r.fields[0]);
    if (p == "0") name = "negative";
    else if (p == "2") name = "neutral";
    else if (p == "4") name = "positive";
    else {
      std::string shown;
      if (L.decode(p, r.line, "polarity", shown))
        L.bad(r.line, "polarity", "expected 0, 2 or 4, found '" + shown + "'");
      return false;
    }
    if (L.known() && !L.lookup(name, r.line, "polarity", ex.label)) return false;
  }
  for (std::size_t k = 0; k < id_is.size(); ++k) {
    std::string id;
    if (!L.decode(r.fields[id_is[k]], r.line, id_names[k], id)) return false;
    ex.ids.push_back(std::move(id));
  }
  return true;
}

Dataset load_sentiment140(const DatasetSpec& spec, const std::vector<std::string>* known) {
  Dataset ds;
  Loader L(spec, known, ds);
  const std::vector<std::int64_t> id_is = sentiment140_ids(spec, ds.id_names);
  const CsvTable table = read_csv(spec.path, sentiment140_csv_options(),
                                  spec.on_bad_row == BadRowPolicy::Skip ? &ds.skipped : nullptr);
  std::vector<std::string> raw_labels;
  ds.examples.reserve(table.records.size());
  for (const CsvRecord& r : table.records) {
    Example ex;
    std::string name;
    if (!sentiment140_example(L, id_is, ds.id_names, r, ex, name)) continue;
    ds.examples.push_back(std::move(ex));
    if (spec.labeled && !known) raw_labels.push_back(std::move(name));
  }
  L.finish();
  // "negative" < "neutral" < "positive" in byte order too, so collected names come out in that order.
  L.finish_single_label(raw_labels, "the polarity column");
  return ds;
}

// One non-blank fastText line as an Example (see csv_example); `names` gets its distinct label
// names. A line over the field limit is fatal, as a CSV field is (data/csv.h).
[[noreturn]] void fasttext_line_too_long(const std::string& path, std::int64_t line) {
  LOOM_THROW(DataError, path, ":", line, ": the line is longer than ", kMaxCsvFieldBytes,
             " bytes, the limit for one fastText line");
}

bool fasttext_example(Loader& L, const std::string& text_line, std::int64_t line, Example& ex,
                      std::vector<std::string>& names) {
  static const std::string kPrefix = "__label__";
  if (text_line.size() > kMaxCsvFieldBytes) fasttext_line_too_long(L.spec().path, line);
  std::size_t p = 0;
  std::vector<std::string> labels;
  for (;;) {
    while (p < text_line.size() && (text_line[p] == ' ' || text_line[p] == '\t')) ++p;
    if (text_line.compare(p, kPrefix.size(), kPrefix) != 0) break;
    std::size_t q = p;
    while (q < text_line.size() && text_line[q] != ' ' && text_line[q] != '\t') ++q;
    labels.push_back(text_line.substr(p + kPrefix.size(), q - p - kPrefix.size()));
    p = q;
  }
  std::size_t e = text_line.size();
  while (e > p && is_space(text_line[e - 1])) --e;
  ex.line = line;
  if (!L.decode_text(text_line.substr(p, e - p), line, "text", ex.text)) return false;
  if (!L.spec().labeled) return true;
  if (labels.empty()) {
    L.bad(line, "label", "no __label__ prefix at the start of the line");
    return false;
  }
  for (const std::string& raw : labels) {
    std::string name;
    if (!L.decode(raw, line, "label", name)) return false;
    if (name.empty()) {
      L.bad(line, "label", "empty label name after __label__");
      return false;
    }
    int index = -1;
    if (L.known() && !L.lookup(name, line, "label", index)) return false;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return true;
}

Dataset load_fasttext(const DatasetSpec& spec, const std::vector<std::string>* known) {
  if (!spec.id_cols.empty())
    LOOM_THROW(DataError, spec.path, ": fastText lines have no columns, so no id column '", spec.id_cols[0], "'");
  Dataset ds;
  Loader L(spec, known, ds);
  const std::string bytes = read_file_bytes(spec.path);
  std::size_t i = bytes.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  std::vector<std::vector<std::string>> row_labels;  // raw names per kept row
  bool several = false;
  for (std::int64_t line = 1; i < bytes.size(); ++line) {
    std::size_t end = bytes.find('\n', i);
    if (end == std::string::npos) end = bytes.size();
    std::size_t stop = end;
    if (stop > i && bytes[stop - 1] == '\r') --stop;
    const std::string text_line = bytes.substr(i, stop - i);
    i = end + 1;
    if (blank(text_line)) continue;
    Example ex;
    std::vector<std::string> names;
    if (!fasttext_example(L, text_line, line, ex, names)) continue;
    ds.examples.push_back(std::move(ex));
    if (!spec.labeled) continue;
    several = several || names.size() > 1;
    row_labels.push_back(std::move(names));
  }
  L.finish();
  if (!spec.labeled || !(several || spec.multi_label)) {
    std::vector<std::string> raw;
    for (auto& names : row_labels) raw.push_back(names[0]);
    if (known && spec.labeled) {
      std::unordered_map<std::string, int> index;
      for (std::size_t k = 0; k < known->size(); ++k) index[(*known)[k]] = static_cast<int>(k);
      for (std::size_t k = 0; k < raw.size(); ++k) ds.examples[k].label = index.at(raw[k]);
    }
    L.finish_single_label(raw, "the __label__ prefix");
    return ds;
  }
  ds.task = TaskKind::MultiLabel;
  if (known) {
    ds.label_names = *known;
  } else {
    std::set<std::string> all;
    for (const auto& names : row_labels) all.insert(names.begin(), names.end());
    ds.label_names = Loader::sorted_names(all);
  }
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t k = 0; k < ds.label_names.size(); ++k) index[ds.label_names[k]] = k;
  for (std::size_t r = 0; r < ds.examples.size(); ++r) {
    ds.examples[r].targets.assign(ds.label_names.size(), 0.0f);
    for (const auto& name : row_labels[r]) ds.examples[r].targets[index.at(name)] = 1.0f;
  }
  return ds;
}

}  // namespace

namespace {

// MemAvailable from /proc/meminfo in bytes, or -1 when unknown (not Linux). LOOM_TEST_MEM_AVAILABLE
// (bytes) replaces it, for the test of the check below; never set in normal use.
std::int64_t available_memory() {
  if (const char* v = std::getenv("LOOM_TEST_MEM_AVAILABLE")) return std::atoll(v);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen("/proc/meminfo", "r"), &std::fclose);
  if (!f) return -1;
  char line[256];
  long long kb = -1;
  while (std::fgets(line, sizeof line, f.get()))
    if (std::sscanf(line, "MemAvailable: %lld kB", &kb) == 1) return static_cast<std::int64_t>(kb) * 1024;
  return -1;
}

std::string gigabytes(std::int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) / 1e9);
  return buf;
}

}  // namespace

// load_dataset holds every row of the file: at least kLoadBytesPerFileByte times its size
// (measured: 12.2x for a 1 GB CSV when training starts, docs/reliability-large-inputs.md). A file that cannot fit
// fails here, before the first byte is read, instead of minutes later in an out-of-memory kill.
// Files under 64 MiB are not checked (any machine holds them; and no /proc read per small load).
void check_memory_for_load(const std::string& path) {
  const std::int64_t size = check_readable_file(path);
  if (size < (std::int64_t{64} << 20)) return;
  const std::int64_t need = size * kLoadBytesPerFileByte, available = available_memory();
  if (available >= 0 && need > available)
    LOOM_THROW(DataError, path, ": ", gigabytes(size), " is too large to load: training and eval hold the whole file, about ",
               kLoadBytesPerFileByte, "x its size (", gigabytes(need), "), and ", gigabytes(available),
               " of memory is available; sample or split the file (loom predict streams and has no such limit)");
}

Dataset load_dataset(const DatasetSpec& spec, const std::vector<std::string>* known_labels) {
  check_memory_for_load(spec.path);
  switch (spec.format) {
    case InputFormat::Csv: return load_csv(spec, known_labels);
    case InputFormat::Sentiment140: return load_sentiment140(spec, known_labels);
    case InputFormat::FastText: return load_fasttext(spec, known_labels);
  }
  LOOM_THROW(DataError, spec.path, ": unknown input format");
}

Dataset subset(const Dataset& data, const std::vector<std::int64_t>& rows) {
  Dataset out;
  out.label_names = data.label_names;
  out.task = data.task;
  out.id_names = data.id_names;
  out.skipped = data.skipped;
  out.examples.reserve(rows.size());
  const auto n = static_cast<std::int64_t>(data.examples.size());
  for (const std::int64_t r : rows) {
    LOOM_CHECK(r >= 0 && r < n, "subset: row ", r, " is outside [0, ", n, ")");
    out.examples.push_back(data.examples[static_cast<std::size_t>(r)]);
  }
  return out;
}

std::vector<std::int64_t> label_counts(const Dataset& data) {
  std::vector<std::int64_t> counts(data.label_names.size(), 0);
  for (const Example& ex : data.examples) {
    if (data.task == TaskKind::MultiLabel) {
      for (std::size_t k = 0; k < ex.targets.size() && k < counts.size(); ++k) counts[k] += ex.targets[k] > 0.5f;
    } else if (ex.label >= 0 && static_cast<std::size_t>(ex.label) < counts.size()) {
      ++counts[static_cast<std::size_t>(ex.label)];
    }
  }
  return counts;
}

// ---- DatasetReader: the same rows, a chunk at a time ----------------------------------------------

struct DatasetReader::Impl {
  DatasetSpec spec;
  Dataset state;  // the skip log, and the id names, label names and task every chunk carries
  std::unique_ptr<Loader> loader;
  std::unique_ptr<CsvReader> csv;   // csv and sentiment140
  CsvColumns columns;               // csv
  std::vector<std::int64_t> ids;    // sentiment140: the id columns
  CsvRecord record;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> lines{nullptr, &std::fclose};  // fasttext
  std::int64_t line = 0;            // fasttext: the physical line last read
  std::size_t handed_out = 0;       // rows returned by next() so far

  // The next fastText line without its "\n" (and "\r\n"); false at the end of the file. A line
  // over the limit stops the read there, so memory stays bounded however long it is.
  bool read_line(std::string& out) {
    out.clear();
    int c = 0;
    bool any = false;
    while ((c = std::getc(lines.get())) != EOF) {
      any = true;
      if (c == '\n') break;
      out += static_cast<char>(c);
      if (out.size() > kMaxCsvFieldBytes + 1) fasttext_line_too_long(spec.path, line + 1);
    }
    if (std::ferror(lines.get())) LOOM_THROW(DataError, "cannot read '", spec.path, "': ", std::strerror(errno));
    if (!any) return false;
    ++line;
    if (line == 1 && out.compare(0, 3, "\xEF\xBB\xBF") == 0) out.erase(0, 3);
    if (!out.empty() && out.back() == '\r') out.pop_back();
    return true;
  }

  // The next usable row into `ex`; false at the end of the file. Bad rows throw or are counted,
  // exactly as load_dataset does.
  bool next_example(Example& ex) {
    for (;;) {
      ex = Example{};
      std::string raw;
      if (spec.format == InputFormat::FastText) {
        if (!read_line(raw)) return false;
        if (blank(raw)) continue;
        std::vector<std::string> names;
        if (fasttext_example(*loader, raw, line, ex, names)) return true;
        continue;
      }
      if (!csv->next(record)) return false;
      const bool ok = spec.format == InputFormat::Csv
                          ? csv_example(*loader, columns, record, ex, raw)
                          : sentiment140_example(*loader, ids, state.id_names, record, ex, raw);
      if (ok) return true;
    }
  }
};

DatasetReader::DatasetReader(const DatasetSpec& spec) : impl_(std::make_unique<Impl>()) {
  LOOM_CHECK(!spec.labeled, "DatasetReader reads unlabeled rows (predict); load_dataset reads labeled ones");
  Impl& m = *impl_;
  m.spec = spec;
  m.loader = std::make_unique<Loader>(m.spec, nullptr, m.state);
  SkipLog* skipped = spec.on_bad_row == BadRowPolicy::Skip ? &m.state.skipped : nullptr;
  switch (spec.format) {
    case InputFormat::Csv:
      m.csv = std::make_unique<CsvReader>(spec.path, CsvOptions{}, skipped);
      m.columns = csv_columns(m.spec, nullptr, m.csv->header());
      m.state.id_names = spec.id_cols;
      if (!spec.label_cols.empty()) {  // as load_dataset: unlabeled multi-label data keeps its names
        m.state.task = TaskKind::MultiLabel;
        m.state.label_names = spec.label_cols;
      }
      break;
    case InputFormat::Sentiment140:
      m.ids = sentiment140_ids(m.spec, m.state.id_names);
      m.csv = std::make_unique<CsvReader>(spec.path, sentiment140_csv_options(), skipped);
      break;
    case InputFormat::FastText: {
      if (!spec.id_cols.empty())
        LOOM_THROW(DataError, spec.path, ": fastText lines have no columns, so no id column '", spec.id_cols[0], "'");
      check_readable_file(spec.path);
      m.lines.reset(std::fopen(spec.path.c_str(), "rb"));
      if (!m.lines) LOOM_THROW(DataError, "cannot open '", spec.path, "': ", std::strerror(errno));
      break;
    }
  }
}

DatasetReader::~DatasetReader() = default;

const std::vector<std::string>& DatasetReader::id_names() const { return impl_->state.id_names; }
const SkipLog& DatasetReader::skipped() const { return impl_->state.skipped; }

bool DatasetReader::next(std::size_t max_rows, Dataset& chunk) {
  LOOM_CHECK(max_rows > 0, "DatasetReader::next: max_rows must be positive");
  Impl& m = *impl_;
  chunk.examples.clear();
  chunk.id_names = m.state.id_names;
  chunk.label_names = m.state.label_names;
  chunk.task = m.state.task;
  Example ex;
  while (chunk.examples.size() < max_rows && m.next_example(ex)) chunk.examples.push_back(std::move(ex));
  chunk.skipped = m.state.skipped;
  m.handed_out += chunk.examples.size();
  if (chunk.examples.empty()) m.loader->finish(m.handed_out);  // a file with no usable row: as load_dataset
  return !chunk.examples.empty();
}

}  // namespace loom::data
