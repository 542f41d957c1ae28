// fuzz/config.cc: the run folder's config.json reader (train::read_run_config in
// train/checkpoint.h) on arbitrary bytes; it reads the model config, the tokenizer settings, the
// vocabulary, the training options and the metadata schema (each one's from_json).
//
// Checked: a refusal is a CheckpointError naming the file (eval and predict print it and exit;
// any other exception type would lose the file's name); an accepted config survives
// to_json -> run_config_from_json -> to_json unchanged (what train writes, eval reads back).
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "train/checkpoint.h"

using namespace loom;

int loom_fuzz_config(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = [] {
    const std::string d = fuzz::scratch_dir() + "/run";
    const std::string cmd = "mkdir -p '" + d + "'";
    if (std::system(cmd.c_str()) != 0) fuzz::fail("cannot create " + d);
    return d;
  }();
  const std::string path = fuzz::write_scratch("run/config.json", {reinterpret_cast<const char*>(data), size});

  train::RunConfig c;
  if (!fuzz::run_expecting<CheckpointError>([&] { c = train::read_run_config(dir); }, path)) return 0;

  nlohmann::json first, second;
  try {
    first = train::to_json(c);
    second = train::to_json(train::run_config_from_json(first));
  } catch (const std::exception& e) {
    fuzz::fail(std::string("an accepted config.json does not survive to_json/from_json: ") + e.what());
  }
  FUZZ_CHECK(first == second, "to_json/from_json changed the config:\n" + first.dump() + "\n" + second.dump());
  FUZZ_CHECK(c.vocab.size() >= 2, "a vocabulary without <pad> and <unk>");
  return 0;
}

LOOM_FUZZ_ENTRY(loom_fuzz_config)
