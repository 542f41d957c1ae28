// tests/io/test_fuzz_regressions.cc: every input the fuzz harnesses ever failed on, plus hand-picked
// edge cases and the seed corpora, run through the same harness code in the normal test suite.
//
// The harnesses (fuzz/<name>.cc) are compiled here with LOOM_FUZZ_NO_MAIN: no libFuzzer entry
// point, and a broken invariant throws fuzz::Violation instead of aborting. So each file in
// fuzz/regressions/<name>/ and fuzz/corpus/<name>/ must give a clean outcome, exactly as the fuzzer
// demands: parsed with every invariant holding, or refused with the right loom::Error subclass and
// a message that names the file. A new crash file from tools/fuzz.sh goes into
// fuzz/regressions/<name>/ and is picked up here without a code change.
#define LOOM_FUZZ_NO_MAIN
#include "fuzz/config.cc"
#include "fuzz/csv.cc"
#include "fuzz/dataset.cc"
#include "fuzz/embeddings.cc"
#include "fuzz/metadata.cc"
#include "fuzz/safetensors.cc"
#include "fuzz/tokenizer.cc"
#include "fuzz/trainer_state.cc"
#include "fuzz/vocab.cc"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const std::uint8_t*, std::size_t);

// Runs every file of fuzz/<kind>/<name>/ through `harness`; returns how many there were.
int run_folder(const std::string& kind, const std::string& name, Harness harness) {
  const fs::path dir = fs::path(LOOM_SOURCE_DIR) / "fuzz" / kind / name;
  if (!fs::is_directory(dir)) return 0;
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream f(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ++n;
    try {
      harness(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    } catch (const loom::fuzz::Violation& v) {
      FAIL_CHECK(entry.path().string() << ": " << v.what());
    }
  }
  return n;
}

struct Named {
  const char* name;
  Harness harness;
};
const Named kHarnesses[] = {
    {"csv", loom_fuzz_csv},           {"dataset", loom_fuzz_dataset},
    {"safetensors", loom_fuzz_safetensors}, {"embeddings", loom_fuzz_embeddings},
    {"config", loom_fuzz_config},     {"trainer_state", loom_fuzz_trainer_state},
    {"vocab", loom_fuzz_vocab},       {"metadata", loom_fuzz_metadata},
    {"tokenizer", loom_fuzz_tokenizer},
};

}  // namespace

TEST_CASE("fuzz regressions: every kept input and edge case meets its harness's checks") {
  int total = 0;
  for (const Named& h : kHarnesses) {
    CAPTURE(h.name);
    total += run_folder("regressions", h.name, h.harness);
  }
  // The hand-picked edge cases alone are 17 files; fewer means the folder went missing.
  CHECK(total >= 17);
}

TEST_CASE("fuzz regressions: the seed corpora meet their harness's checks") {
  for (const Named& h : kHarnesses) {
    CAPTURE(h.name);
    CHECK(run_folder("corpus", h.name, h.harness) >= 1);  // every harness has seeds
  }
}

TEST_CASE("fuzz regressions: a broken invariant is reported, not swallowed") {
  // The machinery the cases above rely on: a failed check and a foreign exception type both come
  // out as Violation; the writer and the validator behave as the harnesses assume.
  CHECK_THROWS_AS(loom::fuzz::run_expecting<loom::DataError>([] { loom::fuzz::fail("test"); }),
                  loom::fuzz::Violation);
  CHECK_THROWS_AS(loom::fuzz::run_expecting<loom::DataError>([] { throw std::out_of_range("x"); }),
                  loom::fuzz::Violation);
  CHECK(loom::data::format_csv_record({""}) == "\"\"");
  CHECK(loom::data::quote_csv_field("\xEF\xBB\xBFid") == "\"\xEF\xBB\xBFid\"");
  CHECK(loom::fuzz::valid_utf8("caf\xC3\xA9"));
  CHECK_FALSE(loom::fuzz::valid_utf8("\xC0\xAF"));      // overlong '/'
  CHECK_FALSE(loom::fuzz::valid_utf8("\xED\xA0\x80"));  // a surrogate
  CHECK_FALSE(loom::fuzz::valid_utf8("\xC3"));          // truncated
}
