// tests/data/test_csv.cc: the RFC 4180 reader on small files written to a temporary folder.
//
// Each malformed-input case checks the message a user would see: the path, the line where the
// record starts and the field, since that is what makes a broken row findable in a 100k-row file.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "core/error.h"
#include "data/csv.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"
#include "tests/support/timing.h"

using namespace loom;
using namespace loom::data;

namespace {

// One folder for this file's cases, removed when the test binary exits.
std::string write_file(const std::string& name, const std::string& content) {
  static const test::TempDir dir("test_csv");
  return dir.write(name, content);
}

#define CHECK_DATA_ERROR(callable, ...) \
  ::loom::test::check_throws_naming<::loom::DataError>(__FILE__, __LINE__, callable, {__VA_ARGS__})

}  // namespace

TEST_CASE("data: csv quoted commas, doubled quotes and embedded newlines keep start lines") {
  const std::string path = write_file("quotes.csv",
                                      "id,text\n"
                                      "1,plain\n"
                                      "2,\"a, b\"\n"
                                      "3,\"say \"\"hi\"\"\"\n"
                                      "4,\"line one\nline two\nline three\"\n"
                                      "5,after\n"
                                      "6,\"\"\n");
  const CsvTable t = read_csv(path);
  CHECK(t.path == path);
  REQUIRE(t.header == std::vector<std::string>{"id", "text"});
  REQUIRE(t.records.size() == 6);
  CHECK(t.records[0].fields[1] == "plain");
  CHECK(t.records[1].fields[1] == "a, b");
  CHECK(t.records[2].fields[1] == "say \"hi\"");
  CHECK(t.records[3].fields[1] == "line one\nline two\nline three");
  CHECK(t.records[4].fields[1] == "after");
  CHECK(t.records[5].fields[1] == "");
  const std::int64_t lines[] = {2, 3, 4, 5, 8, 9};
  for (int i = 0; i < 6; ++i) {
    INFO("record ", i);
    CHECK(t.records[static_cast<std::size_t>(i)].line == lines[i]);
  }
}

TEST_CASE("data: csv BOM, CRLF, blank lines and a last line without a newline") {
  const std::string path = write_file("crlf.csv",
                                      "\xEF\xBB\xBFid,text\r\n"
                                      "1,\"x\r\ny\"\r\n"
                                      "\r\n"
                                      "2,z\r\n"
                                      "3,w");
  const CsvTable t = read_csv(path);
  CHECK(t.header[0] == "id");  // the BOM is not part of the first column's name
  REQUIRE(t.records.size() == 3);
  CHECK(t.records[0].fields[1] == "x\r\ny");  // bytes inside quotes are kept as written
  CHECK(t.records[0].line == 2);
  CHECK(t.records[1].fields[1] == "z");
  CHECK(t.records[1].line == 5);
  CHECK(t.records[2].fields[1] == "w");
  CHECK(t.records[2].line == 6);
}

TEST_CASE("data: csv without a header and with a tab delimiter") {
  const std::string path = write_file("tabs.tsv", "a\tb, c\n\"d\te\"\tf\n");
  CsvOptions o;
  o.has_header = false;
  o.delimiter = '\t';
  const CsvTable t = read_csv(path, o);
  CHECK(t.header.empty());
  REQUIRE(t.records.size() == 2);
  CHECK(t.records[0].fields == std::vector<std::string>{"a", "b, c"});
  CHECK(t.records[1].fields == std::vector<std::string>{"d\te", "f"});
  CHECK(t.records[1].line == 2);

  o.expected_fields = 3;
  CHECK_DATA_ERROR([&] { read_csv(path, o); }, path + ":1:", "2 fields, expected 3");
}

