// data/metadata.cc: the account-metadata join of data/metadata.h.
//
// One pass of work, in this order: read the metadata table (the accounts file, or the input CSV
// itself), choose the source columns (--meta-cols, "all-numeric" or a saved schema), index and
// parse every account row (so a bad cell is reported even for an account no tweet names), walk
// the tweets applying the missing-account policy, append or drop the accounts without a tweet,
// decide the schema (training) and finally write one raw vector per surviving example.
// Values are parsed as double and stored as float; engineered features are computed in double
// from the filled values (a missing cell counts as 0 there too).
#include "data/metadata.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"

namespace loom::data {

MissingAccount parse_missing_account(const std::string& s) {
  if (s == "fail") return MissingAccount::Fail;
  if (s == "skip") return MissingAccount::Skip;
  if (s == "keep") return MissingAccount::Keep;
  LOOM_THROW(DataError, "unknown missing-account policy '", s, "' (expected fail, skip or keep)");
}

AccountsWithoutTweets parse_accounts_without_tweets(const std::string& s) {
  if (s == "keep") return AccountsWithoutTweets::Keep;
  if (s == "drop") return AccountsWithoutTweets::Drop;
  LOOM_THROW(DataError, "unknown accounts-without-tweets policy '", s, "' (expected keep or drop)");
}

namespace {

// The spellings of "no value" (after trimming spaces and tabs); case-sensitive on purpose, so a
// column holding the word "NONE" as data is not silently emptied.
const char* const kMissingSpellings[] = {"", "NA", "NaN", "nan", "null", "None"};

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

enum class Cell { Missing, Number, Bad };

// A metadata cell: missing, a finite number that fits a float (the whole cell, e.g. "12", "-3.5",
// "1e3", "+7"), or bad; `why` says what is wrong with a bad one.
Cell parse_cell(const std::string& raw, double& value, std::string& why) {
  const std::string s = trim(raw);
  for (const char* m : kMissingSpellings)
    if (s == m) return Cell::Missing;
  std::size_t b = 0;
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') b = 1;  // from_chars rejects a '+' sign
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data() + b, end, value);
  if (r.ec == std::errc::result_out_of_range || (r.ec == std::errc() && r.ptr == end && !std::isfinite(value))) {
    why = "'" + s + "' is not a finite number";
    return Cell::Bad;
  }
  if (r.ec != std::errc() || r.ptr != end) {
    why = "'" + s + "' is not a number";
    return Cell::Bad;
  }
  if (std::fabs(value) > static_cast<double>(std::numeric_limits<float>::max())) {
    why = "'" + s + "' does not fit a 32-bit float";
    return Cell::Bad;
  }
  return Cell::Number;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// One engineered feature: its name and how to compute it from the source values.
struct Engineered {
  enum Kind { Log1p, Ratio } kind;
  std::string name;
  std::size_t a = 0, b = 0;  // source indices: log1p(max(v[a], 0)) or v[a] / max(v[b], 1)
};

// The engineered features that `source` allows, in the documented order: log1p of each *_count
// column (source order), statuses_per_day, followers_friends_ratio, screen_name_digit_share.
std::vector<Engineered> engineered_features(const std::vector<std::string>& source) {
  std::vector<Engineered> out;
  for (std::size_t i = 0; i < source.size(); ++i)
    if (ends_with(source[i], "_count")) out.push_back({Engineered::Log1p, "log1p_" + source[i], i, 0});
  const auto at = [&](const char* name) { return find_column(source, name); };
  const auto ratio = [&](const char* name, const char* num, const char* den) {
    if (at(num) >= 0 && at(den) >= 0)
      out.push_back({Engineered::Ratio, name, static_cast<std::size_t>(at(num)), static_cast<std::size_t>(at(den))});
  };
  ratio("statuses_per_day", "statuses_count", "account_age_days");
  ratio("followers_friends_ratio", "followers_count", "friends_count");
  ratio("screen_name_digit_share", "screen_name_digits", "screen_name_len");
  return out;
}

std::vector<std::string> feature_names_for(const std::vector<std::string>& source, bool engineered,
                                           const std::vector<std::string>& indicators, bool no_account) {
  std::vector<std::string> names = source;
  if (engineered)
    for (const Engineered& e : engineered_features(source)) names.push_back(e.name);
  for (const std::string& c : indicators) names.push_back(c + "_missing");
  if (no_account) names.push_back("no_account");
  return names;
}

// One row of the metadata table, parsed.
struct AccountRow {
  std::int64_t record = -1;      // index into the table's records
  std::int64_t line = 0;
  std::vector<double> values;    // per source column; 0 where missing
  std::vector<char> missing;     // per source column
  int label = -1;                // index into d.label_names; -1 when unknown or not needed
  std::string label_text;        // as written (trimmed), for messages
  bool used = false;             // a tweet names it, or it was appended
};

// The raw vector of one account (or of "no account" when `row` is null).
std::vector<float> make_vector(const MetaSchema& schema, const std::vector<Engineered>& eng,
                               const std::vector<std::size_t>& indicator_src, const AccountRow* row) {
  const std::size_t S = schema.source_columns.size();
  std::vector<float> v;
  v.reserve(static_cast<std::size_t>(schema.size()));
  const auto value = [&](std::size_t j) { return row ? row->values[j] : 0.0; };
  for (std::size_t j = 0; j < S; ++j) v.push_back(static_cast<float>(value(j)));
  for (const Engineered& e : eng) {
    const double x = e.kind == Engineered::Log1p ? std::log1p(std::max(value(e.a), 0.0))
                                                 : value(e.a) / std::max(value(e.b), 1.0);
    v.push_back(static_cast<float>(x));
  }
  for (const std::size_t j : indicator_src) v.push_back(!row || row->missing[j] ? 1.0f : 0.0f);
  if (schema.no_account_indicator) v.push_back(row ? 0.0f : 1.0f);
  return v;
}

std::string with_commas(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

bool is_labeled(const Dataset& d) {
  return std::any_of(d.examples.begin(), d.examples.end(),
                     [](const Example& e) { return e.label >= 0 || !e.targets.empty(); });
}

// The source columns of a training run: --meta-cols (in file order) or every numeric column.
std::vector<std::int64_t> choose_columns(const CsvTable& t, const MetaSpec& spec, std::int64_t key_i,
                                         std::int64_t label_i) {
  if (spec.columns.empty())
    LOOM_THROW(DataError, t.path, ": no metadata columns chosen (--meta-cols a,b,c or all-numeric); the columns are: ",
               join_names(t.header));
  std::vector<std::int64_t> chosen;
  if (spec.columns.size() == 1 && spec.columns[0] == "all-numeric") {
    for (std::int64_t c = 0; c < static_cast<std::int64_t>(t.header.size()); ++c) {
      if (c == key_i || c == label_i) continue;
      bool numeric = true, any = false;
      for (const CsvRecord& r : t.records) {
        double v = 0;
        std::string why;
        const Cell k = parse_cell(r.fields[static_cast<std::size_t>(c)], v, why);
        if (k == Cell::Bad) { numeric = false; break; }
        any = any || k == Cell::Number;
      }
      if (numeric && any) chosen.push_back(c);  // a column with no value at all carries nothing
    }
    if (chosen.empty())
      LOOM_THROW(DataError, t.path, ": all-numeric found no numeric column besides '", spec.join_col, "' and '",
                 spec.label_col, "'; the columns are: ", join_names(t.header));
    return chosen;
  }
  for (const std::string& name : spec.columns) {
    const std::int64_t c = find_column(t.header, name);
    if (c < 0)
      LOOM_THROW(DataError, t.path, ": no metadata column '", name, "' (--meta-cols); the columns are: ",
                 join_names(t.header));
    if (c == key_i || c == label_i)
      LOOM_THROW(DataError, t.path, ": --meta-cols names '", name, "', which is the ",
                 c == key_i ? "join" : "label", " column, not a feature");
    if (std::find(chosen.begin(), chosen.end(), c) == chosen.end()) chosen.push_back(c);
  }
  std::sort(chosen.begin(), chosen.end());  // file order, whatever order the flag listed
  return chosen;
}

}  // namespace

// ---- schema -----------------------------------------------------------------------------------

nlohmann::json MetaSchema::to_json() const {
  return {{"join_col", join_col},
          {"source_columns", source_columns},
          {"feature_names", feature_names},
          {"engineered", engineered},
          {"missing_indicators", missing_indicators},
          {"no_account_indicator", no_account_indicator}};
}

MetaSchema MetaSchema::from_json(const nlohmann::json& j) {
  const auto fail = [](const std::string& why) -> void { LOOM_THROW(CheckpointError, "metadata schema: ", why); };
  if (!j.is_object()) fail("expected a JSON object, got " + j.dump());
  const auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) fail(std::string("missing field '") + key + "'");
    return j.at(key);
  };
  const auto strings = [&](const char* key) {
    const nlohmann::json& v = need(key);
    std::vector<std::string> out;
    if (!v.is_array()) fail(std::string("field '") + key + "' must be an array of strings, got " + v.dump());
    for (const auto& s : v) {
      if (!s.is_string()) fail(std::string("field '") + key + "' must be an array of strings, got " + v.dump());
      out.push_back(s.get<std::string>());
    }
    return out;
  };
  const auto flag = [&](const char* key) {
    const nlohmann::json& v = need(key);
    if (!v.is_boolean()) fail(std::string("field '") + key + "' must be true or false, got " + v.dump());
    return v.get<bool>();
  };
  MetaSchema s;
  const nlohmann::json& join = need("join_col");
  if (!join.is_string()) fail("field 'join_col' must be a string, got " + join.dump());
  s.join_col = join.get<std::string>();
  s.source_columns = strings("source_columns");
  s.feature_names = strings("feature_names");
  s.engineered = flag("engineered");
  s.missing_indicators = strings("missing_indicators");
  s.no_account_indicator = flag("no_account_indicator");
  for (const auto& k : j.items())
    if (k.key() != "join_col" && k.key() != "source_columns" && k.key() != "feature_names" &&
        k.key() != "engineered" && k.key() != "missing_indicators" && k.key() != "no_account_indicator")
      fail("unknown field '" + k.key() + "'");
  if (s.source_columns.empty()) fail("field 'source_columns' is empty");
  for (const std::string& c : s.missing_indicators)
    if (find_column(s.source_columns, c) < 0)
      fail("field 'missing_indicators' names '" + c + "', which is not a source column");
  // The names are derived data: a mismatch means the file was edited or written by another version,
  // and the vector this build would rebuild would not be the one the model was trained on.
  const auto expected = feature_names_for(s.source_columns, s.engineered, s.missing_indicators, s.no_account_indicator);
  if (s.feature_names != expected)
    fail("field 'feature_names' (" + join_names(s.feature_names) + ") does not match the features this version derives (" +
         join_names(expected) + ")");
  return s;
}

