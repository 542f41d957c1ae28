// data/csv.h: the CSV reader for tweet files (RFC 4180).
//
// Tweets contain commas, quotes and newlines, so the reader implements the RFC's quoting exactly
// (quoted commas, doubled quotes, line breaks inside quotes) and keeps, for every record, the
// physical line where it starts: error messages and skip reports say "PATH:LINE: ...", which is
// what a user opens in an editor. Accepted: UTF-8 with or without a byte-order mark, LF, CRLF and
// lone CR line ends. read_csv reads the file in one go (training files: tens to hundreds of MB) and
// parses it in one pass; CsvReader hands out one record at a time from a window of the file, so
// `loom predict` reads a file of any length in bounded memory. Both use the same parser, so they
// accept, reject and number lines alike.
//
// Limit: one field holds at most CsvOptions::max_field_bytes (1 MiB by default; a tweet is under
// 2 KB). A longer field is a DataError naming file, line, field and the limit, even when bad rows
// are skipped: it is nearly always a quote that is never closed or a file that is not CSV, where
// the rest of the records cannot be trusted, and it keeps CsvReader's memory bounded.
//
// Malformed records: an unterminated quote, a quote inside an unquoted field, text after a closing
// quote, or a field count different from the header's. Without a SkipLog they throw DataError;
// with one they are dropped and counted, and parsing resumes at the next physical line.
// Blank lines (no characters at all) are not records and are ignored.
// Encoding is not checked here: load_dataset() validates the fields it uses, so a bad byte is
// reported with the name of its field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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

inline constexpr std::size_t kMaxCsvFieldBytes = std::size_t{1} << 20;  // 1 MiB

struct CsvOptions {
  bool has_header = true;
  char delimiter = ',';
  // Fields every record must have; 0: as many as the header (or, without one, the first record).
  std::int64_t expected_fields = 0;
  // The longest field accepted (see the limit above).
  std::size_t max_field_bytes = kMaxCsvFieldBytes;
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

// Records one at a time, for files too large to hold in memory: the constructor opens the file and
// reads the header (errors as read_csv's); next() fills `record` and returns false at the end of
// the file. Memory: the file is read in blocks of at least 64 KiB into a window that holds the
// record being parsed, so it stays near the size of the longest record (fields at most
// max_field_bytes each). Same records, lines, errors and skips as read_csv on the same file.
class CsvReader {
 public:
  CsvReader(const std::string& path, const CsvOptions& options = {}, SkipLog* skipped = nullptr);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;
  const std::vector<std::string>& header() const;  // empty when options.has_header is false
  bool next(CsvRecord& record);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

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
// The DataError read_file_bytes throws for a missing file or a folder, without reading; returns
// the file's size in bytes (a hint: a pipe or a growing file may differ).
std::int64_t check_readable_file(const std::string& path);

// Index of `name` in `header`, or -1.
std::int64_t find_column(const std::vector<std::string>& header, const std::string& name);

// "a, b, c": for messages that list what exists.
std::string join_names(const std::vector<std::string>& names);

}  // namespace loom::data
