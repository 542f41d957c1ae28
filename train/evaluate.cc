// train/evaluate.cc: see evaluate.h.
#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ops/autograd.h"
#include "core/error.h"

namespace loom::train {

Scores predict_scores(const models::Classifier& model, const std::vector<data::EncodedExample>& rows,
                      data::TaskKind task, std::int64_t num_labels, std::int64_t max_len,
                      const Objective* objective, std::int64_t batch_size, ops::Precision precision) {
  NoGradGuard no_grad;
  // One region for the whole pass: the weights are cast once, not once per batch.
  const ops::AutocastScope amp(precision);
  Scores s;
  s.n = static_cast<std::int64_t>(rows.size());
  s.k = task == data::TaskKind::Binary ? 1 : num_labels;
  s.probs.assign(static_cast<std::size_t>(s.n * s.k), 0.0);
  if (s.n == 0) return s;
  auto len = [&](std::int64_t i) {
    const auto l = static_cast<std::int64_t>(rows[static_cast<std::size_t>(i)].ids.size());
    return max_len > 0 ? std::min(l, max_len) : l;
  };
  std::vector<std::int64_t> order(static_cast<std::size_t>(s.n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return len(a) > len(b); });
  const bool labeled = objective != nullptr && (rows[0].label >= 0 || !rows[0].targets.empty());
  Generator unused;  // Phase::Eval draws no dropout mask
  double loss_sum = 0.0;
  for (std::int64_t start = 0; start < s.n; start += batch_size) {
    const std::int64_t end = std::min(s.n, start + batch_size);
    const std::vector<std::int64_t> idx(order.begin() + start, order.begin() + end);
    const data::Batch batch = data::collate(rows, idx, max_len, task, num_labels);
    const Tensor logits = model.forward({batch.tokens, batch.lengths, batch.meta}, layers::Phase::Eval, unused);
    if (labeled) loss_sum += (*objective)(logits, batch.targets).item() * static_cast<double>(idx.size());
    const std::vector<float> z = logits.to_vector();
    const std::int64_t k = logits.dim(1);
    for (std::size_t r = 0; r < idx.size(); ++r) {
      const float* zr = z.data() + r * static_cast<std::size_t>(k);
      double* out = s.probs.data() + idx[r] * s.k;
      if (task == data::TaskKind::MultiClass) {
        const float mx = *std::max_element(zr, zr + k);
        double sum = 0.0;
        for (std::int64_t j = 0; j < k; ++j) sum += out[j] = std::exp(static_cast<double>(zr[j]) - mx);
        for (std::int64_t j = 0; j < k; ++j) out[j] /= sum;
      } else {
        for (std::int64_t j = 0; j < k; ++j) out[j] = 1.0 / (1.0 + std::exp(-static_cast<double>(zr[j])));
      }
    }
  }
  if (labeled) s.loss = loss_sum / static_cast<double>(s.n);
  return s;
}

std::vector<int> decide(const Scores& s, data::TaskKind task, double threshold) {
  std::vector<int> out;
  if (task == data::TaskKind::MultiClass) {
    for (std::int64_t i = 0; i < s.n; ++i) {
      const double* p = s.probs.data() + i * s.k;
      out.push_back(static_cast<int>(std::max_element(p, p + s.k) - p));
    }
  } else {
    for (double p : s.probs) out.push_back(p >= threshold ? 1 : 0);
  }
  return out;
}

double EvalMetrics::get(const std::string& name) const {
  if (name == "loss") return loss;
  if (name == "accuracy") return accuracy;
  if (name == "precision") return precision;
  if (name == "recall") return recall;
  if (name == "f1") return f1;
  if (name == "auc") return auc;
  if (name == "pr_auc") return pr_auc;
  if (name == "macro_f1") return macro_f1;
  if (name == "micro_f1") return micro_f1;
  LOOM_THROW(Error, "unknown metric '", name, "'");
}

Evaluation evaluate(const Scores& scores, const std::vector<data::EncodedExample>& rows, data::TaskKind task,
                    const std::vector<std::string>& label_names, double threshold) {
  LOOM_CHECK(scores.n == static_cast<std::int64_t>(rows.size()), "evaluate: ", scores.n, " scores for ", rows.size(),
             " rows");
  Evaluation e;
  e.task = task;
  const int k = static_cast<int>(label_names.size());
  const std::vector<int> pred = decide(scores, task, threshold);
  EvalMetrics& m = e.metrics;
  m.loss = scores.loss;
  if (task == data::TaskKind::MultiLabel) {
    std::vector<int> truth;
    truth.reserve(pred.size());
    for (const auto& r : rows) {
      LOOM_CHECK(static_cast<int>(r.targets.size()) == k, "evaluate: a row without its ", k, " label targets");
      for (float t : r.targets) truth.push_back(t > 0.5f ? 1 : 0);
    }
    e.multilabel_report = metrics::multilabel_report(truth, pred, k, label_names, scores.probs);
    const auto& r = e.multilabel_report;
    m.accuracy = r.subset_accuracy;
    m.precision = r.micro.precision;
    m.recall = r.micro.recall;
    m.f1 = m.micro_f1 = r.micro.f1;
    m.macro_f1 = r.macro.f1;
    m.auc = r.roc_auc_macro;
    m.pr_auc = r.average_precision_macro;
    return e;
  }
  std::vector<int> truth;
  truth.reserve(rows.size());
  for (const auto& r : rows) {
    LOOM_CHECK(r.label >= 0 && r.label < k, "evaluate: a row without a label in [0, ", k, ")");
    truth.push_back(r.label);
  }
  e.report = metrics::classification_report(truth, pred, k, label_names, scores.probs);
  const auto& r = e.report;
  m.accuracy = r.accuracy;
  m.macro_f1 = r.macro.f1;
  m.micro_f1 = r.micro.f1;
  m.auc = r.roc_auc;
  m.pr_auc = r.average_precision;
  const metrics::ClassStats& main = task == data::TaskKind::Binary ? r.per_class[1] : r.macro;
  m.precision = main.precision;
  m.recall = main.recall;
  m.f1 = main.f1;
  return e;
}

std::string Evaluation::text() const {
  return task == data::TaskKind::MultiLabel ? metrics::format_report(multilabel_report, 4)
                                            : metrics::format_report(report, 4);
}

nlohmann::json Evaluation::json() const {
  nlohmann::json j = task == data::TaskKind::MultiLabel ? metrics::to_json(multilabel_report) : metrics::to_json(report);
  j["task"] = data::to_string(task);
  j["loss"] = std::isnan(metrics.loss) ? nlohmann::json(nullptr) : nlohmann::json(metrics.loss);
  return j;
}

}  // namespace loom::train
