// tests/data/test_csv_stream.cc: the streaming readers (data::CsvReader, data::DatasetReader)
// against the whole-file ones (read_csv, load_dataset), and the size limit on one field.
//
// `loom predict` streams its input while training and eval read it whole; a user must get the same
// rows, line numbers, errors and skips either way. The files here are larger than the reader's
// 64 KiB window (and hold a field longer than it), so records straddle refills.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "tests/support/env_var.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"

using namespace loom;
using namespace loom::data;
using loom::test::EnvVar;

namespace {

std::string write_file(const std::string& name, const std::string& content) {
  static const test::TempDir dir("test_csv_stream");
  return dir.write(name, content);
}

#define CHECK_DATA_ERROR(callable, ...) \
  ::loom::test::check_throws_naming<::loom::DataError>(__FILE__, __LINE__, callable, {__VA_ARGS__})

// Every kind of record the parser knows, repeated until the file is a few windows long.
std::string mixed_csv(bool with_bad_rows) {
  std::string s = "\xEF\xBB\xBFid,text\n";
  for (int i = 0; s.size() < 300000; ++i) {
    const std::string id = std::to_string(i);
    s += id + ",plain text " + id + "\n";
    s += id + ",\"a, b \"\"quoted\"\"\"\r\n";
    s += id + ",\"two\nlines\r\nthree\rfour\"\n";
    s += "\n";                                    // a blank line: not a record
    s += id + ",lone CR line end\r";
    if (with_bad_rows) {
      s += id + ",quote \"inside\" unquoted\n";   // malformed
      s += id + ",\"closed\" then text\n";        // malformed
      s += id + ",one,too many\n";                // wrong width
    }
    if (i == 3) s += id + ",\"" + std::string(100000, 'x') + "\"\n";  // longer than one window
  }
  s += "last,\"no line break at the end\"";
  return s;
}

struct Rows {
  std::vector<CsvRecord> records;
  SkipLog skipped;
  std::string error;  // what() of the DataError, when one was thrown
};

Rows whole(const std::string& path, const CsvOptions& options, bool skip) {
  Rows r;
  try {
    CsvTable t = read_csv(path, options, skip ? &r.skipped : nullptr);
    r.records = std::move(t.records);
  } catch (const DataError& e) {
    r.error = e.what();
  }
  return r;
}

Rows streamed(const std::string& path, const CsvOptions& options, bool skip) {
  Rows r;
  try {
    CsvReader reader(path, options, skip ? &r.skipped : nullptr);
    CsvRecord record;
    while (reader.next(record)) r.records.push_back(record);
  } catch (const DataError& e) {
    r.error = e.what();
  }
  return r;
}

void check_same(const Rows& a, const Rows& b) {
  CHECK(a.error == b.error);
  CHECK(a.skipped.count == b.skipped.count);
  CHECK(a.skipped.examples == b.skipped.examples);
  REQUIRE(a.records.size() == b.records.size());
  for (std::size_t i = 0; i < a.records.size(); ++i) {
    CHECK(a.records[i].fields == b.records[i].fields);
    CHECK(a.records[i].line == b.records[i].line);
  }
}

}  // namespace

TEST_CASE("data: CsvReader gives read_csv's records and lines on a file of many windows") {
  const std::string path = write_file("mixed.csv", mixed_csv(false));
  const Rows a = whole(path, {}, false), b = streamed(path, {}, false);
  CHECK(a.error.empty());
  CHECK(a.records.size() > 5000);
  check_same(a, b);
  CHECK(b.records.back().fields == std::vector<std::string>{"last", "no line break at the end"});
  CHECK(CsvReader(path).header() == std::vector<std::string>{"id", "text"});  // the BOM is not in the name
}

TEST_CASE("data: CsvReader skips, and fails, exactly as read_csv") {
  const std::string path = write_file("bad.csv", mixed_csv(true) + "\nx,\"never closed\nlast,row\n");
  const Rows a = whole(path, {}, true), b = streamed(path, {}, true);
  CHECK(a.skipped.count > 3000);
  check_same(a, b);
  CHECK(b.records.back().fields == std::vector<std::string>{"last", "row"});  // resumed after the stray quote
  const Rows fa = whole(path, {}, false), fb = streamed(path, {}, false);
  CHECK(fa.error.find("bad.csv:10: field 'text': quote inside an unquoted field") != std::string::npos);
  CHECK(fa.error == fb.error);
  // Without a header, with the Sentiment140 shape.
  CsvOptions six;
  six.has_header = false;
  six.expected_fields = 6;
  std::string s140;
  for (int i = 0; s140.size() < 200000; ++i) s140 += "\"4\",\"" + std::to_string(i) + "\",\"d\",\"q\",\"u\",\"hi, there\"\n";
  s140 += "\"0\",\"1\",\"short row\"\n";
  const std::string p140 = write_file("s140.csv", s140);
  check_same(whole(p140, six, true), streamed(p140, six, true));
}