std::string JoinReport::summary() const {
  std::string s;
  if (from_input) {
    s = "metadata from the input's own columns: " + with_commas(matched) + " rows";
  } else {
    s = "joined " + with_commas(tweets) + " tweets to " + with_commas(accounts) + " accounts: " +
        with_commas(matched) + " matched, " + with_commas(accounts_without_tweets) + " accounts without a tweet " +
        (without_tweets == AccountsWithoutTweets::Keep ? "kept with an empty text" : "dropped") + ", " +
        with_commas(tweets_without_account) + " tweets without an account" +
        (tweets_without_account == 0 ? ""
         : missing_account == MissingAccount::Skip ? " skipped"
                                                    : " kept with every feature missing");
  }
  s += ", " + with_commas(missing_values) + " missing values filled with 0";
  if (skipped_accounts.count > 0)
    s += ", " + with_commas(skipped_accounts.count) + " bad rows skipped (first: " + skipped_accounts.examples[0] + ")";
  return s;
}

std::vector<std::string> example_keys(const Dataset& d, const std::string& col) {
  const std::int64_t k = find_column(d.id_names, col);
  if (k < 0)
    LOOM_THROW(DataError, "the data has no id column '", col, "' (its id columns: ",
               d.id_names.empty() ? std::string("none") : join_names(d.id_names), ")");
  std::vector<std::string> keys;
  keys.reserve(d.examples.size());
  for (const Example& e : d.examples) {
    LOOM_CHECK(static_cast<std::int64_t>(e.ids.size()) > k, "example_keys: an example on line ", e.line,
               " carries ", e.ids.size(), " ids, fewer than the dataset's ", d.id_names.size());
    keys.push_back(e.ids[static_cast<std::size_t>(k)]);
  }
  return keys;
}

