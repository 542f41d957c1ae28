// tests/train/test_user_error.cc: the one line a user reads when `loom` stops, and its exit
// status (tools/user_error.h): source locations hidden unless LOOM_DEBUG, control bytes and bad
// UTF-8 escaped, a long quoted value shortened, one status per kind of error.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "core/error.h"
#include "tests/train/train_util.h"
#include "tools/commands.h"
#include "tools/user_error.h"

namespace loom::test {
namespace {

using tools::user_message;

TEST_CASE("user errors: source locations are hidden unless LOOM_DEBUG asks for them") {
  const std::string what = "x.csv:3: field 'text': not valid UTF-8 (at data/dataset.cc:105)";
  CHECK(user_message(what, false) == "x.csv:3: field 'text': not valid UTF-8");
  CHECK(user_message(what, true) == what);
  // A message rethrown with a second location loses both.
  CHECK(user_message("reading run/: bad header (at io/safetensors.cc:88) (at train/checkpoint.cc:40)", false) ==
        "reading run/: bad header");
  // Parentheses that are not a location stay.
  CHECK(user_message("no rows (at the top of the file)", false) == "no rows (at the top of the file)");
  CHECK(user_message("see (at a.cc:12x)", false) == "see (at a.cc:12x)");
}

TEST_CASE("user errors: control bytes and invalid UTF-8 are escaped, valid UTF-8 is kept") {
  CHECK(user_message("field 'a\tb' on\nline 2", false) == "field 'a\\tb' on\\nline 2");
  CHECK(user_message(std::string("bad byte '\xff' here"), false) == "bad byte '\\xff' here");
  CHECK(user_message(std::string("nul '\x00' and bell \x07", 18), false) == "nul '\\x00' and bell \\x07");
  CHECK(user_message("caf\xc3\xa9 \xf0\x9f\x98\x80", false) == "caf\xc3\xa9 \xf0\x9f\x98\x80");  // é and an emoji
  CHECK(user_message("c1 \xc2\x85 control", false) == "c1 \\x85 control");                        // U+0085 (NEL)
}

TEST_CASE("user errors: a long quoted value is cut in the middle with its length, a short one is not") {
  const std::string big(10 * 1024 * 1024, 'a');
  const std::string line = user_message("t.csv:2: label '" + big + "z' is not one of 'neg', 'pos'", false);
  CHECK(line.size() < 200);
  CHECK(line.find("t.csv:2: label 'aaaa") == 0);
  CHECK(line.find("...") != std::string::npos);
  CHECK(line.find("az' (10485761 bytes) is not one of 'neg', 'pos'") != std::string::npos);
  // Exactly kMaxQuoted characters are shown whole; one more is cut.
  const std::string edge(tools::kMaxQuoted, 'b');
  CHECK(user_message("v '" + edge + "'", false) == "v '" + edge + "'");
  CHECK(user_message("v '" + edge + "b'", false).find("...") != std::string::npos);
  // Multi-byte characters are never split: the cut counts characters, not bytes.
  std::string accents;
  for (int i = 0; i < 200; ++i) accents += "\xc3\xa9";
  const std::string cut = user_message("v '" + accents + "'", false);
  CHECK(cut.find("(400 bytes)") != std::string::npos);
  CHECK(cut.find("\\x") == std::string::npos);  // no half character was escaped
  // An apostrophe inside a word neither opens nor closes a quote.
  CHECK(user_message("don't read 'x.csv': it's gone", false) == "don't read 'x.csv': it's gone");
}

TEST_CASE("user errors: one exit status per kind of error") {
  CHECK(tools::exit_status_for(DataError("d")) == tools::kExitData);
  CHECK(tools::exit_status_for(CheckpointError("c")) == tools::kExitCheckpoint);
  CHECK(tools::exit_status_for(NoDevice("n")) == tools::kExitDevice);
  CHECK(tools::exit_status_for(CudnnError("n")) == tools::kExitDevice);
  CHECK(tools::exit_status_for(NotCompiled("n")) == tools::kExitDevice);
  CHECK(tools::exit_status_for(ShapeError("s")) == tools::kExitError);
  CHECK(tools::exit_status_for(Error("e")) == tools::kExitError);
  CHECK(tools::exit_status_for(std::runtime_error("bug")) == tools::kExitInternal);
  // The statuses are distinct, so a script can tell the kinds apart.
  CHECK(tools::kExitUsage != tools::kExitError);
  CHECK(tools::kExitData != tools::kExitCheckpoint);
}

TEST_CASE("user errors: a command line that does not parse exits with the usage status, --help with 0") {
  Cli unknown({"train", "--no-such-flag"});
  CHECK(unknown.status == tools::kExitUsage);
  CHECK(unknown.err.str().find("no-such-flag") != std::string::npos);
  Cli missing_value({"eval", "--model"});
  CHECK(missing_value.status == tools::kExitUsage);
  Cli help({"train", "--help"});
  CHECK(help.status == tools::kExitOk);
}

TEST_CASE("user errors: a missing input file is a data error whose line names the file and no source file") {
  try {
    Cli run({"train", "--input", "/nonexistent/loom-user-error.csv", "--ckpt-dir", "/tmp/loom-user-error-run"});
    FAIL("train on a missing file did not throw");
  } catch (const Error& e) {
    CHECK(tools::exit_status_for(e) == tools::kExitData);
    const std::string line = user_message(e.what(), false);
    CHECK(line.find("/nonexistent/loom-user-error.csv") != std::string::npos);
    CHECK(line.find("(at ") == std::string::npos);
    CHECK(line.find(".cc:") == std::string::npos);
    CHECK(std::string(e.what()).find(".cc:") != std::string::npos);  // the location is still there for LOOM_DEBUG
  }
}

}  // namespace
}  // namespace loom::test
