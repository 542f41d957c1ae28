// tests/tree/test_include_ladder.cc: the floors of the source tree, enforced.
//
// The ladder (core/README.md draws it):
//
//   core -> kernels -> ops -> {layers, io, metrics} -> data -> models -> train -> bench -> tools
//                                                                                   -> tests
// bench/ (the engine of `loom bench`, its harness and the libtorch peer) sits between train and
// tools, so that tools/bench.cc can call it; tests stand on top of everything.
//
// A file may include headers of its own folder and of folders on lower floors, never of a folder
// on its own floor or above, so there is no upward arrow and no cycle between folders. Inside
// kernels/ a family (kernels/lstm, kernels/conv1d, ...) includes its own headers, kernels/common,
// and the two building-block families the others are made of (gemm, reduce), and nothing else.
// Above the ops floor no `kernels::` name appears: layers and models see ops' own types only.
// No source file starts a kernel with a triple-chevron launch: every launch goes through
// launch<kernel>() in kernels/common/launch.cuh, the one place that picks the GPU or the simulator.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// Floor of each top-level folder; higher numbers sit above lower ones.
const std::map<std::string, int>& floors() {
  // sim/ (the SIM shape's stand-in for the CUDA runtime, cuBLAS and the device) sits below core:
  // it includes nothing of loom, and kernels reach it only through kernels/common/launch.cuh.
  static const std::map<std::string, int> f{
      {"sim", -1},   {"core", 0},   {"kernels", 1}, {"ops", 2},     {"layers", 3}, {"io", 3},
      {"metrics", 3}, {"data", 4},   {"models", 5},  {"train", 6},  {"bench", 7},
      {"tools", 8},  {"tests", 9},
  };
  return f;
}

// Folders whose code may not name kernels:: (everything above the ops floor but bench and tests,
// which loop over the kernels' variant tables on purpose).
bool above_ops(const std::string& folder) {
  return folder == "layers" || folder == "io" || folder == "metrics" || folder == "data" || folder == "models" ||
         folder == "train" || folder == "tools";
}

bool is_source(const fs::path& p) {
  const std::string e = p.extension().string();
  return e == ".h" || e == ".cc" || e == ".cu" || e == ".cuh" || e == ".inc";
}

std::string first_component(const std::string& rel) { return rel.substr(0, rel.find('/')); }

// "kernels/lstm/lstm.h" -> "lstm"; "" for files directly in kernels/.
std::string kernel_family(const std::string& rel) {
  const std::size_t a = rel.find('/');
  const std::size_t b = rel.find('/', a + 1);
  return b == std::string::npos ? "" : rel.substr(a + 1, b - a - 1);
}

struct Include {
  std::string file;  // relative to the source root
  int line = 0;
  std::string target;
};

std::vector<Include> project_includes(const fs::path& root, std::vector<std::string>* kernel_names_above) {
  std::vector<Include> out;
  const std::regex include_re(R"re(^\s*#\s*include\s*"([^"]+)")re");
  for (const auto& [folder, floor] : floors()) {
    (void)floor;
    const fs::path dir = root / folder;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file() || !is_source(entry.path())) continue;
      const std::string rel = fs::relative(entry.path(), root).generic_string();
      if (rel.rfind("tests/data/", 0) == 0) continue;  // fixtures, not code
      std::ifstream in(entry.path());
      std::string text;
      int n = 0;
      while (std::getline(in, text)) {
        ++n;
        std::smatch m;
        if (std::regex_search(text, m, include_re)) out.push_back({rel, n, m[1]});
        const std::size_t comment = text.find("//");
        const std::string code = comment == std::string::npos ? text : text.substr(0, comment);
        if (above_ops(folder) && code.find("kernels::") != std::string::npos)
          kernel_names_above->push_back(rel + ":" + std::to_string(n) + ": " + text);
      }
    }
  }
  return out;
}

// Why `inc` breaks the ladder, or "" when it does not.
std::string violation(const Include& inc) {
  const std::string from = first_component(inc.file), to = first_component(inc.target);
  const auto to_floor = floors().find(to);
  if (to_floor == floors().end()) return "";  // a system header, or one generated into the build
  const std::string where = inc.file + ":" + std::to_string(inc.line) + ": includes " + inc.target;
  if (from == to) {
    if (from != "kernels") return "";
    const std::string fam = kernel_family(inc.file), target_fam = kernel_family(inc.target);
    const bool ok = fam == target_fam || target_fam == "common" || target_fam == "gemm" || target_fam == "reduce";
    return ok ? "" : where + " (a kernel family reaches into another family)";
  }
  return to_floor->second < floors().at(from) ? "" : where + " (not a lower floor)";
}

