// train/plot.h: the training-curve plot at the end of a run.
//
// With gnuplot on PATH (Debian's gnuplot-nox is enough: pngcairo terminal), DIR/curves.png with
// two panels, loss and accuracy per epoch for train and val; the data (curves.dat) and the script
// (curves.gp) stay beside it so the plot can be restyled. Without gnuplot, the same two panels as
// ASCII art in DIR/curves.txt (and returned, so the trainer can print it). Detected at run time:
// nothing to configure, and a build without gnuplot still gets a plot.
#pragma once

#include <string>
#include <vector>

#include "train/metrics_log.h"

namespace loom::train {

// The full path of an executable on PATH, or "" when there is none.
std::string find_on_path(const std::string& program);

// ASCII chart of one metric per epoch for the given series; `height` text rows.
std::string ascii_chart(const std::string& title, const std::vector<std::string>& names,
                        const std::vector<std::vector<double>>& series, int height = 10);

struct PlotResult {
  std::string path;   // curves.png or curves.txt
  std::string ascii;  // the ASCII plot when there was no gnuplot (or it failed), else ""
};

// Plots loss and accuracy from `rows` (train and val splits). `force_ascii` skips gnuplot.
PlotResult plot_curves(const std::string& dir, const std::vector<EpochRow>& rows, bool force_ascii = false);

}  // namespace loom::train
