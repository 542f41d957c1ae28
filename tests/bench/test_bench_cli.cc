// tests/bench/test_bench_cli.cc: `loom bench` through tools::run_cli, exactly as the binary runs it:
// flag parsing (help, one-line errors naming the flag), validation before timing (every CPU row of
// a tiny LSTM, conv1d and text-CNN point matches the reference and gets a time; a corrupted
// candidate is reported as a MISMATCH and not timed), the --json document and the --markdown
// table, the libtorch column with and without the peer, and `bench step`. Tiny points, few
// repetitions and --cpu-peak (no sgemm measured) keep the suite fast.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.h"
#include "bench/engine/request.h"
#include "tools/commands.h"

namespace {

using nlohmann::json;

struct Run {
  int status = -1;
  std::string out, err;
};

Run bench(std::vector<std::string> args) {
  args.insert(args.begin(), "bench");
  std::ostringstream out, err;
  Run r;
  r.status = loom::tools::run_cli(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// Common flags of a tiny, fast CPU run.
std::vector<std::string> tiny(const std::string& family, std::vector<std::string> extra = {}) {
  std::vector<std::string> a{family, "--device", "cpu", "--repeats", "2", "--warmup", "0", "--cpu-peak", "50"};
  if (family == "lstm") a.insert(a.end(), {"--batch", "3", "--seq", "5", "--input", "4", "--hidden", "6"});
  if (family == "conv1d") a.insert(a.end(), {"--batch", "3", "--seq", "9", "--input", "4", "--filters", "5", "--kernel", "3"});
  if (family == "textcnn") a.insert(a.end(), {"--batch", "3", "--seq", "9", "--input", "4", "--filters", "5", "--widths", "2,3"});
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

// The JSON rows of one implementation: by its variant table row ("reference", "cpu"), or by impl
// for a row without one ("libtorch").
std::vector<json> rows_of(const json& doc, const std::string& name) {
  std::vector<json> out;
  for (const json& r : doc.at("rows")) {
    const std::string variant = r.at("variant");
    if ((variant.empty() ? r.at("impl").get<std::string>() : variant) == name) out.push_back(r);
  }
  return out;
}

struct HookReset {
  ~HookReset() { loom::bench::bench_test_hooks().perturb = nullptr; }
};

}  // namespace

TEST_SUITE("bench") {

TEST_CASE("loom bench: each sub-subcommand's --help exits 0 and names its flags") {
  for (const std::string family : {"lstm", "conv1d", "textcnn", "step"}) {
    const Run r = bench({family, "--help"});
    CHECK_MESSAGE(r.status == 0, family);
    CHECK(r.out.find(family == "step" ? "--arch" : "--impl") != std::string::npos);
  }
  CHECK(bench({"--help"}).out.find("textcnn") != std::string::npos);
}

TEST_CASE("loom bench: bad values give one-line errors naming the flag") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"lstm", "--dtype", "f8"}, "--dtype"},
      {{"lstm", "--lengths", "odd"}, "--lengths"},
      {{"conv1d", "--impl", "nosuch"}, "--impl"},
      {{"lstm", "--repeats", "0"}, "--repeats"},
      {{"textcnn", "--widths", "3,,5"}, "--widths"},
      {{"step", "--arch", "transformer"}, "--arch"},
      {{"lstm", "--pass", "sideways"}, "--pass"},
  };
  for (const auto& item : cases) {
    // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const auto& args = item.first;
    const auto& flag = item.second;
    const Run r = bench(args);
    CHECK_MESSAGE(r.status != 0, flag);
    const std::string first = r.err.substr(0, r.err.find('\n'));
    CHECK_MESSAGE(first.find(flag) != std::string::npos, first);
  }
}

TEST_CASE("loom bench lstm and conv1d: every CPU row validates before it is timed") {
  loom::test::TempDir dir("bench");
  for (const std::string family : {"lstm", "conv1d", "textcnn"}) {
    const std::string path = dir.file(family + ".json");
    const Run r = bench(tiny(family, {"--json", path, "--impl", "cpu,reference"}));
    CHECK_MESSAGE(r.status == 0, r.err);
    const json doc = read_json(path);
    int timed = 0;
    for (const json& row : doc.at("rows")) {
      CAPTURE(row.dump());
      CHECK(row.at("status").get<std::string>().rfind("ok", 0) == 0);
      CHECK(row.at("rel_err").is_number());
      CHECK(row.at("rel_err").get<double>() <= 1e-4);
      CHECK(row.at("ms_median").get<double>() > 0);
      ++timed;
    }
    // lstm: reference and cpu x fwd and fwd+bwd; conv: the same; textcnn: fused reference and cpu
    // plus the composed cpu path.
    CHECK(timed >= 4);
  }
}

TEST_CASE("loom bench: a corrupted candidate is a MISMATCH that names the tensor and gets no time") {
  HookReset reset;
  loom::test::TempDir dir("bench");
  loom::bench::bench_test_hooks().perturb = [](const std::string& impl, loom::bench::BenchOutputs& out) {
    if (impl == "reference") out.front().second.at(0) += 1.0f;  // one wrong value is enough
  };
  for (const std::string family : {"lstm", "conv1d"}) {
    const std::string path = dir.file(family + ".json");
    const Run r = bench(tiny(family, {"--json", path, "--impl", "cpu,reference", "--markdown", dir.file("t.md")}));
    CHECK(r.status == 1);  // a mismatch fails the run
    const json doc = read_json(path);
    const auto bad = rows_of(doc, "reference");
    REQUIRE(bad.size() == 2);
    for (const json& row : bad) {
      const std::string status = row.at("status");
      CHECK(status.rfind("MISMATCH (err ", 0) == 0);
      CHECK(status.find("> tol 1e-04, worst: y") != std::string::npos);
      CHECK(row.at("ms_median").is_null());
    }
    for (const json& row : rows_of(doc, "cpu")) CHECK(row.at("ms_median").get<double>() > 0);  // the others still run
    CHECK(r.out.find("MISMATCH") != std::string::npos);  // visible in the terminal table
  }
}

