// data/csv.cc: the RFC 4180 reader (see csv.h for what is accepted and why).
//
// One pass over the bytes of the whole file with a cursor and a physical line counter. A line
// break is "\r\n", "\n" or a lone "\r" (old Mac files), inside quotes or not, so line numbers match
// what an editor shows. Inside quotes every byte is kept as written, line breaks included.
#include "data/csv.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <functional>
#include <memory>

#include "core/error.h"

namespace loom::data {

void record_skip(SkipLog& log, const std::string& reason) {
  ++log.count;
  if (log.examples.size() < SkipLog::kMaxExamples) log.examples.push_back(reason);
}

std::int64_t check_readable_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    LOOM_THROW(DataError, "cannot open '", path, "': ", std::strerror(errno));
  if (S_ISDIR(st.st_mode)) LOOM_THROW(DataError, "cannot read '", path, "': it is a directory");
  return static_cast<std::int64_t>(st.st_size);
}

std::string read_file_bytes(const std::string& path) {
  const std::int64_t size = check_readable_file(path);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) LOOM_THROW(DataError, "cannot open '", path, "': ", std::strerror(errno));
  std::string bytes;
  // st_size is a hint (a pipe or a growing file may differ); read until EOF either way.
  bytes.reserve(static_cast<std::size_t>(size > 0 ? size : 0));
  char buffer[1 << 16];
  for (;;) {
    const std::size_t got = std::fread(buffer, 1, sizeof buffer, f.get());
    bytes.append(buffer, got);
    if (got < sizeof buffer) {
      if (std::ferror(f.get())) LOOM_THROW(DataError, "cannot read '", path, "': ", std::strerror(errno));
      break;
    }
  }
  return bytes;
}

