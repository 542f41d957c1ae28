// train/plot.cc: see plot.h.
#include "train/plot.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"

namespace loom::train {
namespace {

// Single quotes for /bin/sh: 'it'\''s'.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Per-epoch values of one metric for one split, NaN where the epoch has none.
std::vector<double> series_of(const std::vector<EpochRow>& rows, const std::string& split, double EpochRow::*field,
                              int epochs) {
  std::vector<double> out(static_cast<std::size_t>(epochs), std::nan(""));
  for (const EpochRow& r : rows)
    if (r.split == split && r.epoch >= 1 && r.epoch <= epochs) out[static_cast<std::size_t>(r.epoch - 1)] = r.*field;
  return out;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return "";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + program;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "";
}

std::string ascii_chart(const std::string& title, const std::vector<std::string>& names,
                        const std::vector<std::vector<double>>& series, int height) {
  static const char kMarks[] = {'*', 'o', '+', 'x'};
  double lo = INFINITY, hi = -INFINITY;
  std::size_t n = 0;
  for (const auto& s : series) {
    n = std::max(n, s.size());
    for (double v : s)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  std::ostringstream os;
  os << title << "\n";
  if (n == 0 || !std::isfinite(lo)) return os.str() + "  (no data)\n";
  if (hi - lo < 1e-12) hi = lo + 1e-6, lo -= 1e-6;
  height = std::max(height, 3);
  // Each epoch gets `step` columns so short runs are not squeezed into a few characters.
  const int step = n > 1 ? std::max(1, std::min(8, 56 / static_cast<int>(n - 1))) : 1;
  const int width = static_cast<int>(n - 1) * step + 1;
  std::vector<std::string> grid(static_cast<std::size_t>(height), std::string(static_cast<std::size_t>(width), ' '));
  for (std::size_t k = 0; k < series.size(); ++k)
    for (std::size_t e = 0; e < series[k].size(); ++e) {
      const double v = series[k][e];
      if (!std::isfinite(v)) continue;
      const int row = static_cast<int>(std::lround((hi - v) / (hi - lo) * (height - 1)));
      char& cell = grid[static_cast<std::size_t>(row)][e * static_cast<std::size_t>(step)];
      cell = cell == ' ' ? kMarks[k % 4] : '#';  // '#': two series on the same cell
    }
  const std::string top = fmt(hi), bottom = fmt(lo);
  const std::size_t margin = std::max(top.size(), bottom.size());
  for (int r = 0; r < height; ++r) {
    std::string label = r == 0 ? top : r == height - 1 ? bottom : "";
    os << std::string(margin - label.size(), ' ') << label << " |" << grid[static_cast<std::size_t>(r)] << "\n";
  }
  os << std::string(margin, ' ') << " +" << std::string(static_cast<std::size_t>(width), '-') << "\n";
  os << std::string(margin, ' ') << "  epoch 1" << (n > 1 ? " .. " + std::to_string(n) : std::string()) << "   ";
  for (std::size_t k = 0; k < names.size(); ++k) os << (k ? "  " : "") << kMarks[k % 4] << " " << names[k];
  os << "\n";
  return os.str();
}

PlotResult plot_curves(const std::string& dir, const std::vector<EpochRow>& rows, bool force_ascii) {
  int epochs = 0;
  for (const EpochRow& r : rows) epochs = std::max(epochs, r.epoch);
  const auto tl = series_of(rows, "train", &EpochRow::loss, epochs), vl = series_of(rows, "val", &EpochRow::loss, epochs);
  const auto ta = series_of(rows, "train", &EpochRow::accuracy, epochs),
             va = series_of(rows, "val", &EpochRow::accuracy, epochs);

  PlotResult result;
  const std::string gnuplot = force_ascii ? "" : find_on_path("gnuplot");
  if (!gnuplot.empty() && epochs > 0) {
    std::ofstream dat(dir + "/curves.dat");
    dat << "# epoch train_loss val_loss train_accuracy val_accuracy\n";
    auto cell = [](double v) { return std::isfinite(v) ? fmt(v) : std::string("NaN"); };
    for (int e = 0; e < epochs; ++e)
      dat << e + 1 << ' ' << cell(tl[e]) << ' ' << cell(vl[e]) << ' ' << cell(ta[e]) << ' ' << cell(va[e]) << '\n';
    dat.close();
    std::ofstream gp(dir + "/curves.gp");
    // noenhanced: otherwise "train_loss" is drawn with a subscript.
    gp << "# Training curves of this run: gnuplot curves.gp (run in this folder) redraws curves.png\n"
          "set terminal pngcairo size 960,400 noenhanced\nset output 'curves.png'\n"
          "set multiplot layout 1,2\nset xlabel 'epoch'\nset xtics 1\nset grid\nset key noenhanced\n"
          "set title 'loss'\nplot 'curves.dat' using 1:2 with linespoints title 'train', "
          "'' using 1:3 with linespoints title 'val'\n"
          "set title 'accuracy'\nplot 'curves.dat' using 1:4 with linespoints title 'train', "
          "'' using 1:5 with linespoints title 'val'\nunset multiplot\n";
    gp.close();
    const std::string cmd = "cd " + shell_quote(dir) + " && " + shell_quote(gnuplot) + " curves.gp >/dev/null 2>&1";
    std::remove((dir + "/curves.png").c_str());
    if (std::system(cmd.c_str()) == 0 && std::ifstream(dir + "/curves.png")) {
      result.path = dir + "/curves.png";
      return result;
    }
  }
  result.ascii = ascii_chart("loss per epoch", {"train", "val"}, {tl, vl}) + "\n" +
                 ascii_chart("accuracy per epoch", {"train", "val"}, {ta, va});
  result.path = dir + "/curves.txt";
  std::ofstream(result.path) << result.ascii;
  return result;
}

}  // namespace loom::train