TEST_CASE("data: a field over 1 MiB is a DataError naming file, line, field and limit") {
  CHECK(kMaxCsvFieldBytes == 1048576);
  const std::string big(10 * 1000 * 1000, 'a');  // the 10 MB field
  const std::string quoted = write_file("quoted.csv", "id,text\n1,ok\n2,\"" + big + "\"\n3,after\n");
  const std::string bare = write_file("bare.csv", "id,text\n1,ok\n2," + big + "\n3,after\n");
  for (const bool skip : {false, true}) {  // fatal even when skipping bad rows
    CAPTURE(skip);
    SkipLog log;
    CHECK_DATA_ERROR([&] { read_csv(quoted, {}, skip ? &log : nullptr); }, "quoted.csv:3: field 'text': longer than 1048576 bytes",
                     "the limit for one CSV field", "quote opened on line 3");
    CHECK_DATA_ERROR([&] {
      CsvReader reader(quoted, {}, skip ? &log : nullptr);
      CsvRecord record;
      while (reader.next(record)) {}
    }, "quoted.csv:3: field 'text': longer than 1048576 bytes", "quote opened on line 3");
    CHECK_DATA_ERROR([&] { read_csv(bare, {}, skip ? &log : nullptr); }, "bare.csv:3: field 'text': longer than 1048576 bytes",
                     "is it a CSV file");
    const std::string error = whole(bare, {}, skip).error;  // the streamed reader has handed out row 2 by then
    CHECK(error.find("longer than 1048576") != std::string::npos);
    CHECK(streamed(bare, {}, skip).error == error);
  }
  // A stray quote that would swallow more than the limit: the same error, not a 10 MB field.
  const std::string stray = write_file("stray.csv", "id,text\n1,\"stray\n" + std::string(2 << 20, 'b') + "\n");
  CHECK_DATA_ERROR([&] { read_csv(stray); }, "stray.csv:2: field 'text'", "quote opened on line 2 is never closed?");
  // Exactly at the limit is fine, in both readers.
  const std::string edge = write_file("edge.csv", "id,text\n1," + std::string(kMaxCsvFieldBytes, 'c') + "\n");
  const Rows a = whole(edge, {}, false), b = streamed(edge, {}, false);
  CHECK(a.error.empty());
  REQUIRE(a.records.size() == 1);
  CHECK(a.records[0].fields[1].size() == kMaxCsvFieldBytes);
  check_same(a, b);
  // The limit is an option for callers with other needs.
  CsvOptions tiny;
  tiny.max_field_bytes = 3;
  CHECK_DATA_ERROR([&] { read_csv(edge, tiny); }, "edge.csv:1: field 2: longer than 3 bytes");
  // fastText lines have the same limit.
  const std::string ft = write_file("big.txt", "__label__a fine\n__label__b " + big + "\n");
  DatasetSpec spec;
  spec.path = ft;
  spec.format = InputFormat::FastText;
  CHECK_DATA_ERROR([&] { load_dataset(spec); }, "big.txt:2: the line is longer than 1048576 bytes");
  spec.labeled = false;
  CHECK_DATA_ERROR([&] {
    DatasetReader reader(spec);
    Dataset chunk;
    while (reader.next(100, chunk)) {}
  }, "big.txt:2: the line is longer than 1048576 bytes");
}

namespace {

// load_dataset's rows against DatasetReader's, read `chunk` rows at a time.
void check_reader_matches(const DatasetSpec& spec, std::size_t chunk_rows) {
  const Dataset all = load_dataset(spec);
  DatasetReader reader(spec);
  Dataset chunk;
  std::vector<Example> rows;
  std::size_t chunks = 0;
  while (reader.next(chunk_rows, chunk)) {
    CHECK(chunk.examples.size() <= chunk_rows);
    CHECK(chunk.id_names == all.id_names);
    CHECK(chunk.task == all.task);
    CHECK(chunk.label_names == all.label_names);
    for (auto& ex : chunk.examples) rows.push_back(std::move(ex));
    ++chunks;
  }
  CHECK(chunks == (all.examples.size() + chunk_rows - 1) / chunk_rows);
  CHECK(reader.skipped().count == all.skipped.count);
  CHECK(reader.skipped().examples == all.skipped.examples);
  REQUIRE(rows.size() == all.examples.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].text == all.examples[i].text);
    CHECK(rows[i].ids == all.examples[i].ids);
    CHECK(rows[i].line == all.examples[i].line);
  }
}

}  // namespace

