// train/progress.cc: the progress bar and the epoch line (see progress.h).
#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace loom::train {

bool stderr_is_interactive() {
  if (!isatty(fileno(stderr))) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && std::strcmp(term, "dumb") != 0 && term[0] != '\0';
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  return buf;
}

ProgressBar::ProgressBar(std::ostream* os, int epoch, int epochs, std::int64_t total_steps)
    : os_(os), epoch_(epoch), epochs_(epochs), total_(total_steps), start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double ProgressBar::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(std::int64_t steps_done, std::int64_t tweets_done, double loss, double accuracy,
                         double lr) {
  if (!os_) return;
  const auto now = std::chrono::steady_clock::now();
  // tqdm's mininterval: redrawing every step would cost more than a small model's step.
  if (drawn_ && steps_done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(steps_done, tweets_done, loss, accuracy, lr);
}

void ProgressBar::draw(std::int64_t steps_done, std::int64_t tweets_done, double loss, double accuracy,
                       double lr) {
  const double t = elapsed();
  const double frac = total_ > 0 ? static_cast<double>(steps_done) / static_cast<double>(total_) : 1.0;
  constexpr int kWidth = 20;
  // Eighth blocks give the bar sub-character resolution, as tqdm does.
  static const char* kEighths[] = {"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"};
  const int eighths = static_cast<int>(frac * kWidth * 8);
  std::string bar;
  int cells = 0;
  for (; cells < eighths / 8; ++cells) bar += "\u2588";
  if (cells < kWidth && eighths % 8) {
    bar += kEighths[eighths % 8];
    ++cells;
  }
  for (; cells < kWidth; ++cells) bar += ' ';
  const double remaining = steps_done > 0 ? t * static_cast<double>(total_ - steps_done) / steps_done : -1;
  char line[320];
  std::snprintf(line, sizeof line,
                "Epoch %d/%d %3.0f%%|%s| %lld/%lld [%s<%s] loss=%.4f acc=%.4f lr=%.2e %.0f tweets/s", epoch_,
                epochs_, frac * 100.0, bar.c_str(), static_cast<long long>(steps_done),
                static_cast<long long>(total_), format_duration(t).c_str(), format_duration(remaining).c_str(), loss,
                accuracy, lr, t > 0 ? static_cast<double>(tweets_done) / t : 0.0);
  std::string s = line;
  const std::size_t width = s.size();
  // Pad over the previous, possibly longer, line instead of relying on an ANSI erase.
  if (width < last_width_) s.append(last_width_ - width, ' ');
  last_width_ = width;
  *os_ << '\r' << s << std::flush;
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!os_ || !drawn_) return;
  *os_ << '\r' << std::string(last_width_, ' ') << '\r' << std::flush;
  drawn_ = false;
}

std::string epoch_line(int epoch, int epochs, double seconds,
                       const std::vector<std::pair<std::string, double>>& values) {
  std::ostringstream os;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  os << "Epoch " << epoch << "/" << epochs << " - " << buf;
  for (const auto& [name, value] : values) {
    if (std::isnan(value)) continue;
    if (name == "lr") std::snprintf(buf, sizeof buf, "%.2e", value);
    else if (name == "tweets/s") std::snprintf(buf, sizeof buf, "%.0f", value);
    else std::snprintf(buf, sizeof buf, "%.4f", value);
    os << " - " << name << ": " << buf;
  }
  return os.str();
}

}  // namespace loom::train