// The triple chevron, spelled in two pieces so that this file does not break its own rule.
const std::string kChevron = std::string("<<") + "<";

// Removes comments from one line of C++. `in_block` carries an open /* ... */ from line to line.
std::string code_of(const std::string& line, bool* in_block) {
  std::string code;
  std::size_t i = 0;
  while (i < line.size()) {
    if (*in_block) {
      const std::size_t close = line.find("*/", i);
      if (close == std::string::npos) return code;
      *in_block = false;
      i = close + 2;
    } else if (line.compare(i, 2, "//") == 0) {
      return code;
    } else if (line.compare(i, 2, "/*") == 0) {
      *in_block = true;
      i += 2;
    } else {
      code += line[i++];
    }
  }
  return code;
}

// "file:line: text" for every line of `text` with a triple chevron outside comments.
std::vector<std::string> chevron_launches(const std::string& file, const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  bool in_block = false;
  for (int n = 1; std::getline(in, line); ++n)
    if (code_of(line, &in_block).find(kChevron) != std::string::npos)
      out.push_back(file + ":" + std::to_string(n) + ": " + line);
  return out;
}

// Every C++ and CUDA source file of the tree: the ladder's folders and the simulator's.
std::vector<fs::path> source_files(const fs::path& root) {
  std::vector<fs::path> out;
  std::vector<std::string> folders;
  for (const auto& entry : floors()) folders.push_back(entry.first);
  for (const std::string& folder : folders) {
    if (!fs::exists(root / folder)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / folder))
      if (entry.is_regular_file() && is_source(entry.path())) out.push_back(entry.path());
  }
  return out;
}

}  // namespace

TEST_CASE("source tree: no include runs up the ladder and no kernels:: name shows above ops") {
  const fs::path root = LOOM_SOURCE_DIR;
  std::vector<std::string> kernel_names_above;
  const std::vector<Include> includes = project_includes(root, &kernel_names_above);
  REQUIRE(includes.size() > 500);  // the walk really read the tree

  std::vector<std::string> upward;
  for (const Include& inc : includes)
    if (std::string why = violation(inc); !why.empty()) upward.push_back(why);
  std::ostringstream report;
  for (const auto& u : upward) report << "  " << u << "\n";
  INFO("includes against the ladder:\n" << report.str());
  CHECK(upward.empty());

  std::ostringstream names;
  for (const auto& k : kernel_names_above) names << "  " << k << "\n";
  INFO("kernels:: names above the ops floor:\n" << names.str());
  CHECK(kernel_names_above.empty());
}

TEST_CASE("source tree: the ladder check rejects what it should") {
  CHECK(violation({"kernels/lstm/lstm_cuda.cu", 1, "ops/tensor.h"}) != "");          // kernel -> Tensor
  CHECK(violation({"core/device.cc", 1, "kernels/gemm/gemm.h"}) != "");              // core -> kernels
  CHECK(violation({"layers/lstm.cc", 1, "models/lstm.h"}) != "");                    // up a floor
  CHECK(violation({"io/safetensors.cc", 1, "layers/module.h"}) != "");               // same floor, other folder
  CHECK(violation({"kernels/lstm/lstm_cpu.cc", 1, "kernels/conv1d/conv1d.h"}) != "");  // across families
  CHECK(violation({"kernels/lstm/lstm_cpu.cc", 1, "kernels/gemm/gemm.h"}) == "");
  CHECK(violation({"ops/lstm.cc", 1, "kernels/lstm/lstm.h"}) == "");
  CHECK(violation({"models/lstm.cc", 1, "layers/lstm.h"}) == "");
  CHECK(violation({"tools/loom.cc", 1, "CLI/CLI.hpp"}) == "");
  CHECK(violation({"kernels/common/launch.cuh", 1, "sim/launch.h"}) == "");
  CHECK(violation({"sim/runtime.cc", 1, "core/error.h"}) != "");                    // sim is below core
  CHECK(violation({"tools/bench.cc", 1, "bench/engine/engine.h"}) == "");         // tools runs the bench engine
  CHECK(violation({"bench/engine/engine.cc", 1, "tools/commands.h"}) != "");     // never the other way
  CHECK(violation({"tests/bench/test_torch_peer.cc", 1, "bench/torch_peer/torch_peer.h"}) == "");
  CHECK(above_ops("models"));
  CHECK_FALSE(above_ops("bench"));
}