TEST_CASE("data: DatasetReader gives load_dataset's rows a chunk at a time, in every format") {
  DatasetSpec csv;
  csv.path = write_file("rows.csv", mixed_csv(true) + "\n9,\"  \"\n10,\"bad \xff byte\"\n");
  csv.labeled = false;
  csv.id_cols = {"id"};
  csv.on_bad_row = BadRowPolicy::Skip;
  check_reader_matches(csv, 7);
  check_reader_matches(csv, 8192);
  csv.label_cols = {"a", "b"};  // unlabeled multi-label: the task and names still come through
  csv.path = write_file("ml.csv", "id,text,a,b\n1,x,0,1\n2,y,1,1\n3,z,0,0\n");
  check_reader_matches(csv, 2);

  DatasetSpec s140;
  std::string raw;
  for (int i = 0; i < 3000; ++i) raw += "\"4\",\"" + std::to_string(i) + "\",\"d\",\"q\",\"u\",\"caf\xe9 " + std::to_string(i) + "\"\n";
  s140.path = write_file("s140.latin1.csv", raw);
  s140.format = InputFormat::Sentiment140;
  s140.encoding = TextEncoding::Latin1;
  s140.labeled = false;
  check_reader_matches(s140, 500);

  DatasetSpec ft;
  std::string lines = "\xEF\xBB\xBF";
  for (int i = 0; i < 2000; ++i) lines += "__label__a __label__b text " + std::to_string(i) + (i % 3 ? "\r\n" : "\n\n");
  ft.path = write_file("ft.txt", lines + "__label__a   \nlast line");
  ft.format = InputFormat::FastText;
  ft.labeled = false;
  ft.on_bad_row = BadRowPolicy::Skip;
  check_reader_matches(ft, 999);

  // No usable row: load_dataset's error, from the first next().
  DatasetSpec empty = csv;
  empty.label_cols.clear();
  empty.path = write_file("blank.csv", "id,text\n1,\"  \"\n");
  std::string expected;
  try {
    load_dataset(empty);
  } catch (const DataError& e) {
    expected = e.what();
  }
  CHECK(expected.find("blank.csv: no usable rows (1 skipped") != std::string::npos);
  DatasetReader reader(empty);
  Dataset chunk;
  CHECK_DATA_ERROR([&] { reader.next(10, chunk); }, "blank.csv: no usable rows (1 skipped");
  // Labeled data needs the whole file (label names are collected from it).
  DatasetSpec labeled = csv;
  labeled.labeled = true;
  CHECK_THROWS_AS(DatasetReader{labeled}, Error);
}

TEST_CASE("data: a file that cannot fit in memory fails before it is read, naming file, sizes and what to do") {
  static const test::TempDir dir("test_csv_stream_mem");
  const std::string small = dir.write("small.csv", "text,label\na,x\nb,y\n");
  const std::string big = dir.file("big.csv");
  { std::ofstream(big, std::ios::binary) << "text,label\n"; }
  std::filesystem::resize_file(big, std::uintmax_t{64} << 20);  // 64 MiB (the smallest checked), sparse
  DatasetSpec spec;
  spec.path = big;
  EnvVar mem("LOOM_TEST_MEM_AVAILABLE", "300000000");  // 0.3 GB available, 0.81 GB needed
  CHECK_DATA_ERROR([&] { load_dataset(spec); }, "big.csv: 0.07 GB is too large to load", "about 12x its size (0.81 GB)",
                   "0.30 GB of memory is available", "sample or split the file");
  spec.path = small;  // under 64 MiB: never checked
  CHECK(load_dataset(spec).examples.size() == 2);
  mem.set("900000000");  // enough: the check passes and reading starts
  spec.path = big;
  bool passed_the_check = false;
  try {
    load_dataset(spec);
  } catch (const DataError& e) {
    passed_the_check = std::string(e.what()).find("too large") == std::string::npos;
  }
  CHECK(passed_the_check);
}
