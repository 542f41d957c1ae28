// train/progress.h: what the user watches while a model trains.
//
// On a terminal (isatty(stderr) and TERM is not "dumb") a tqdm-like bar on stderr, redrawn at most
// 10 times a second with `\r`, showing running loss, accuracy, learning rate and tweets/s.
// Everywhere (terminal or log file) one plain line per epoch in Keras verbose=2 style, which is
// what CI logs want:
//   Epoch 2/5 - 14.2s - loss: 0.4512 - accuracy: 0.7893 - val_loss: 0.4620 - val_accuracy: 0.7801 ...
// The library writes only to the streams it is given (no globals), so tests can capture both.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace loom::train {

// True when stderr is a terminal that understands `\r` (the bar is worth drawing).
bool stderr_is_interactive();

// "00:12", "1:02:03".
std::string format_duration(double seconds);

class ProgressBar {
 public:
  // `os` null = no bar (off a terminal). total_steps: batches in this epoch.
  ProgressBar(std::ostream* os, int epoch, int epochs, std::int64_t total_steps);
  // After each step: steps done so far, tweets seen so far, running means. Draws only when 0.1 s
  // have passed since the last draw (and always for the last step).
  void update(std::int64_t steps_done, std::int64_t tweets_done, double loss, double accuracy, double lr);
  // Erases the bar so the epoch line that follows starts on a clean line.
  void finish();
  double elapsed() const;

 private:
  void draw(std::int64_t steps_done, std::int64_t tweets_done, double loss, double accuracy, double lr);

  std::ostream* os_;
  int epoch_, epochs_;
  std::int64_t total_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
  std::size_t last_width_ = 0;
};

// The Keras verbose=2 epoch line. `values`: name/value pairs in order (NaN values are left out).
std::string epoch_line(int epoch, int epochs, double seconds,
                       const std::vector<std::pair<std::string, double>>& values);

}  // namespace loom::train