std::int64_t find_column(const std::vector<std::string>& header, const std::string& name) {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<std::int64_t>(i);
  return -1;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

namespace {

enum class Status { Record, Blank, End, Malformed, NeedMore };

class Parser {
 public:
  // `bytes` is the whole file (at_eof) or, for CsvReader, a window of it that the owner refills
  // (see need_more()); the parser only reads it.
  Parser(const std::string& path, const std::string& bytes, char delimiter, std::size_t max_field, bool at_eof)
      : path_(path), s_(bytes), delim_(delimiter), max_field_(max_field), eof_(at_eof) {
    // A UTF-8 byte-order mark is an encoding signature, not part of the first column's name.
    if (s_.size() >= 3 && s_.compare(0, 3, "\xEF\xBB\xBF") == 0) i_ = 3;
  }

  // Parses the next record into `fields`. On Malformed, `error()` holds "PATH:LINE: ..." and the
  // cursor has moved to the next physical line, so the caller may go on (skip) or throw.
  // NeedMore (only before the end of the file is known): the window ends inside this record; the
  // cursor is back at the record's start, and the owner appends bytes and calls again.
  Status next(std::vector<std::string>& fields, std::int64_t& start_line,
              const std::vector<std::string>& header) {
    const std::size_t record_start = i_;
    const std::int64_t line = line_;
    short_ = false;
    const Status st = parse(fields, start_line, header);
    if (!short_) return st;
    i_ = record_start;  // parsed against a window that ends too early: undo and ask for more
    line_ = line;
    return Status::NeedMore;
  }

  const std::string& error() const { return error_; }

  // For the owner of a window: bytes before the cursor are done with; after dropping `n` of them
  // from the front of the window, rebase(n) keeps the cursor on the same byte.
  std::size_t cursor() const { return i_; }
  void rebase(std::size_t n) { i_ -= n; }
  void set_eof() { eof_ = true; }

 private:
  // True when s_[j] exists. When it does not and the file goes on past the window, the record
  // being parsed is incomplete: short_ makes next() discard it and return NeedMore.
  bool has(std::size_t j) {
    if (j < s_.size()) return true;
    if (!eof_) short_ = true;
    return false;
  }

  Status parse(std::vector<std::string>& fields, std::int64_t& start_line,
               const std::vector<std::string>& header) {
    fields.clear();
    start_line = line_;
    if (!has(i_)) return Status::End;
    if (s_[i_] == '\n' || s_[i_] == '\r') {
      consume_line_break();
      return Status::Blank;
    }
    const std::size_t record_start = i_;
    std::string field;
    for (;;) {
      field.clear();
      const std::size_t index = fields.size();
      if (has(i_) && s_[i_] == '"') {
        const std::int64_t quote_line = line_;
        ++i_;
        bool closed = false;
        while (has(i_)) {
          const char c = s_[i_];
          if (c == '"') {
            if (has(i_ + 1) && s_[i_ + 1] == '"') {  // "" is one literal quote
              field += '"';
              i_ += 2;
              continue;
            }
            ++i_;
            closed = true;
            break;
          }
          if (c == '\n' || (c == '\r' && (!has(i_ + 1) || s_[i_ + 1] != '\n'))) ++line_;
          field += c;
          ++i_;
          if (field.size() > max_field_)
            too_long(start_line, index, header,
                     " (the quote opened on line " + std::to_string(quote_line) + " is never closed?)");
        }
        if (short_) return Status::End;  // discarded by next()
        if (!closed) {
          // The quote swallowed the rest of the file. Resume after the line where the record
          // started: a lone stray quote then costs one record, not the whole file.
          fail(start_line, index, header,
               "quote opened on line " + std::to_string(quote_line) + " is never closed");
          i_ = record_start;
          line_ = start_line;
          skip_rest_of_line();
          return Status::Malformed;
        }
        if (has(i_) && s_[i_] != delim_ && s_[i_] != '\n' && s_[i_] != '\r') {
          fail(start_line, index, header,
               std::string("text after the closing quote") + where_if_later(start_line) +
                   " (a quote inside a quoted field must be doubled)");
          skip_rest_of_line();
          return Status::Malformed;
        }
      } else {
        while (has(i_)) {
          const char c = s_[i_];
          if (c == delim_ || c == '\n' || c == '\r') break;
          if (c == '"') {
            fail(start_line, index, header,
                 std::string("quote inside an unquoted field") + where_if_later(start_line) +
                     " (quote the whole field and double the quotes inside it)");
            skip_rest_of_line();
            return Status::Malformed;
          }
          field += c;
          ++i_;
          if (field.size() > max_field_)
            too_long(start_line, index, header, " (is it a CSV file, with this delimiter?)");
        }
      }
      fields.push_back(field);
      if (!has(i_)) return Status::Record;
      if (s_[i_] == delim_) {
        ++i_;
        continue;
      }
      consume_line_break();
      return Status::Record;
    }
  }

  void consume_line_break() {
    if (s_[i_] == '\r' && has(i_ + 1) && s_[i_ + 1] == '\n') ++i_;
    ++i_;
    ++line_;
  }
  void skip_rest_of_line() {
    while (has(i_) && s_[i_] != '\n' && s_[i_] != '\r') ++i_;
    if (has(i_)) consume_line_break();
  }
  std::string where_if_later(std::int64_t start_line) const {
    return line_ != start_line ? " on line " + std::to_string(line_) : std::string();
  }
  std::string field_name(std::size_t index, const std::vector<std::string>& header) const {
    return index < header.size() ? "field '" + header[index] + "'" : "field " + std::to_string(index + 1);
  }
  void fail(std::int64_t start_line, std::size_t index, const std::vector<std::string>& header,
            const std::string& what) {
    error_ = path_ + ":" + std::to_string(start_line) + ": " + field_name(index, header) + ": " + what;
  }
  // A field over the limit is fatal even when skipping bad rows: where the record ends (and so
  // where the next one starts) can no longer be trusted, and memory must stay bounded.
  [[noreturn]] void too_long(std::int64_t start_line, std::size_t index, const std::vector<std::string>& header,
                             const std::string& hint) const {
    LOOM_THROW(DataError, path_, ":", start_line, ": ", field_name(index, header), ": longer than ", max_field_,
               " bytes, the limit for one CSV field", hint);
  }

  const std::string& path_;
  const std::string& s_;
  char delim_;
  std::size_t max_field_;
  bool eof_;
  bool short_ = false;
  std::size_t i_ = 0;
  std::int64_t line_ = 1;
  std::string error_;
};

}  // namespace

std::string quote_csv_field(const std::string& field, char delimiter) {
  const bool bom = field.compare(0, 3, "\xEF\xBB\xBF") == 0;
  if (!bom && field.find_first_of(std::string("\"\r\n") + delimiter) == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string format_csv_record(const std::vector<std::string>& fields, char delimiter) {
  if (fields.size() == 1 && fields[0].empty()) return "\"\"";
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += delimiter;
    out += quote_csv_field(fields[i], delimiter);
  }
  return out;
}

namespace {

// Appends bytes to a CsvReader's window, or marks the end of the file.
using Refill = std::function<void()>;

// The next record, header-aware error messages and all; refills the window as often as a record
// needs (never, for a whole file: its parser knows where the file ends).
Status next_status(Parser& parser, std::vector<std::string>& fields, std::int64_t& line,
                   const std::vector<std::string>& header, const Refill& refill) {
  for (;;) {
    const Status st = parser.next(fields, line, header);
    if (st != Status::NeedMore) return st;
    refill();
  }
}

void check_delimiter(const CsvOptions& options) {
  LOOM_CHECK(options.delimiter != '"' && options.delimiter != '\n' && options.delimiter != '\r',
             "read_csv: the delimiter cannot be a quote or a line break");
  LOOM_CHECK(options.max_field_bytes > 0, "read_csv: max_field_bytes must be positive");
}

// The header row (the header decides every column, so a broken one is always fatal, even when
// skipping). Returns the number of fields a record must have (0: the first record decides).
std::int64_t read_header(Parser& parser, const std::string& path, const CsvOptions& options,
                         std::vector<std::string>& header, const Refill& refill) {
  if (!options.has_header) return options.expected_fields;
  std::vector<std::string> fields;
  std::int64_t line = 0;
  const std::vector<std::string> no_header;
  for (;;) {
    const Status st = next_status(parser, fields, line, no_header, refill);
    if (st == Status::Blank) continue;
    if (st == Status::End) LOOM_THROW(DataError, path, ": empty file (expected a header row)");
    if (st == Status::Malformed) LOOM_THROW(DataError, parser.error(), " (in the header row)");
    break;
  }
  header = fields;
  if (options.expected_fields > 0 && static_cast<std::int64_t>(header.size()) != options.expected_fields)
    LOOM_THROW(DataError, path, ":", line, ": the header has ", header.size(), " columns, expected ",
               options.expected_fields);
  return static_cast<std::int64_t>(header.size());
}

// The next well-formed record into `out`; false at the end of the file. Malformed records and
// records of the wrong width throw, or are counted in `skipped` and passed over.
bool next_record(Parser& parser, const std::string& path, const CsvOptions& options,
                 const std::vector<std::string>& header, std::int64_t& expected, SkipLog* skipped,
                 const Refill& refill, CsvRecord& out) {
  const auto bad = [&](const std::string& why) {
    if (!skipped) LOOM_THROW(DataError, why);
    record_skip(*skipped, why);
  };
  std::vector<std::string> fields;
  std::int64_t line = 0;
  for (;;) {
    const Status st = next_status(parser, fields, line, header, refill);
    if (st == Status::End) return false;
    if (st == Status::Blank) continue;
    if (st == Status::Malformed) {
      bad(parser.error());
      continue;
    }
    const auto n = static_cast<std::int64_t>(fields.size());
    if (expected == 0) expected = n;  // no header and no expectation: the first record decides
    if (n != expected) {
      bad(path + ":" + std::to_string(line) + ": the record has " + std::to_string(n) +
          " fields, expected " + std::to_string(expected) +
          (options.has_header ? " (as in the header)" : "") +
          " (an unquoted field containing the delimiter?)");
      continue;
    }
    out.fields = std::move(fields);
    out.line = line;
    return true;
  }
}

}  // namespace

CsvTable read_csv(const std::string& path, const CsvOptions& options, SkipLog* skipped) {
  return parse_csv(read_file_bytes(path), path, options, skipped);
}

CsvTable parse_csv(const std::string& bytes, const std::string& path, const CsvOptions& options,
                   SkipLog* skipped) {
  check_delimiter(options);
  CsvTable table;
  table.path = path;
  Parser parser(path, bytes, options.delimiter, options.max_field_bytes, /*at_eof=*/true);
  const Refill none = [] {};  // never called: the parser has the whole file
  std::int64_t expected = read_header(parser, path, options, table.header, none);
  CsvRecord record;
  while (next_record(parser, path, options, table.header, expected, skipped, none, record))
    table.records.push_back(std::move(record));
  return table;
}

// ---- CsvReader: the same parser over a window of the file -----------------------------------------

struct CsvReader::Impl {
  std::string path;
  CsvOptions options;
  SkipLog* skipped;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{nullptr, &std::fclose};
  std::string window;  // the bytes not yet parsed (plus the current record's start)
  std::unique_ptr<Parser> parser;
  std::vector<std::string> header;
  std::int64_t expected = 0;
  Refill refill;

  // Drops the parsed bytes, then reads as many new ones as the window holds (at least 64 KiB):
  // doubling keeps a record that spans many reads linear to parse.
  void read_more() {
    if (parser) {
      const std::size_t done = parser->cursor();
      window.erase(0, done);
      parser->rebase(done);
    }
    const std::size_t want = std::max<std::size_t>(std::size_t{1} << 16, window.size());
    const std::size_t old = window.size();
    window.resize(old + want);
    const std::size_t got = std::fread(&window[old], 1, want, file.get());
    window.resize(old + got);
    if (got < want) {
      if (std::ferror(file.get())) LOOM_THROW(DataError, "cannot read '", path, "': ", std::strerror(errno));
      if (parser) parser->set_eof();
      at_eof = true;
    }
  }
  bool at_eof = false;
};

CsvReader::CsvReader(const std::string& path, const CsvOptions& options, SkipLog* skipped)
    : impl_(std::make_unique<Impl>()) {
  check_delimiter(options);
  Impl& m = *impl_;
  m.path = path;
  m.options = options;
  m.skipped = skipped;
  check_readable_file(path);
  m.file.reset(std::fopen(path.c_str(), "rb"));
  if (!m.file) LOOM_THROW(DataError, "cannot open '", path, "': ", std::strerror(errno));
  m.read_more();  // before the parser exists: it looks for a byte-order mark in the first bytes
  m.parser = std::make_unique<Parser>(m.path, m.window, options.delimiter, options.max_field_bytes, m.at_eof);
  m.refill = [&m] { m.read_more(); };
  m.expected = read_header(*m.parser, path, options, m.header, m.refill);
}

CsvReader::~CsvReader() = default;

const std::vector<std::string>& CsvReader::header() const { return impl_->header; }

bool CsvReader::next(CsvRecord& record) {
  Impl& m = *impl_;
  return next_record(*m.parser, m.path, m.options, m.header, m.expected, m.skipped, m.refill, record);
}

}  // namespace loom::data
