// fuzz/csv.cc: the RFC 4180 reader (data/csv.h) on arbitrary bytes.
//
// The first input byte picks the options (header or not, ',' or '\t', fail or skip on a bad row);
// the rest is the file. Checked on every input:
// - a refusal is a DataError naming the file;
// - every kept record has the expected field count and starts on a later line than the one before;
// - round trip: the header and records written back with format_csv_record parse again (with
//   no error, even without skipping) to exactly the same fields.
#include <cstdint>
#include <string>

#include "data/csv.h"
#include "fuzz/fuzz_util.h"

using namespace loom;

int loom_fuzz_csv(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t mode = in.byte();
  data::CsvOptions options;
  options.has_header = (mode & 1) == 0;
  options.delimiter = (mode & 2) ? '\t' : ',';
  const bool skip = (mode & 4) != 0;
  const std::string bytes(in.rest());
  const std::string path = "fuzz.csv";

  data::CsvTable table;
  data::SkipLog log;
  if (!fuzz::run_expecting<DataError>(
          [&] { table = data::parse_csv(bytes, path, options, skip ? &log : nullptr); }, path))
    return 0;

  FUZZ_CHECK(skip || log.count == 0, "rows skipped without a SkipLog");
  FUZZ_CHECK(log.examples.size() <= data::SkipLog::kMaxExamples, "too many skip examples kept");
  std::size_t width = options.has_header ? table.header.size() : 0;
  std::int64_t last_line = 0;
  for (const data::CsvRecord& r : table.records) {
    if (width == 0) width = r.fields.size();
    FUZZ_CHECK(r.fields.size() == width, "a kept record has " + std::to_string(r.fields.size()) + " fields, not " +
                                             std::to_string(width));
    FUZZ_CHECK(r.line > last_line, "record lines do not increase: " + std::to_string(r.line));
    last_line = r.line;
  }

  // Round trip through the writer.
  std::string written;
  if (options.has_header) written += data::format_csv_record(table.header, options.delimiter) + "\n";
  for (const data::CsvRecord& r : table.records)
    written += data::format_csv_record(r.fields, options.delimiter) + (r.line % 2 ? "\n" : "\r\n");
  data::CsvTable again;
  try {
    again = data::parse_csv(written, path, options, nullptr);
  } catch (const std::exception& e) {
    fuzz::fail(std::string("the written table does not parse: ") + e.what());
  }
  FUZZ_CHECK(again.header == table.header, "round trip changed the header");
  FUZZ_CHECK(again.records.size() == table.records.size(),
             "round trip kept " + std::to_string(again.records.size()) + " records of " +
                 std::to_string(table.records.size()));
  for (std::size_t i = 0; i < table.records.size(); ++i)
    FUZZ_CHECK(again.records[i].fields == table.records[i].fields, "round trip changed record " + std::to_string(i));
  return 0;
}

LOOM_FUZZ_ENTRY(loom_fuzz_csv)
