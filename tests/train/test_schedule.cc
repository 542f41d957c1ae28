// tests/train/test_schedule.cc: learning-rate schedules, early stopping, metrics logs and the plot.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "train/early_stopping.h"
#include "train/metrics_log.h"
#include "train/plot.h"
#include "train/progress.h"
#include "train/schedule.h"
#include "tests/support/temp_dir.h"

using namespace loom;
using namespace loom::train;

TEST_CASE("train: constant schedule with warmup ramps then stays") {
  ScheduleConfig c;
  c.lr = 1e-3;
  c.warmup_steps = 4;
  LrSchedule s(c);
  const double expected[] = {0.25e-3, 0.5e-3, 0.75e-3, 1e-3, 1e-3, 1e-3};
  for (double e : expected) {
    CHECK(s.lr() == doctest::Approx(e).epsilon(1e-12));
    s.step();
  }
  CHECK(s.steps_done() == 6);
}

TEST_CASE("train: linear schedule decays to zero at total steps") {
  ScheduleConfig c;
  c.kind = ScheduleKind::Linear;
  c.lr = 2.0;
  c.warmup_steps = 2;
  c.total_steps = 10;
  LrSchedule s(c);
  std::vector<double> lrs;
  for (int i = 0; i < 12; ++i) {
    lrs.push_back(s.lr());
    s.step();
  }
  CHECK(lrs[0] == doctest::Approx(1.0));
  CHECK(lrs[1] == doctest::Approx(2.0));
  CHECK(lrs[2] == doctest::Approx(2.0));        // (10 - 2) / 8
  CHECK(lrs[6] == doctest::Approx(2.0 * 4 / 8));  // (10 - 6) / 8
  CHECK(lrs[10] == 0.0);
  CHECK(lrs[11] == 0.0);  // past the plan stays at 0, never negative
}

TEST_CASE("train: plateau schedule reduces after patience and respects min lr") {
  ScheduleConfig c;
  c.kind = ScheduleKind::Plateau;
  c.lr = 1.0;
  c.plateau_factor = 0.5;
  c.plateau_patience = 1;
  c.plateau_min_lr = 0.3;
  LrSchedule s(c);
  CHECK_FALSE(s.epoch_end(1.0));  // first value is the best
  CHECK_FALSE(s.epoch_end(0.9));  // improved
  CHECK_FALSE(s.epoch_end(0.95)); // 1 bad epoch: within patience
  CHECK(s.lr() == 1.0);
  CHECK(s.epoch_end(0.95));       // 2 bad epochs > patience 1: halve
  CHECK(s.lr() == doctest::Approx(0.5));
  CHECK_FALSE(s.epoch_end(0.99));
  CHECK(s.epoch_end(0.99));       // halve again, clamped at 0.3
  CHECK(s.lr() == doctest::Approx(0.3));
  CHECK_FALSE(s.epoch_end(0.99));
  CHECK_FALSE(s.epoch_end(0.99)); // already at min_lr: no reduction reported
  CHECK(s.lr() == doctest::Approx(0.3));
}

TEST_CASE("train: schedule state round trips through JSON") {
  ScheduleConfig c;
  c.kind = ScheduleKind::Plateau;
  c.lr = 1e-3;
  c.warmup_steps = 3;
  LrSchedule a(c);
  for (int i = 0; i < 5; ++i) a.step();
  a.epoch_end(0.5);
  a.epoch_end(0.6);
  a.epoch_end(0.7);  // reduced once
  LrSchedule b(c);
  b.load_state(nlohmann::json::parse(a.state().dump()));
  CHECK(b.lr() == a.lr());
  CHECK(b.steps_done() == 5);
  // Both continue identically: one more bad epoch is not yet a reduction, two are.
  CHECK(a.epoch_end(0.8) == b.epoch_end(0.8));
  CHECK(a.epoch_end(0.8) == b.epoch_end(0.8));
  CHECK(b.lr() == a.lr());
  c.kind = ScheduleKind::Linear;
  LrSchedule wrong(c);
  CHECK_THROWS_AS(wrong.load_state(a.state()), CheckpointError);
  CHECK_THROWS_AS(b.load_state(nlohmann::json{{"kind", "plateau"}}), CheckpointError);
  CHECK_THROWS_AS(parse_schedule_kind("cosine"), Error);
}

TEST_CASE("train: early stopping infers the mode and stops after patience") {
  CHECK(parse_monitor("val_loss").mode == MetricMode::Min);
  CHECK(parse_monitor("val_f1").mode == MetricMode::Max);
  CHECK(parse_monitor("val_accuracy").mode == MetricMode::Max);
  CHECK_THROWS_WITH_AS(parse_monitor("val_bogus"), doctest::Contains("val_auc"), Error);

  EarlyStopping es(parse_monitor("val_accuracy"), 2, 0.01);
  CHECK(es.update(0.70, 1));
  CHECK(es.update(0.75, 2));
  CHECK_FALSE(es.update(0.755, 3));  // within min_delta: not an improvement
  CHECK_FALSE(es.should_stop());
  CHECK_FALSE(es.update(0.74, 4));
  CHECK(es.should_stop());
  CHECK(es.best() == 0.75);
  CHECK(es.best_epoch() == 2);

  EarlyStopping loss(parse_monitor("val_loss"), 0, 0.0);
  CHECK(loss.update(0.5, 1));
  CHECK_FALSE(loss.should_stop());
  CHECK_FALSE(loss.update(std::nan(""), 2));  // NaN never becomes the best
  CHECK(loss.should_stop());                  // patience 0: first bad epoch stops (Keras)

  EarlyStopping restored(parse_monitor("val_accuracy"), 2, 0.01);
  restored.load_state(es.state());
  CHECK(restored.should_stop());
  CHECK(restored.best_epoch() == 2);
  EarlyStopping other(parse_monitor("val_loss"), 2, 0.0);
  CHECK_THROWS_AS(other.load_state(es.state()), CheckpointError);
}

