// metrics/metrics.h: classification metrics with scikit-learn's definitions.
//
// Users compare loom's numbers with what scikit-learn prints for the same predictions, so every
// definition here is sklearn's (1.2), with zero_division=0: a precision, recall or F1 whose
// denominator is 0 is 0. tests/metrics/test_metrics.cc checks them against python3-sklearn itself
// on random cases, and format_report() prints sklearn's classification_report layout.
//
// Deliberate difference: where sklearn raises or warns because a score is undefined (ROC-AUC when
// y_true holds one class only; average precision with no positive), loom returns NaN, which
// to_json() writes as null and format_report() prints as "undefined".
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace loom::metrics {

constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

struct ClassStats {
  double precision = 0, recall = 0, f1 = 0;
  std::int64_t support = 0;  // true occurrences
};

// ---- binary and multi-class (one label per example) ---------------------------------------------
struct ClassificationReport {
  std::vector<std::string> label_names;
  std::vector<ClassStats> per_class;
  double accuracy = 0;
  ClassStats micro, macro, weighted;  // support: the number of examples
  std::vector<std::vector<std::int64_t>> confusion;  // [true class][predicted class]
  // From scores, when classification_report was given them (else NaN): binary ROC-AUC and
  // average precision of class 1; multi-class macro one-vs-rest ROC-AUC (average_precision NaN).
  double roc_auc = kUndefined;
  double average_precision = kUndefined;
};

// y_true and y_pred hold class ids in [0, num_classes) (loom::Error otherwise); label_names has
// num_classes names (empty: "0", "1", ...). `scores` is optional: N scores of class 1 when
// num_classes == 2, or an [N, num_classes] row-major probability matrix.
ClassificationReport classification_report(const std::vector<int>& y_true, const std::vector<int>& y_pred,
                                           int num_classes, const std::vector<std::string>& label_names = {},
                                           const std::vector<double>& scores = {});

// Binary ROC-AUC from scores (y_true01 holds 0/1). Equal scores form one threshold, as in
// sklearn's roc_curve, so ties count half. NaN when y_true holds only one class.
double roc_auc(const std::vector<int>& y_true01, const std::vector<double>& scores);

// sklearn's average_precision_score: sum over distinct thresholds (descending) of
// (R_n - R_{n-1}) * P_n. NaN when there is no positive.
double average_precision(const std::vector<int>& y_true01, const std::vector<double>& scores);

// Multi-class ROC-AUC, macro one-vs-rest (sklearn multi_class="ovr", average="macro") from an
// [N, num_classes] row-major matrix. NaN when some class is absent from y_true (sklearn raises).
// Unlike sklearn, rows are not required to sum to 1.
double roc_auc_ovr_macro(const std::vector<int>& y_true, const std::vector<double>& probs, int num_classes);

// ---- multi-label (K independent 0/1 labels per example) --------------------------------------------
struct MultilabelReport {
  std::vector<std::string> label_names;
  std::vector<ClassStats> per_label;
  ClassStats micro, macro, weighted, samples;  // support: total positive labels
  double subset_accuracy = 0;                  // exact match of all K labels (sklearn accuracy_score)
  double hamming_loss = 0;
  double jaccard_samples = 0;                  // jaccard_score(average="samples"); empty vs empty counts 0
  // From scores when given (else NaN): macro / micro ROC-AUC and macro average precision over
  // labels; the macro values are NaN when any label's score is undefined, as sklearn raises then.
  std::vector<double> roc_auc_per_label;
  double roc_auc_macro = kUndefined, roc_auc_micro = kUndefined, average_precision_macro = kUndefined;
};

// Y_true, Y_pred: [N, K] row-major 0/1; scores: optional [N, K].
MultilabelReport multilabel_report(const std::vector<int>& y_true, const std::vector<int>& y_pred,
                                   int num_labels, const std::vector<std::string>& label_names = {},
                                   const std::vector<double>& scores = {});

// ---- output ---------------------------------------------------------------------------------------
// sklearn's classification_report text (digits decimals) followed by the scores and the
// confusion matrix with label names (rows true, columns predicted).
std::string format_report(const ClassificationReport& report, int digits = 2);
// sklearn's multi-label layout (micro / macro / weighted / samples avg) plus subset accuracy,
// Hamming loss, Jaccard and the scores.
std::string format_report(const MultilabelReport& report, int digits = 2);

// For `eval --output`: every number above; NaN becomes null.
nlohmann::json to_json(const ClassificationReport& report);
nlohmann::json to_json(const MultilabelReport& report);

}  // namespace loom::metrics
