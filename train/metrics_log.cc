// train/metrics_log.cc: see metrics_log.h.
#include "train/metrics_log.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace loom::train {
namespace {

const char* kHeader =
    "epoch,step,split,loss,accuracy,precision,recall,f1,auc,lr,grad_norm,time_s,tweets_per_s,skipped_steps";
// The header before the skipped_steps column (metrics.csv of older runs, still resumable).
const char* kHeader13 = "epoch,step,split,loss,accuracy,precision,recall,f1,auc,lr,grad_norm,time_s,tweets_per_s";

std::string num(double v) {
  if (std::isnan(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

nlohmann::json jnum(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

std::string csv_line(const EpochRow& r) {
  std::ostringstream os;
  os << r.epoch << ',' << r.step << ',' << r.split << ',' << num(r.loss) << ',' << num(r.accuracy) << ','
     << num(r.precision) << ',' << num(r.recall) << ',' << num(r.f1) << ',' << num(r.auc) << ',' << num(r.lr) << ','
     << num(r.grad_norm) << ',' << num(r.time_s) << ',' << num(r.tweets_per_s) << ',' << num(r.skipped_steps);
  return os.str();
}

std::string json_line(const EpochRow& r) {
  nlohmann::json j = {{"epoch", r.epoch},         {"step", r.step},           {"split", r.split},
                      {"loss", jnum(r.loss)},     {"accuracy", jnum(r.accuracy)}, {"precision", jnum(r.precision)},
                      {"recall", jnum(r.recall)}, {"f1", jnum(r.f1)},         {"auc", jnum(r.auc)},
                      {"lr", jnum(r.lr)},         {"grad_norm", jnum(r.grad_norm)}, {"time_s", jnum(r.time_s)},
                      {"tweets_per_s", jnum(r.tweets_per_s)}, {"skipped_steps", jnum(r.skipped_steps)}};
  return j.dump();
}

double parse_num(const std::string& s, const std::string& path, int line) {
  if (s.empty()) return kNone;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') LOOM_THROW(DataError, path, ":", line, ": not a number: '", s, "'");
  return v;
}

void write_all(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) LOOM_THROW(Error, "cannot write ", path);
  f << text;
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  if (!f) LOOM_THROW(Error, "cannot write ", path);
  f << line << '\n';
  f.flush();  // a reader (tail -f, a plot) sees each epoch as soon as it ends
}

}  // namespace

std::vector<EpochRow> read_metrics_csv(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) LOOM_THROW(DataError, "cannot open ", path);
  std::vector<EpochRow> rows;
  std::string line;
  int n = 0;
  std::size_t columns = 14;
  while (std::getline(f, line)) {
    ++n;
    if (n == 1) {
      if (line == kHeader13) columns = 13;
      else if (line != kHeader) LOOM_THROW(DataError, path, ":1: unexpected header '", line, "'");
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    if (cells.size() != columns)
      LOOM_THROW(DataError, path, ":", n, ": expected ", columns, " fields, got ", cells.size());
    EpochRow r;
    r.epoch = static_cast<int>(parse_num(cells[0], path, n));
    r.step = static_cast<std::int64_t>(parse_num(cells[1], path, n));
    r.split = cells[2];
    double* fields[] = {&r.loss, &r.accuracy, &r.precision, &r.recall,       &r.f1,
                        &r.auc,  &r.lr,       &r.grad_norm, &r.time_s,       &r.tweets_per_s,
                        &r.skipped_steps};
    for (std::size_t i = 0; i + 3 < columns; ++i) *fields[i] = parse_num(cells[3 + i], path, n);
    rows.push_back(r);
  }
  return rows;
}

MetricsLog::MetricsLog(const std::string& dir, int resume_after_epoch)
    : csv_path_(dir + "/metrics.csv"), jsonl_path_(dir + "/metrics.jsonl") {
  if (resume_after_epoch >= 0) {
    std::ifstream probe(csv_path_);
    if (probe) {
      for (const EpochRow& r : read_metrics_csv(csv_path_))
        if (r.epoch <= resume_after_epoch) rows_.push_back(r);
    }
  }
  // Rewrite both files from the kept rows (the JSONL mirrors the CSV row for row).
  std::string csv = std::string(kHeader) + "\n", jsonl;
  for (const EpochRow& r : rows_) {
    csv += csv_line(r) + "\n";
    jsonl += json_line(r) + "\n";
  }
  write_all(csv_path_, csv);
  write_all(jsonl_path_, jsonl);
}

void MetricsLog::write(const EpochRow& row) {
  rows_.push_back(row);
  append_line(csv_path_, csv_line(row));
  append_line(jsonl_path_, json_line(row));
}

}  // namespace loom::train
