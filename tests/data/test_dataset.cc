// tests/data/test_dataset.cc: load_dataset on the three formats, label handling and bad rows.
//
// The bad-row cases check the full "PATH:LINE: field 'NAME'" prefix, since finding the row is the
// point of the message; the skip cases check that exactly the bad rows disappear. The last case
// loads the real sentiment140_100k training file when ../shared/data is present.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "data/dataset.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"

using namespace loom;
using namespace loom::data;

namespace {

// One folder for this file's cases, removed when the test binary exits.
std::string write_file(const std::string& name, const std::string& content) {
  static const test::TempDir dir("test_dataset");
  return dir.write(name, content);
}

DatasetSpec csv_spec(const std::string& path) {
  DatasetSpec s;
  s.path = path;
  return s;
}

#define CHECK_DATA_ERROR(callable, ...) \
  ::loom::test::check_throws_naming<::loom::DataError>(__FILE__, __LINE__, callable, {__VA_ARGS__})

}  // namespace

TEST_CASE("data: dataset csv columns by name, ids and collected labels") {
  const std::string path = write_file("basic.csv",
                                      "tweet_id,extra,label,text\n"
                                      "a1,x,pos,\"great, really\"\n"
                                      "a2,y, neg ,awful\n"
                                      "a3,z,pos,\"two\nlines\"\n");
  DatasetSpec s = csv_spec(path);
  s.id_cols = {"tweet_id"};
  const Dataset d = load_dataset(s);
  CHECK(d.task == TaskKind::Binary);
  CHECK(d.label_names == std::vector<std::string>{"neg", "pos"});  // byte order: positive = "pos"
  CHECK(d.id_names == std::vector<std::string>{"tweet_id"});
  REQUIRE(d.examples.size() == 3);
  CHECK(d.examples[0].text == "great, really");
  CHECK(d.examples[0].label == 1);
  CHECK(d.examples[1].label == 0);  // " neg " is trimmed
  CHECK(d.examples[2].text == "two\nlines");
  CHECK(d.examples[2].ids == std::vector<std::string>{"a3"});
  CHECK(d.examples[2].line == 4);
  CHECK(d.skipped.count == 0);
  CHECK(label_counts(d) == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("data: dataset numeric labels sort numerically and three labels are multiclass") {
  const std::string path = write_file("numeric.csv", "label,text\n10,a\n2,b\n1,c\n2,d\n");
  const Dataset d = load_dataset(csv_spec(path));
  CHECK(d.task == TaskKind::MultiClass);
  CHECK(d.label_names == std::vector<std::string>{"1", "2", "10"});
  REQUIRE(d.examples.size() == 4);
  CHECK(d.examples[0].label == 2);
  CHECK(d.examples[1].label == 1);
  CHECK(d.examples[2].label == 0);
}

TEST_CASE("data: dataset missing file or column names it and lists the columns") {
  const std::string path = write_file("cols.csv", "id,label,text\n1,0,a\n2,1,b\n");
  DatasetSpec s = csv_spec(path);
  s.text_col = "tweet";
  CHECK_DATA_ERROR([&] { load_dataset(s); }, path, "'tweet'", "id, label, text");
  s = csv_spec(path);
  s.id_cols = {"user"};
  CHECK_DATA_ERROR([&] { load_dataset(s); }, "'user'", "id, label, text");
  s = csv_spec(path);
  s.label_cols = {"joy", "anger"};
  CHECK_DATA_ERROR([&] { load_dataset(s); }, "'joy'", "id, label, text");
  s = csv_spec(path + ".missing");
  CHECK_DATA_ERROR([&] { load_dataset(s); }, path + ".missing");
  // The raw Sentiment140 file read as csv gets a hint.
  const std::string raw = write_file("raw140.csv", "\"0\",\"1\",\"d\",\"q\",\"u\",\"t\"\n\"4\",\"2\",\"d\",\"q\",\"u\",\"v\"\n");
  CHECK_DATA_ERROR([&] { load_dataset(csv_spec(raw)); }, "format sentiment140");
}

TEST_CASE("data: dataset bad rows fail with path, line and field") {
  const std::string empty = write_file("empty_text.csv", "label,text\n0,fine\n1,\"\"\n0,ok\n");
  CHECK_DATA_ERROR([&] { load_dataset(csv_spec(empty)); }, empty + ":3: field 'text': empty text");

  const std::string spaces = write_file("space_text.csv", "label,text\n0,fine\n1,\"  \n \"\n");
  CHECK_DATA_ERROR([&] { load_dataset(csv_spec(spaces)); }, spaces + ":3: field 'text'", "whitespace");

  const std::string utf8 = write_file("bad_utf8.csv", "label,text\n0,fine\n1,ab\xFF" "cd\n");
  CHECK_DATA_ERROR([&] { load_dataset(csv_spec(utf8)); }, utf8 + ":3: field 'text': invalid UTF-8 at byte 2");

  const std::string label = write_file("empty_label.csv", "label,text\n0,fine\n,oops\n");
  CHECK_DATA_ERROR([&] { load_dataset(csv_spec(label)); }, label + ":3: field 'label': empty label");

  const std::string malformed = write_file("malformed.csv", "label,text\n0,fine\n1,a\"b\n");
  CHECK_DATA_ERROR([&] { load_dataset(csv_spec(malformed)); }, malformed + ":3: field 'text'");

  const std::string multi = write_file("multi_bad.csv", "text,joy,anger\nhi,1,0\nyo,2,0\n");
  DatasetSpec s = csv_spec(multi);
  s.label_cols = {"joy", "anger"};
  CHECK_DATA_ERROR([&] { load_dataset(s); }, multi + ":3: field 'joy': expected 0 or 1, found '2'");
}

TEST_CASE("data: dataset unknown labels with known_labels fail or are skipped") {
  const std::string path = write_file("known.csv", "label,text\npositive,a\nnegative,b\nmaybe,c\nnegative,d\n");
  const std::vector<std::string> known = {"negative", "positive"};
  CHECK_DATA_ERROR([&] { load_dataset(csv_spec(path), &known); },
                   path + ":4: field 'label': unknown label 'maybe'", "negative, positive");
  DatasetSpec s = csv_spec(path);
  s.on_bad_row = BadRowPolicy::Skip;
  const Dataset d = load_dataset(s, &known);
  CHECK(d.label_names == known);
  CHECK(d.task == TaskKind::Binary);
  REQUIRE(d.examples.size() == 3);
  CHECK(d.examples[0].label == 1);
  CHECK(d.examples[1].label == 0);
  CHECK(d.examples[2].line == 5);
  CHECK(d.skipped.count == 1);
  // The model's order wins over the collected order, even when it is not sorted.
  const std::vector<std::string> reversed = {"positive", "negative", "maybe"};
  const Dataset r = load_dataset(csv_spec(path), &reversed);
  CHECK(r.task == TaskKind::MultiClass);
  CHECK(r.examples[0].label == 0);
  CHECK(r.examples[2].label == 2);
}

TEST_CASE("data: dataset skip policy counts bad rows and keeps the first five reasons") {
  const std::string path = write_file("mixed.csv",
                                      "label,text\n"
                                      "0,good one\n"
                                      "1,\"\"\n"         // 3: empty text
                                      "0,x\"y\n"         // 4: stray quote (CSV level)
                                      "1,ok\xC3\n"       // 5: truncated UTF-8
                                      ",no label\n"      // 6: empty label
                                      "1,a,b\n"          // 7: field count
                                      "0,\"\xED\xA0\x80\"\n"  // 8: a surrogate is not UTF-8
                                      "1,good two\n");
  DatasetSpec s = csv_spec(path);
  s.on_bad_row = BadRowPolicy::Skip;
  const Dataset d = load_dataset(s);
  REQUIRE(d.examples.size() == 2);
  CHECK(d.examples[0].text == "good one");
  CHECK(d.examples[1].text == "good two");
  CHECK(d.examples[1].line == 9);
  CHECK(d.skipped.count == 6);
  REQUIRE(d.skipped.examples.size() == 5);
  for (const auto& e : d.skipped.examples) CHECK(e.find(path + ":") == 0);
  // No usable row at all is an error even when skipping.
  const std::string none = write_file("none.csv", "label,text\n0,\"\"\n");
  s.path = none;
  CHECK_DATA_ERROR([&] { load_dataset(s); }, none, "no usable rows", "1 skipped");
}

TEST_CASE("data: dataset multi-label columns and a single label value") {
  const std::string path = write_file("ml.csv", "id,text,joy,anger\n1,yay,1,0\n2,grr,0,1\n3,meh,0,0\n");
  DatasetSpec s = csv_spec(path);
  s.label_cols = {"joy", "anger"};
  const Dataset d = load_dataset(s);
  CHECK(d.task == TaskKind::MultiLabel);
  CHECK(d.label_names == s.label_cols);
  REQUIRE(d.examples.size() == 3);
  CHECK(d.examples[0].targets == std::vector<float>{1, 0});
  CHECK(d.examples[1].targets == std::vector<float>{0, 1});
  CHECK(d.examples[2].targets == std::vector<float>{0, 0});
  CHECK(d.examples[0].label == -1);
  const std::vector<std::string> other = {"anger", "joy"};
  CHECK_DATA_ERROR([&] { load_dataset(s, &other); }, "differ from the model's labels");

  const std::string one = write_file("one.csv", "label,text\n1,a\n1,b\n");
  CHECK_DATA_ERROR([&] { load_dataset(csv_spec(one)); }, one, "single value '1'");
}

TEST_CASE("data: dataset unlabeled input needs no label column") {
  const std::string path = write_file("predict.csv", "id,text\n7,hello there\n8,bye\n");
  DatasetSpec s = csv_spec(path);
  s.labeled = false;
  s.id_cols = {"id"};
  const Dataset d = load_dataset(s);
  REQUIRE(d.examples.size() == 2);
  CHECK(d.examples[0].label == -1);
  CHECK(d.examples[1].ids == std::vector<std::string>{"8"});
  CHECK(d.label_names.empty());
}

TEST_CASE("data: dataset sentiment140 raw format") {
  const std::string path = write_file("s140.csv",
                                      "\"0\",\"1467810369\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"_TheSpecialOne_\",\"@switchfoot awww, that's a bummer\"\n"
                                      "\"4\",\"1467822272\",\"Mon Apr 06 22:22:45 PDT 2009\",\"NO_QUERY\",\"ersle\",\"I LOVE @Health4UandPets u guys r the best!! \"\n"
                                      "\"0\",\"1467810672\",\"Mon Apr 06 22:19:49 PDT 2009\",\"NO_QUERY\",\"scotthamilton\",\"is upset\"\n");
  DatasetSpec s;
  s.path = path;
  s.format = parse_input_format("sentiment140");
  const Dataset d = load_dataset(s);
  CHECK(d.label_names == std::vector<std::string>{"negative", "positive"});
  CHECK(d.task == TaskKind::Binary);
  CHECK(d.id_names == std::vector<std::string>{"id"});
  REQUIRE(d.examples.size() == 3);
  CHECK(d.examples[0].text == "@switchfoot awww, that's a bummer");
  CHECK(d.examples[0].label == 0);
  CHECK(d.examples[1].label == 1);
  CHECK(d.examples[1].ids == std::vector<std::string>{"1467822272"});
  CHECK(d.examples[2].line == 3);

  s.id_cols = {"user", "date"};
  const Dataset u = load_dataset(s);
  CHECK(u.examples[2].ids == std::vector<std::string>{"scotthamilton", "Mon Apr 06 22:19:49 PDT 2009"});

  const std::string neutral = write_file("s140n.csv", "2,1,d,q,u,meh\n0,2,d,q,u,bad\n4,3,d,q,u,good\n");
  s = DatasetSpec{};
  s.path = neutral;
  s.format = InputFormat::Sentiment140;
  const Dataset n = load_dataset(s);
  CHECK(n.label_names == std::vector<std::string>{"negative", "neutral", "positive"});
  CHECK(n.task == TaskKind::MultiClass);
  CHECK(n.examples[0].label == 1);

  const std::string bad = write_file("s140bad.csv", "0,1,d,q,u,fine\n3,2,d,q,u,what\n");
  s.path = bad;
  CHECK_DATA_ERROR([&] { load_dataset(s); }, bad + ":2: field 'polarity': expected 0, 2 or 4, found '3'");
  const std::string five = write_file("s140five.csv", "0,1,d,q,u,fine\n4,2,d,q,u\n");
  s.path = five;
  CHECK_DATA_ERROR([&] { load_dataset(s); }, five + ":2:", "5 fields, expected 6");

  // The raw file is Latin-1: with encoding latin1 the byte 0xE9 becomes U+00E9 ("é").
  const std::string latin = write_file("s140latin.csv", "0,1,d,q,u,caf\xE9\n4,2,d,q,u,ok\n");
  s.path = latin;
  CHECK_DATA_ERROR([&] { load_dataset(s); }, latin + ":1: field 'text': invalid UTF-8 at byte 3");
  s.encoding = parse_text_encoding("latin1");
  CHECK(load_dataset(s).examples[0].text == "caf\xC3\xA9");
}

TEST_CASE("data: dataset fasttext single-label and multi-label lines") {
  const std::string single = write_file("single.txt",
                                        "__label__pos what a great day\n"
                                        "__label__neg  \tawful __label__pos stays text\r\n"
                                        "\n"
                                        "__label__pos good\n");
  DatasetSpec s;
  s.path = single;
  s.format = InputFormat::FastText;
  const Dataset d = load_dataset(s);
  CHECK(d.task == TaskKind::Binary);
  CHECK(d.label_names == std::vector<std::string>{"neg", "pos"});
  REQUIRE(d.examples.size() == 3);
  CHECK(d.examples[0].text == "what a great day");
  CHECK(d.examples[0].label == 1);
  CHECK(d.examples[1].text == "awful __label__pos stays text");
  CHECK(d.examples[1].label == 0);
  CHECK(d.examples[2].line == 4);

  const std::string multi = write_file("multi.txt",
                                       "__label__joy __label__love so happy\n"
                                       "__label__anger grr\n"
                                       "__label__joy yay\n");
  s.path = multi;
  const Dataset m = load_dataset(s);
  CHECK(m.task == TaskKind::MultiLabel);
  CHECK(m.label_names == std::vector<std::string>{"anger", "joy", "love"});
  REQUIRE(m.examples.size() == 3);
  CHECK(m.examples[0].targets == std::vector<float>{0, 1, 1});
  CHECK(m.examples[1].targets == std::vector<float>{1, 0, 0});

  // A multi-label model evaluated on a file with one label per line stays multi-label.
  s.path = single;
  s.multi_label = true;
  const std::vector<std::string> known = {"pos", "neg", "other"};
  const Dataset k = load_dataset(s, &known);
  CHECK(k.task == TaskKind::MultiLabel);
  CHECK(k.examples[1].targets == std::vector<float>{0, 1, 0});

  const std::string nolabel = write_file("nolabel.txt", "__label__a x\n__label__b y\njust text\n");
  s = DatasetSpec{};
  s.path = nolabel;
  s.format = InputFormat::FastText;
  CHECK_DATA_ERROR([&] { load_dataset(s); }, nolabel + ":3: field 'label'", "__label__");
  const std::string notext = write_file("notext.txt", "__label__a x\n__label__b   \n");
  s.path = notext;
  CHECK_DATA_ERROR([&] { load_dataset(s); }, notext + ":2: field 'text'");
  s.path = nolabel;
  s.labeled = false;
  CHECK(load_dataset(s).examples[2].text == "just text");
}

TEST_CASE("data: dataset real sentiment140_100k train.csv") {
  const std::string path = LOOM_SOURCE_DIR "/../shared/data/sentiment140_100k/train.csv";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: ", path, " is absent");
    return;
  }
  DatasetSpec s;
  s.path = path;
  s.text_col = "text";
  s.label_col = "label";
  const auto t0 = std::chrono::steady_clock::now();
  const Dataset d = load_dataset(s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("load_dataset: ", d.examples.size(), " rows in ", seconds, " s");
  CHECK(d.examples.size() == 89006);
  CHECK(d.label_names == std::vector<std::string>{"0", "1"});
  CHECK(d.task == TaskKind::Binary);
  CHECK(d.skipped.count == 0);
  const auto counts = label_counts(d);
  REQUIRE(counts.size() == 2);
  CHECK(counts[0] > 30000);  // roughly balanced, as Sentiment140 is
  CHECK(counts[1] > 30000);
  CHECK(d.examples[0].line == 2);
}
