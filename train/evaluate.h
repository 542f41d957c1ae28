// train/evaluate.h: a model's scores on a set of encoded tweets, and the metrics they give.
//
// Shared by the trainer (validation each epoch, the test split at the end), `loom eval` and
// `loom predict`, so all three see the same numbers for the same data. Rows are run in order of
// length (longest first) in large batches and the scores put back in input order: a row's logits
// do not depend on its batch-mates or its padding (models/text_classifier.h), so this only saves
// the padding work.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/batching.h"
#include "metrics/metrics.h"
#include "models/text_classifier.h"
#include "ops/autocast.h"
#include "train/objective.h"

namespace loom::train {

struct Scores {
  std::int64_t n = 0;
  std::int64_t k = 0;         // columns: 1 for binary (probability of label_names[1]), else K
  std::vector<double> probs;  // [n, k] row-major: sigmoid (binary, multi-label) or softmax (multi-class)
  double loss = std::nan("");  // mean loss over the rows, when labeled and an objective was given
};

// Eval phase, no gradient. objective may be null (no loss); rows must then be all unlabeled or
// all labeled alike (data::collate). precision: the forward and the loss run in an
// ops::AutocastScope of it (F32: no region, the F32 paths exactly as before); the scores are
// computed from the logits widened to F32 either way.
Scores predict_scores(const models::Classifier& model, const std::vector<data::EncodedExample>& rows,
                      data::TaskKind task, std::int64_t num_labels, std::int64_t max_len,
                      const Objective* objective, std::int64_t batch_size = 256,
                      ops::Precision precision = ops::Precision::F32);

// The decisions: binary p >= threshold; multi-class argmax; multi-label each p >= threshold.
// Returns class ids (binary, multi-class; size n) or [n, K] 0/1 (multi-label).
std::vector<int> decide(const Scores& s, data::TaskKind task, double threshold);

// The handful of numbers the trainer logs and monitors. For binary: precision/recall/f1 of the
// positive class, auc = ROC-AUC, pr_auc = average precision; multi-class: macro averages and macro
// one-vs-rest ROC-AUC; multi-label: accuracy = subset accuracy, micro averages, macro ROC-AUC.
struct EvalMetrics {
  double loss = std::nan(""), accuracy = std::nan(""), precision = std::nan(""), recall = std::nan(""),
         f1 = std::nan(""), auc = std::nan(""), pr_auc = std::nan(""), macro_f1 = std::nan(""),
         micro_f1 = std::nan("");
  // "loss", "accuracy", "f1", "auc", "pr_auc", "precision", "recall", "macro_f1", "micro_f1"
  double get(const std::string& name) const;
};

struct Evaluation {
  EvalMetrics metrics;
  data::TaskKind task = data::TaskKind::Binary;
  metrics::ClassificationReport report;         // binary, multi-class
  metrics::MultilabelReport multilabel_report;  // multi-label
  std::string text() const;                     // format_report (sklearn layout + confusion matrix)
  nlohmann::json json() const;
};

// rows must be labeled; scores from predict_scores on the same rows.
Evaluation evaluate(const Scores& scores, const std::vector<data::EncodedExample>& rows, data::TaskKind task,
                    const std::vector<std::string>& label_names, double threshold);

}  // namespace loom::train