TEST_CASE("data: csv malformed records name path, line and field") {
  const std::string stray = write_file("stray.csv", "id,text\n1,ok\n2,ab\"c\n");
  CHECK_DATA_ERROR([&] { read_csv(stray); }, stray + ":3:", "field 'text'", "quote inside an unquoted field");

  const std::string open = write_file("open.csv", "id,text\n1,ok\n2,\"never closed\n3,x\n");
  CHECK_DATA_ERROR([&] { read_csv(open); }, open + ":3:", "field 'text'", "never closed");

  const std::string after = write_file("after.csv", "id,text\n\"1\"x,ok\n");
  CHECK_DATA_ERROR([&] { read_csv(after); }, after + ":2:", "field 'id'", "after the closing quote");

  // The record starts on line 2; the bad quote is found on line 3: both are named.
  const std::string later = write_file("later.csv", "id,text\n1,\"two\nlines\"!\n");
  CHECK_DATA_ERROR([&] { read_csv(later); }, later + ":2:", "field 'text'", "on line 3");

  const std::string count = write_file("count.csv", "id,text\n1,a\n2,a,b\n");
  CHECK_DATA_ERROR([&] { read_csv(count); }, count + ":3:", "3 fields, expected 2");

  const std::string header = write_file("header.csv", "id,te\"xt\n1,a\n");
  CHECK_DATA_ERROR([&] { read_csv(header); }, header + ":1:", "header");

  const std::string empty = write_file("empty.csv", "");
  CHECK_DATA_ERROR([&] { read_csv(empty); }, empty, "empty file");

  const std::string missing = write_file("x.csv", "") + ".does-not-exist";
  CHECK_DATA_ERROR([&] { read_csv(missing); }, missing, "cannot open");
}

TEST_CASE("data: csv skip mode drops malformed records, counts them and resynchronizes") {
  const std::string path = write_file("skip.csv",
                                      "id,text\n"
                                      "1,good\n"
                                      "2,ba\"d\n"          // line 3: stray quote
                                      "3,a,b\n"            // line 4: three fields
                                      "4,\"x\"y\n"         // line 5: text after the quote
                                      "5,\"multi\nline\"\n"  // lines 6-7: good
                                      "6\n"                // line 8: one field
                                      "7,,,\n"             // line 9: four fields
                                      "8,fine\n"           // line 10: good
                                      "9,\"unterminated\n"  // line 11: swallows the rest...
                                      "10,last\n");        // ...but parsing resumes here
  SkipLog log;
  const CsvTable t = read_csv(path, {}, &log);
  CHECK(log.count == 6);
  REQUIRE(log.examples.size() == 5);  // only the first five reasons are kept
  CHECK(log.examples[0].find(path + ":3: field 'text'") == 0);
  CHECK(log.examples[1].find(path + ":4:") == 0);
  CHECK(log.examples[4].find(path + ":9:") == 0);
  REQUIRE(t.records.size() == 4);
  CHECK(t.records[0].fields[0] == "1");
  CHECK(t.records[1].fields[1] == "multi\nline");
  CHECK(t.records[1].line == 6);
  CHECK(t.records[2].fields[1] == "fine");
  CHECK(t.records[2].line == 10);
  CHECK(t.records[3].fields[1] == "last");
  CHECK(t.records[3].line == 12);
}

TEST_CASE("data: csv reads 100k rows in well under a second") {
  std::string content = "id,label,text\n";
  for (int i = 0; i < 100000; ++i)
    content += std::to_string(i) + "," + std::to_string(i % 2) +
               ",\"@user some tweet text, with a comma and \"\"quotes\"\" #tag " + std::to_string(i) + "\"\n";
  const std::string path = write_file("big.csv", content);
  const auto t0 = std::chrono::steady_clock::now();
  const CsvTable t = read_csv(path);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("read_csv: 100k rows (", content.size() / 1000000.0, " MB) in ", seconds, " s");
  REQUIRE(t.records.size() == 100000);
  CHECK(t.records[99999].line == 100001);
  CHECK(t.records[123].fields[2] == "@user some tweet text, with a comma and \"quotes\" #tag 123");
  CHECK(seconds < loom::testing::wall_bound(1.0));  // typically ~0.1 s; the bound catches quadratic behaviour, not noise
}
