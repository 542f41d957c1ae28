// data/csv.h: the CSV reader for tweet files (RFC 4180).
//
// Tweets contain commas, quotes and newlines, so the reader implements the RFC's quoting exactly
// (quoted commas, doubled quotes, line breaks inside quotes) and keeps, for every record, the
// physical line where it starts: error messages and skip reports say "PATH:LINE: ...", which is
// what a user opens in an editor. Accepted: UTF-8 with or without a byte-order mark, LF, CRLF and
// lone CR line ends. The file is read in one go (tens of MB at most) and parsed in one pass.
//
// Malformed records: an unterminated quote, a quote inside an unquoted field, text after a closing
// quote, or a field count different from the header's. Without a SkipLog they throw DataError;
// with one they are dropped and counted, and parsing resumes at the next physical line.
// Blank lines (no characters at all) are not records and are ignored.
// Encoding is not checked here: load_dataset() validates the fields it uses, so a bad byte is
// reported with the name of its field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loom::data {

struct CsvRecord {
  std::vector<std::string> fields;
  std::int64_t line = 0;  // 1-based physical line where the record starts
};

struct CsvTable {
  std::string path;
  std::vector<std::string> header;  // empty when CsvOptions::has_header is false
  std::vector<CsvRecord> records;
};

struct CsvOptions {
  bool has_header = true;
  char delimiter = ',';
  // Fields every record must have; 0: as many as the header (or, without one, the first record).
  std::int64_t expected_fields = 0;
};

// Malformed or bad rows that were dropped instead of failing the whole load.
struct SkipLog {
  std::int64_t count = 0;
  std::vector<std::string> examples;  // the first kMaxExamples reasons, "PATH:LINE: why"
  static constexpr std::size_t kMaxExamples = 5;
};

// Counts one skipped row and keeps its reason if fewer than kMaxExamples are kept.
void record_skip(SkipLog& log, const std::string& reason);

// Throws DataError naming the path when the file cannot be opened or read.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {}, SkipLog* skipped = nullptr);

// read_csv on bytes already in memory; `path` only names the source in errors and in the table.
// (read_csv is this after reading the file; the fuzz harnesses in fuzz/ call it directly.)
CsvTable parse_csv(const std::string& bytes, const std::string& path, const CsvOptions& options = {},
                   SkipLog* skipped = nullptr);

// The writer that parse_csv inverts. A field is quoted (inner quotes doubled) only when it must be:
// it holds the delimiter, a quote or a line break, or starts with a UTF-8 byte-order mark (which
// the reader drops at the start of a file).
std::string quote_csv_field(const std::string& field, char delimiter = ',');
// One record without its line end. A record of one empty field is written as "" because an empty
// line is a blank line to the reader, not a record.
std::string format_csv_record(const std::vector<std::string>& fields, char delimiter = ',');

// The whole file as bytes (DataError naming the path and the system's reason when it fails).
// Shared with the fastText reader in dataset.cc.
std::string read_file_bytes(const std::string& path);

// Index of `name` in `header`, or -1.
std::int64_t find_column(const std::vector<std::string>& header, const std::string& name);

// "a, b, c": for messages that list what exists.
std::string join_names(const std::vector<std::string>& names);

}  // namespace loom::data