TEST_CASE("loom bench: --json has machine and versions and command and --markdown has the header and a row each") {
  loom::test::TempDir dir("bench");
  const Run r = bench(tiny("lstm", {"--json", dir.file("a.json"), "--markdown", dir.file("a.md"), "--pass", "fwd"}));
  REQUIRE(r.status == 0);
  const json doc = read_json(dir.file("a.json"));
  for (const char* key : {"machine", "versions", "command", "rows", "roofline"}) CHECK_MESSAGE(doc.contains(key), key);
  CHECK(doc.at("machine").contains("cpu"));
  CHECK(doc.at("machine").at("threads").get<int>() >= 1);
  CHECK(doc.at("versions").contains("loom"));
  CHECK(doc.at("versions").contains("libtorch"));
  CHECK(doc.at("command").get<std::string>().find("loom bench lstm --device cpu") == 0);
  CHECK(doc.at("command").get<std::string>().find("--hidden 6") != std::string::npos);

  std::ifstream md(dir.file("a.md"));
  std::stringstream ss;
  ss << md.rdbuf();
  const std::string text = ss.str();
  CHECK(text.find("# loom bench lstm") == 0);
  CHECK(text.find("| point ") != std::string::npos);  // the table's header row (cells padded)
  CHECK(text.find("| ms median |") != std::string::npos);
  CHECK(text.find("| vs libtorch |") != std::string::npos);
  CHECK(text.find("# roofline: given with --cpu-peak: 50.0 GFLOP/s") != std::string::npos);
  // One row per implementation (reference, cpu, libtorch) at the one point and pass.
  std::istringstream lines(text);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("| f32 fwd T5", 0) == 0) rows.push_back(line);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].find("| cpu/reference ") != std::string::npos);
  CHECK(rows[1].find("| cpu ") != std::string::npos);
  CHECK(rows[2].find("| libtorch ") != std::string::npos);
}

TEST_CASE("loom bench: the libtorch column says why without the peer and validates with it") {
  loom::test::TempDir dir("bench");
  const Run r = bench(tiny("lstm", {"--json", dir.file("t.json"), "--impl", "cpu,libtorch"}));
  CHECK(r.status == 0);  // the run succeeds either way
  const json doc = read_json(dir.file("t.json"));
  const auto torch = rows_of(doc, "libtorch");
  REQUIRE(torch.size() == 2);
  if (!doc.at("versions").at("libtorch_available").get<bool>()) {
    MESSAGE("skipped: no libtorch peer in this build; checking that the row says why");
    for (const json& row : torch) CHECK(row.at("status").get<std::string>().rfind("unavailable: ", 0) == 0);
    CHECK(r.out.find("# libtorch: no libtorch peer in this build") != std::string::npos);
    for (const json& row : rows_of(doc, "cpu")) CHECK(row.at("speedup_vs_libtorch").is_null());
  } else {
    for (const json& row : torch) {
      CAPTURE(row.dump());
      CHECK(row.at("status").get<std::string>().rfind("ok", 0) == 0);
      CHECK(row.at("rel_err").get<double>() <= 1e-4);
      CHECK(row.at("ms_median").get<double>() > 0);
    }
    for (const json& row : rows_of(doc, "cpu")) CHECK(row.at("speedup_vs_libtorch").get<double>() > 0);
  }
}

TEST_CASE("loom bench step: a whole training step validates (finite and repeatable) and is timed") {
  loom::test::TempDir dir("bench");
  for (const std::string arch : {"lstm", "cnn"}) {
    const Run r = bench({"step", "--arch", arch, "--device", "cpu", "--batch", "4", "--seq", "6", "--embed-dim", "8",
                         "--hidden", "8", "--filters", "4", "--widths", "2,3", "--vocab-size", "50", "--repeats", "2",
                         "--warmup", "0", "--cpu-peak", "50", "--json", dir.file("s.json")});
    CHECK_MESSAGE(r.status == 0, r.err);
    const json doc = read_json(dir.file("s.json"));
    REQUIRE(doc.at("rows").size() == 1);
    const json& row = doc.at("rows").at(0);
    CHECK(row.at("status") == "ok");
    CHECK(row.at("ms_median").get<double>() > 0);
    CHECK(row.at("arch") == arch);
    CHECK(r.out.find(" -") != std::string::npos);  // no libtorch peer for a step
  }
  // A step whose repeat differs is caught.
  HookReset reset;
  loom::bench::bench_test_hooks().perturb = [](const std::string& impl, loom::bench::BenchOutputs& out) {
    if (impl == "step") out.front().second.at(0) += 1e-3f;
  };
  const Run bad = bench({"step", "--device", "cpu", "--batch", "2", "--seq", "4", "--embed-dim", "8", "--hidden", "8",
                         "--vocab-size", "50", "--repeats", "1", "--cpu-peak", "50"});
  CHECK(bad.status == 1);
  CHECK(bad.out.find("MISMATCH (two identical steps differ in param 0)") != std::string::npos);
}

}  // TEST_SUITE
