// fuzz/trainer_state.cc: trainer_state.json (train::read_trainer_state in train/checkpoint.h),
// and the states inside it that --resume hands on: the learning-rate schedule, early stopping and
// fp16's loss scaler (each one's load_state).
//
// The first byte picks the schedule kind the "run" uses; the rest is the file. Checked: a refusal
// is a CheckpointError (naming the file when it is the file's own reader); an accepted state has
// epoch and step >= 0 and equal to the numbers in the file (no silent narrowing of a huge value);
// each accepted sub-state survives load_state -> state() -> load_state -> state() unchanged.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "train/checkpoint.h"
#include "train/early_stopping.h"
#include "train/grad_scaler.h"
#include "train/schedule.h"

using namespace loom;

namespace {

// load_state, then the state it reports must load again and report the same.
template <class Make>
void check_sub_state(Make make, const nlohmann::json& j, const char* what) {
  auto a = make();
  if (!fuzz::run_expecting<CheckpointError>([&] { a.load_state(j); })) return;
  const nlohmann::json s1 = a.state();
  auto b = make();
  try {
    b.load_state(s1);
  } catch (const std::exception& e) {
    fuzz::fail(std::string(what) + ": its own state() does not load: " + e.what());
  }
  FUZZ_CHECK(b.state() == s1, std::string(what) + ": state changed by a round trip: " + s1.dump() + " vs " +
                                  b.state().dump());
}

}  // namespace

int loom_fuzz_trainer_state(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = [] {
    const std::string d = fuzz::scratch_dir() + "/state";
    const std::string cmd = "mkdir -p '" + d + "'";
    if (std::system(cmd.c_str()) != 0) fuzz::fail("cannot create " + d);
    return d;
  }();
  fuzz::Input in(data, size);
  const auto kind = static_cast<train::ScheduleKind>(in.byte() % 3);
  const std::string path = fuzz::write_scratch("state/trainer_state.json", in.rest());

  train::TrainerState s;
  if (!fuzz::run_expecting<CheckpointError>([&] { s = train::read_trainer_state(dir); }, path)) return 0;

  const nlohmann::json j = nlohmann::json::parse(in.rest());  // it parsed once, it parses again
  FUZZ_CHECK(s.epoch >= 0 && s.step >= 0, "negative epoch or step accepted");
  FUZZ_CHECK(j.at("epoch") == nlohmann::json(s.epoch), "epoch " + j.at("epoch").dump() + " read as " +
                                                           std::to_string(s.epoch));
  FUZZ_CHECK(j.at("step") == nlohmann::json(s.step), "step " + j.at("step").dump() + " read as " +
                                                         std::to_string(s.step));

  train::ScheduleConfig sc;
  sc.kind = kind;
  check_sub_state([&] { return train::LrSchedule(sc); }, s.schedule, "schedule");
  check_sub_state([] { return train::EarlyStopping(train::MonitorSpec{}, 3, 0.0); }, s.early_stopping,
                  "early_stopping");
  if (!s.grad_scaler.is_null()) check_sub_state([] { return train::GradScaler(); }, s.grad_scaler, "grad_scaler");
  return 0;
}

LOOM_FUZZ_ENTRY(loom_fuzz_trainer_state)
