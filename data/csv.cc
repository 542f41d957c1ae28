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
#include <memory>

#include "core/error.h"

namespace loom::data {

void record_skip(SkipLog& log, const std::string& reason) {
  ++log.count;
  if (log.examples.size() < SkipLog::kMaxExamples) log.examples.push_back(reason);
}

std::string read_file_bytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    LOOM_THROW(DataError, "cannot open '", path, "': ", std::strerror(errno));
  if (S_ISDIR(st.st_mode)) LOOM_THROW(DataError, "cannot read '", path, "': it is a directory");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) LOOM_THROW(DataError, "cannot open '", path, "': ", std::strerror(errno));
  std::string bytes;
  // st_size is a hint (a pipe or a growing file may differ); read until EOF either way.
  bytes.reserve(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 0));
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

enum class Status { Record, Blank, End, Malformed };

class Parser {
 public:
  Parser(const std::string& path, const std::string& bytes, char delimiter)
      : path_(path), s_(bytes), delim_(delimiter) {
    // A UTF-8 byte-order mark is an encoding signature, not part of the first column's name.
    if (s_.size() >= 3 && s_.compare(0, 3, "\xEF\xBB\xBF") == 0) i_ = 3;
  }

  // Parses the next record into `fields`. On Malformed, `error()` holds "PATH:LINE: ..." and the
  // cursor has moved to the next physical line, so the caller may go on (skip) or throw.
  Status next(std::vector<std::string>& fields, std::int64_t& start_line,
              const std::vector<std::string>& header) {
    fields.clear();
    start_line = line_;
    if (i_ >= s_.size()) return Status::End;
    if (s_[i_] == '\n' || s_[i_] == '\r') {
      consume_line_break();
      return Status::Blank;
    }
    const std::size_t record_start = i_;
    std::string field;
    for (;;) {
      field.clear();
      const std::size_t index = fields.size();
      if (i_ < s_.size() && s_[i_] == '"') {
        const std::int64_t quote_line = line_;
        ++i_;
        bool closed = false;
        while (i_ < s_.size()) {
          const char c = s_[i_];
          if (c == '"') {
            if (i_ + 1 < s_.size() && s_[i_ + 1] == '"') {  // "" is one literal quote
              field += '"';
              i_ += 2;
              continue;
            }
            ++i_;
            closed = true;
            break;
          }
          if (c == '\n' || (c == '\r' && (i_ + 1 >= s_.size() || s_[i_ + 1] != '\n'))) ++line_;
          field += c;
          ++i_;
        }
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
        if (i_ < s_.size() && s_[i_] != delim_ && s_[i_] != '\n' && s_[i_] != '\r') {
          fail(start_line, index, header,
               std::string("text after the closing quote") + where_if_later(start_line) +
                   " (a quote inside a quoted field must be doubled)");
          skip_rest_of_line();
          return Status::Malformed;
        }
      } else {
        while (i_ < s_.size()) {
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
        }
      }
      fields.push_back(field);
      if (i_ >= s_.size()) return Status::Record;
      if (s_[i_] == delim_) {
        ++i_;
        continue;
      }
      consume_line_break();
      return Status::Record;
    }
  }

  const std::string& error() const { return error_; }

 private:
  void consume_line_break() {
    if (s_[i_] == '\r' && i_ + 1 < s_.size() && s_[i_ + 1] == '\n') ++i_;
    ++i_;
    ++line_;
  }
  void skip_rest_of_line() {
    while (i_ < s_.size() && s_[i_] != '\n' && s_[i_] != '\r') ++i_;
    if (i_ < s_.size()) consume_line_break();
  }
  std::string where_if_later(std::int64_t start_line) const {
    return line_ != start_line ? " on line " + std::to_string(line_) : std::string();
  }
  void fail(std::int64_t start_line, std::size_t index, const std::vector<std::string>& header,
            const std::string& what) {
    const std::string name = index < header.size()
                                 ? "field '" + header[index] + "'"
                                 : "field " + std::to_string(index + 1);
    error_ = path_ + ":" + std::to_string(start_line) + ": " + name + ": " + what;
  }

  const std::string& path_;
  const std::string& s_;
  char delim_;
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

CsvTable read_csv(const std::string& path, const CsvOptions& options, SkipLog* skipped) {
  return parse_csv(read_file_bytes(path), path, options, skipped);
}

CsvTable parse_csv(const std::string& bytes, const std::string& path, const CsvOptions& options,
                   SkipLog* skipped) {
  LOOM_CHECK(options.delimiter != '"' && options.delimiter != '\n' && options.delimiter != '\r',
             "read_csv: the delimiter cannot be a quote or a line break");
  CsvTable table;
  table.path = path;
  Parser parser(path, bytes, options.delimiter);
  std::vector<std::string> fields;
  std::int64_t line = 0;
  const std::vector<std::string> no_header;

  if (options.has_header) {
    // The header decides every column, so a broken header is always fatal, even when skipping.
    for (;;) {
      const Status st = parser.next(fields, line, no_header);
      if (st == Status::Blank) continue;
      if (st == Status::End) LOOM_THROW(DataError, path, ": empty file (expected a header row)");
      if (st == Status::Malformed) LOOM_THROW(DataError, parser.error(), " (in the header row)");
      break;
    }
    table.header = fields;
    if (options.expected_fields > 0 &&
        static_cast<std::int64_t>(table.header.size()) != options.expected_fields)
      LOOM_THROW(DataError, path, ":", line, ": the header has ", table.header.size(),
                 " columns, expected ", options.expected_fields);
  }
  std::int64_t expected = options.has_header ? static_cast<std::int64_t>(table.header.size())
                                             : options.expected_fields;

  const auto bad = [&](const std::string& why) {
    if (!skipped) LOOM_THROW(DataError, why);
    record_skip(*skipped, why);
  };
  for (;;) {
    const Status st = parser.next(fields, line, table.header);
    if (st == Status::End) break;
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
    table.records.push_back(CsvRecord{std::move(fields), line});
    fields = {};
  }
  return table;
}

}  // namespace loom::data