// ---- the join ---------------------------------------------------------------------------------

std::vector<std::vector<float>> join_metadata(Dataset& d, const MetaSpec& spec, const MetaSchema* schema,
                                              MetaSchema* schema_out, JoinReport* report_out) {
  JoinReport report;
  report.missing_account = spec.missing_account;
  report.without_tweets = spec.without_tweets;
  const bool from_input = spec.accounts_path.empty();
  report.from_input = from_input;
  const std::string& path = from_input ? spec.input_path : spec.accounts_path;
  const std::string input_name = spec.input_path.empty() ? std::string("the input") : spec.input_path;
  if (path.empty())
    LOOM_THROW(DataError, "join_metadata: no metadata source (neither an accounts file nor the input path)");
  const bool skip_bad = spec.on_bad_row == BadRowPolicy::Skip;

  // The keys first: a missing join column is the user's first mistake to hear about.
  std::vector<std::string> keys;
  if (!from_input) keys = example_keys(d, spec.join_col);

  // Malformed CSV records: counted with the bad account rows (the input's own were already counted
  // by load_dataset, so a second count is thrown away).
  SkipLog input_skips;
  const CsvTable table = read_csv(path, CsvOptions{}, skip_bad ? (from_input ? &input_skips : &report.skipped_accounts) : nullptr);
  const std::int64_t key_i = find_column(table.header, spec.join_col);
  if (!from_input && key_i < 0)
    LOOM_THROW(DataError, path, ": no join column '", spec.join_col, "'; the columns are: ", join_names(table.header));
  const std::int64_t label_i = find_column(table.header, spec.label_col);

  // ---- the source columns and the parsed rows ----
  std::vector<std::int64_t> cols;
  if (schema) {
    for (const std::string& name : schema->source_columns) {
      const std::int64_t c = find_column(table.header, name);
      if (c < 0)
        LOOM_THROW(DataError, path, ": no metadata column '", name, "' (the model was trained with it); the columns are: ",
                   join_names(table.header));
      cols.push_back(c);
    }
  } else {
    cols = choose_columns(table, spec, key_i, label_i);  // the key is no feature in either mode
  }
  std::vector<std::string> source;
  for (const std::int64_t c : cols) source.push_back(table.header[static_cast<std::size_t>(c)]);
  // Every name the join reads must name one column: training picks columns by position, but eval and
  // predict find them again by name, so a duplicate would feed them another column (found by fuzzing).
  std::vector<std::string> used = source;
  used.push_back(spec.join_col);
  if (label_i >= 0) used.push_back(spec.label_col);
  for (const std::string& name : used)
    if (std::count(table.header.begin(), table.header.end(), name) > 1)
      LOOM_THROW(DataError, path, ": the column '", name, "' appears more than once in the header");

  const bool labeled = is_labeled(d);
  const bool need_labels = labeled && !from_input && label_i >= 0;
  std::unordered_map<std::string, std::int64_t> label_index;
  for (std::size_t i = 0; i < d.label_names.size(); ++i) label_index[d.label_names[i]] = static_cast<std::int64_t>(i);

  std::vector<AccountRow> rows;            // the good rows, in file order
  std::unordered_map<std::string, std::size_t> by_key;        // key -> index into rows
  std::unordered_map<std::string, std::int64_t> first_line;   // key -> line, good or bad
  std::unordered_map<std::string, std::int64_t> bad_keys;     // key -> line of a skipped account
  std::unordered_map<std::int64_t, std::size_t> by_line;      // input mode: line -> index into rows
  std::unordered_set<std::int64_t> bad_lines;                 // input mode: rows skipped as bad
  for (std::size_t r = 0; r < table.records.size(); ++r) {
    const CsvRecord& rec = table.records[r];
    std::string key;
    if (!from_input) {
      key = rec.fields[static_cast<std::size_t>(key_i)];
      const auto [it, fresh] = first_line.emplace(key, rec.line);
      if (!fresh)
        LOOM_THROW(DataError, path, ":", rec.line, ": field '", spec.join_col, "': duplicate key '", key,
                   "' (first on line ", it->second, ")");
    }
    // A bad row: an error, or (--on-bad-row skip) one counted skip; its tweets are then removed.
    std::string bad;
    AccountRow row;
    row.record = static_cast<std::int64_t>(r);
    row.line = rec.line;
    if (!from_input && key.empty()) bad = "field '" + spec.join_col + "': empty key";
    for (std::size_t j = 0; j < cols.size() && bad.empty(); ++j) {
      double v = 0;
      std::string why;
      const Cell k = parse_cell(rec.fields[static_cast<std::size_t>(cols[j])], v, why);
      if (k == Cell::Bad) bad = "field '" + source[j] + "': " + why;
      row.values.push_back(k == Cell::Number ? v : 0.0);
      row.missing.push_back(k == Cell::Missing ? 1 : 0);
    }
    if (bad.empty() && need_labels) {
      row.label_text = trim(rec.fields[static_cast<std::size_t>(label_i)]);
      if (row.label_text.empty()) {
        // no label for this account: nothing to contradict; appending it needs one (checked below)
      } else if (d.task == TaskKind::MultiLabel) {
        row.label_text.clear();  // a single label cannot be compared with a multi-label row
      } else if (const auto it = label_index.find(row.label_text); it != label_index.end()) {
        row.label = static_cast<int>(it->second);
      } else {
        bad = "field '" + spec.label_col + "': unknown label '" + row.label_text + "' (the labels: " +
              join_names(d.label_names) + ")";
      }
    }
    if (!bad.empty()) {
      const std::string msg = path + ":" + std::to_string(rec.line) + ": " + bad;
      if (!skip_bad) LOOM_THROW(DataError, msg);
      record_skip(report.skipped_accounts, msg);
      if (from_input) bad_lines.insert(rec.line);
      else bad_keys.emplace(key, rec.line);
      continue;
    }
    if (from_input) by_line.emplace(rec.line, rows.size());
    else by_key.emplace(key, rows.size());
    rows.push_back(std::move(row));
  }
  report.accounts = from_input ? 0 : static_cast<std::int64_t>(rows.size());
  report.tweets = static_cast<std::int64_t>(d.examples.size());

  // ---- the tweets: each gets an account row, or none ----
  std::vector<Example> kept;
  std::vector<std::int64_t> row_of;  // per kept example: index into rows, or -1 (no account)
  kept.reserve(d.examples.size());
  for (std::size_t i = 0; i < d.examples.size(); ++i) {
    Example& e = d.examples[i];
    std::int64_t found = -1;
    if (from_input) {
      if (bad_lines.count(e.line)) continue;  // counted in skipped_accounts
      const auto it = by_line.find(e.line);
      if (it == by_line.end())
        LOOM_THROW(DataError, input_name, ":", e.line, ": no row starts on this line when the file is read again "
                   "for its metadata columns (the metadata must come from the same CSV file)");
      found = static_cast<std::int64_t>(it->second);
    } else {
      const std::string& key = keys[i];
      const auto it = by_key.find(key);
      if (it != by_key.end()) {
        found = static_cast<std::int64_t>(it->second);
      } else if (const auto b = bad_keys.find(key); b != bad_keys.end()) {
        record_skip(d.skipped, input_name + ":" + std::to_string(e.line) + ": field '" + spec.join_col + "': account '" +
                                   key + "' was skipped (bad row " + path + ":" + std::to_string(b->second) + ")");
        continue;
      } else {
        ++report.tweets_without_account;
        if (spec.missing_account == MissingAccount::Fail)
          LOOM_THROW(DataError, input_name, ":", e.line, ": field '", spec.join_col, "': no account '", key, "' in ", path,
                     " (--missing-account skip or keep to go on without it)");
        if (spec.missing_account == MissingAccount::Skip) continue;
      }
    }
    if (found >= 0) {
      AccountRow& a = rows[static_cast<std::size_t>(found)];
      a.used = true;
      ++report.matched;
      if (!from_input && a.label >= 0 && e.label >= 0 && e.label != a.label)
        LOOM_THROW(DataError, input_name, ":", e.line, ": field '", spec.label_col, "': the tweet's label '",
                   d.label_names[static_cast<std::size_t>(e.label)], "' contradicts its account's label '", a.label_text,
                   "' (", path, ":", a.line, ", key '", keys[i], "')");
    }
    kept.push_back(std::move(e));
    row_of.push_back(found);
  }

  // ---- accounts without a tweet ----
  if (!from_input) {
    const std::int64_t key_id = find_column(d.id_names, spec.join_col);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      AccountRow& a = rows[r];
      if (a.used) continue;
      ++report.accounts_without_tweets;
      if (spec.without_tweets == AccountsWithoutTweets::Drop) continue;
      const CsvRecord& rec = table.records[static_cast<std::size_t>(a.record)];
      const std::string& key = rec.fields[static_cast<std::size_t>(key_i)];
      Example e;
      e.line = a.line;
      e.ids.assign(d.id_names.size(), std::string());
      e.ids[static_cast<std::size_t>(key_id)] = key;
      if (labeled) {
        if (d.task == TaskKind::MultiLabel)
          LOOM_THROW(DataError, path, ":", a.line, ": account '", key, "' has no tweet, and an account's single label "
                     "cannot label a multi-label example (--accounts-without-tweets drop)");
        if (a.label < 0)
          LOOM_THROW(DataError, path, ":", a.line, ": field '", spec.label_col, "': account '", key,
                     "' has no tweet and no label to train on (",
                     label_i < 0 ? "the file has no such column" : "the cell is empty",
                     "; --accounts-without-tweets drop leaves such accounts out)");
        e.label = a.label;
      }
      a.used = true;
      kept.push_back(std::move(e));
      row_of.push_back(static_cast<std::int64_t>(r));
    }
  }
  d.examples = std::move(kept);
  if (d.examples.empty())
    LOOM_THROW(DataError, input_name, ": no example left after joining the metadata of ", path, " (",
               report.skipped_accounts.count, " bad rows skipped, ", report.tweets_without_account,
               " tweets without an account)");

  // ---- the schema: as saved, or decided from the rows used ----
  MetaSchema decided;
  if (schema) {
    decided = *schema;
  } else {
    decided.join_col = spec.join_col;
    decided.source_columns = source;
    decided.engineered = spec.engineered;
    for (std::size_t j = 0; j < source.size(); ++j)
      for (const AccountRow& a : rows)
        if (a.used && a.missing[j]) {
          decided.missing_indicators.push_back(source[j]);
          break;
        }
    decided.no_account_indicator =
        std::any_of(row_of.begin(), row_of.end(), [](std::int64_t r) { return r < 0; });
    decided.feature_names = feature_names_for(decided.source_columns, decided.engineered,
                                              decided.missing_indicators, decided.no_account_indicator);
  }
  for (const AccountRow& a : rows)
    if (a.used)
      for (const char m : a.missing) report.missing_values += m;

  // ---- the vectors ----
  const std::vector<Engineered> eng = decided.engineered ? engineered_features(decided.source_columns) : std::vector<Engineered>{};
  std::vector<std::size_t> indicator_src;
  for (const std::string& c : decided.missing_indicators)
    indicator_src.push_back(static_cast<std::size_t>(find_column(decided.source_columns, c)));
  std::vector<std::vector<float>> out;
  out.reserve(row_of.size());
  for (const std::int64_t r : row_of)
    out.push_back(make_vector(decided, eng, indicator_src, r >= 0 ? &rows[static_cast<std::size_t>(r)] : nullptr));

  if (schema_out) *schema_out = std::move(decided);
  if (report_out) *report_out = std::move(report);
  return out;
}

}  // namespace loom::data