TEST_CASE("train: metrics log writes csv and jsonl and truncates on resume") {
  const test::TempDir tmp("test_metrics");
  const std::string& dir = tmp.path();
  {
    MetricsLog log(dir, -1);
    for (int e = 1; e <= 3; ++e) {
      EpochRow r;
      r.epoch = e;
      r.step = 10 * e;
      r.split = "train";
      r.loss = 1.0 / e;
      r.accuracy = 0.5 + 0.1 * e;
      log.write(r);
      r.split = "val";
      r.auc = 0.9;
      log.write(r);
    }
  }
  auto rows = read_metrics_csv(dir + "/metrics.csv");
  REQUIRE(rows.size() == 6);
  CHECK(rows[4].epoch == 3);
  CHECK(rows[4].split == "train");
  CHECK(std::isnan(rows[4].auc));  // empty cell
  CHECK(rows[5].auc == doctest::Approx(0.9));
  CHECK(rows[2].loss == doctest::Approx(0.5));
  {
    MetricsLog resumed(dir, 2);  // epoch 3 was logged but not checkpointed
    CHECK(resumed.rows().size() == 4);
    EpochRow r;
    r.epoch = 3;
    r.split = "train";
    r.loss = 0.25;
    resumed.write(r);
  }
  rows = read_metrics_csv(dir + "/metrics.csv");
  REQUIRE(rows.size() == 5);
  CHECK(rows[4].loss == doctest::Approx(0.25));
  std::ifstream jsonl(dir + "/metrics.jsonl");
  int lines = 0;
  std::string line, last;
  while (std::getline(jsonl, line)) ++lines, last = line;
  CHECK(lines == 5);
  const auto j = nlohmann::json::parse(last);
  CHECK(j["loss"].get<double>() == doctest::Approx(0.25));
  CHECK(j["auc"].is_null());
}

TEST_CASE("train: ascii plot and gnuplot png") {
  const std::string chart = ascii_chart("loss", {"train", "val"}, {{1.0, 0.5, 0.25}, {1.0, 0.6, 0.7}}, 5);
  MESSAGE(chart);
  CHECK(chart.find("loss") == 0);
  CHECK(chart.find("* train") != std::string::npos);
  CHECK(chart.find('#') != std::string::npos);  // both start at 1.0: the same cell
  CHECK(chart.find("0.25") != std::string::npos);

  const test::TempDir tmp("test_plot");
  const std::string& dir = tmp.path();
  std::vector<EpochRow> rows;
  for (int e = 1; e <= 3; ++e)
    for (const char* split : {"train", "val"}) {
      EpochRow r;
      r.epoch = e;
      r.split = split;
      r.loss = 1.0 / e;
      r.accuracy = 0.6 + 0.1 * e;
      rows.push_back(r);
    }
  const PlotResult ascii = plot_curves(dir, rows, /*force_ascii=*/true);
  CHECK(ascii.path == dir + "/curves.txt");
  CHECK(ascii.ascii.find("accuracy per epoch") != std::string::npos);
  if (find_on_path("gnuplot").empty()) {
    MESSAGE("gnuplot not on PATH: PNG plot not checked");
  } else {
    const PlotResult png = plot_curves(dir, rows);
    CHECK(png.path == dir + "/curves.png");
    std::ifstream f(png.path, std::ios::binary);
    char magic[4] = {};
    f.read(magic, 4);
    CHECK(std::string(magic + 1, 3) == "PNG");
  }
}

TEST_CASE("train: progress epoch line and durations") {
  CHECK(format_duration(75) == "01:15");
  CHECK(format_duration(3723) == "1:02:03");
  const std::string line =
      epoch_line(2, 5, 14.23, {{"loss", 0.45123}, {"val_auc", std::nan("")}, {"lr", 1e-3}, {"tweets/s", 6123.4}});
  CHECK(line == "Epoch 2/5 - 14.2s - loss: 0.4512 - lr: 1.00e-03 - tweets/s: 6123");
  std::ostringstream os;
  ProgressBar bar(&os, 1, 2, 10);
  for (int i = 1; i <= 10; ++i) bar.update(i, i * 64, 0.5, 0.75, 1e-3);
  bar.finish();
  const std::string drawn = os.str();
  CHECK(drawn.find("10/10") != std::string::npos);  // the last step always draws
  CHECK(drawn.find("loss=0.5000 acc=0.7500") != std::string::npos);
  // Throttled: at most the first and the last step draw in this fast loop.
  std::size_t draws = 0;
  for (std::size_t at = drawn.find("Epoch 1/2"); at != std::string::npos; at = drawn.find("Epoch 1/2", at + 1)) ++draws;
  CHECK(draws >= 1);
  CHECK(draws <= 2);
}