TEST_CASE("source tree: every kernel starts through launch<kernel>(), never a triple chevron") {
  const fs::path root = LOOM_SOURCE_DIR;
  const std::vector<fs::path> files = source_files(root);
  REQUIRE(files.size() > 100);  // the walk really read the tree
  std::vector<std::string> found;
  for (const fs::path& path : files) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    for (const std::string& hit : chevron_launches(fs::relative(path, root).generic_string(), text.str()))
      found.push_back(hit);
  }
  std::ostringstream report;
  for (const auto& f : found) report << "  " << f << "\n";
  INFO("triple-chevron launches (use launch<kernel>(grid, block, stream, args...)):\n" << report.str());
  CHECK(found.empty());
}

TEST_CASE("source tree: the triple-chevron check rejects what it should") {
  const std::string bad = "  my_kernel" + kChevron + "grid, kBlock, 0, stream>>>(n, x);";
  CHECK(chevron_launches("kernels/x.cu", bad).size() == 1);
  CHECK(chevron_launches("kernels/x.cu", "  launch<my_kernel>(grid, kBlock, stream, n, x);").empty());
  CHECK(chevron_launches("kernels/x.cu", "  // was: my_kernel" + kChevron + "grid, kBlock, 0, stream>>>(n, x)").empty());
  CHECK(chevron_launches("kernels/x.cu", "/* old:\n my_kernel" + kChevron + "g, b>>>(x);\n*/").empty());
  CHECK(chevron_launches("kernels/x.cu", "/* note */" + bad).size() == 1);  // code after a closed comment
  const std::vector<std::string> second_line = chevron_launches("kernels/x.cu", "int a;\n" + bad);
  REQUIRE(second_line.size() == 1);
  CHECK(second_line.front().rfind("kernels/x.cu:2:", 0) == 0);  // names the file and line
}

// ctest registers each test case by the name doctest lists, and CMake splits that list at ";" and
// at unbalanced brackets. A name with ";", "[" or "]" so becomes one or two ctest tests whose
// --test-case filter matches no case: they "pass" without running. 21 cases ran nowhere that way
// until 2026-12-07. (cmake/label_tests.cmake refuses such names at build time too; this check names
// the file and line.) Commas are fine: doctest's discovery escapes them.
std::vector<std::string> unrunnable_test_names(const std::string& file, const std::string& text) {
  std::vector<std::string> out;
  const std::regex name_re(R"re(TEST_CASE\s*\(\s*"([^"]*)")re");
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::smatch m;
    if (std::regex_search(line, m, name_re) && m[1].str().find_first_of(";[]") != std::string::npos)
      out.push_back(file + ":" + std::to_string(n) + ": " + m[1].str());
  }
  return out;
}

TEST_CASE("source tree: no test case name has a semicolon or a bracket") {
  const fs::path root = LOOM_SOURCE_DIR;
  std::vector<std::string> found;
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root / "tests")) {
    if (!entry.is_regular_file() || !is_source(entry.path())) continue;
    ++files;
    std::ifstream in(entry.path());
    std::ostringstream text;
    text << in.rdbuf();
    for (const std::string& hit : unrunnable_test_names(fs::relative(entry.path(), root).generic_string(), text.str()))
      found.push_back(hit);
  }
  REQUIRE(files > 30);
  std::ostringstream report;
  for (const auto& f : found) report << "  " << f << "\n";
  INFO("test cases whose name has ';', '[' or ']' (ctest runs nothing for them):\n" << report.str());
  CHECK(found.empty());
  CHECK(unrunnable_test_names("t.cc", "TEST_CASE(\"rows a; b match\") {").size() == 1);
  CHECK(unrunnable_test_names("t.cc", "TEST_CASE(\"shape [F, C, K]\") {").size() == 1);
  CHECK(unrunnable_test_names("t.cc", "TEST_CASE(\"rows a, b match\") {").empty());
  CHECK(unrunnable_test_names("t.cc", "TEST_SUITE(\"cuda\") {\nTEST_CASE(\"rows a and b match\") {").empty());
}
