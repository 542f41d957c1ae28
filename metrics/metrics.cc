// metrics/metrics.cc: scikit-learn's classification metrics (definitions in metrics.h).
//
// Counts are kept as integers and divided once at the end, so the values are as exact as a
// double allows and agree with sklearn's to ~1e-15 (the peer test allows 1e-9).
#include "metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "core/error.h"

namespace loom::metrics {
namespace {

double ratio(std::int64_t num, std::int64_t den) {  // zero_division=0
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

// sklearn: (1 + beta^2) P R / (beta^2 P + R), 0 when the denominator is 0.
double f1_of(double p, double r) { return p + r == 0.0 ? 0.0 : 2.0 * p * r / (p + r); }

ClassStats stats_from_counts(std::int64_t tp, std::int64_t predicted, std::int64_t actual) {
  ClassStats s;
  s.precision = ratio(tp, predicted);
  s.recall = ratio(tp, actual);
  s.f1 = f1_of(s.precision, s.recall);
  s.support = actual;
  return s;
}

// Macro (unweighted mean of the per-class values) and weighted (by support) averages.
void averages(const std::vector<ClassStats>& per, std::int64_t support, ClassStats* macro, ClassStats* weighted) {
  *macro = ClassStats{};
  *weighted = ClassStats{};
  std::int64_t total = 0;
  for (const ClassStats& s : per) {
    macro->precision += s.precision;
    macro->recall += s.recall;
    macro->f1 += s.f1;
    weighted->precision += s.precision * static_cast<double>(s.support);
    weighted->recall += s.recall * static_cast<double>(s.support);
    weighted->f1 += s.f1 * static_cast<double>(s.support);
    total += s.support;
  }
  if (!per.empty()) {
    const double k = static_cast<double>(per.size());
    macro->precision /= k;
    macro->recall /= k;
    macro->f1 /= k;
  }
  if (total > 0) {
    const double t = static_cast<double>(total);
    weighted->precision /= t;
    weighted->recall /= t;
    weighted->f1 /= t;
  } else {
    *weighted = ClassStats{};
  }
  macro->support = weighted->support = support;
}

std::vector<std::string> names_or_numbers(const std::vector<std::string>& names, int k, const char* what) {
  if (names.empty()) {
    std::vector<std::string> out;
    for (int i = 0; i < k; ++i) out.push_back(std::to_string(i));
    return out;
  }
  LOOM_CHECK(static_cast<int>(names.size()) == k, what, ": ", names.size(), " label names for ", k, " labels");
  return names;
}

// The distinct-threshold curve shared by ROC-AUC and average precision: for each distinct score,
// from the highest down, the cumulative true and false positives (sklearn's _binary_clf_curve).
struct CurvePoint {
  std::int64_t tp, fp;
};
std::vector<CurvePoint> binary_curve(const std::vector<int>& y, const std::vector<double>& s, const char* what) {
  LOOM_CHECK(y.size() == s.size(), what, ": ", y.size(), " labels but ", s.size(), " scores");
  std::vector<std::size_t> order(y.size());
  std::iota(order.begin(), order.end(), 0);
  for (std::size_t i = 0; i < y.size(); ++i) {
    LOOM_CHECK(y[i] == 0 || y[i] == 1, what, ": label ", y[i], " at row ", i, " is not 0 or 1");
    LOOM_CHECK(!std::isnan(s[i]), what, ": score at row ", i, " is NaN");
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s[a] > s[b]; });
  std::vector<CurvePoint> curve;
  std::int64_t tp = 0, fp = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    (y[order[i]] ? tp : fp) += 1;
    // A threshold ends where the next score differs: tied scores enter the curve together.
    if (i + 1 == order.size() || s[order[i + 1]] != s[order[i]]) curve.push_back({tp, fp});
  }
  return curve;
}

void check_matrix(const std::vector<int>& y, std::size_t n_times_k, const char* what, const char* name) {
  LOOM_CHECK(y.size() == n_times_k, what, ": ", name, " has ", y.size(), " values, expected N*K = ", n_times_k);
}

// A number for JSON: NaN (undefined) becomes null.
nlohmann::json number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

nlohmann::json stats_json(const ClassStats& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"f1-score", s.f1}, {"support", s.support}};
}

// Python's len() of a label name: code points, not bytes (the layout aligns on what is shown).
std::size_t display_len(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string pad_left(const std::string& s, std::size_t width) {
  const std::size_t len = display_len(s);
  return len >= width ? s : std::string(width - len, ' ') + s;
}

std::string fixed(double v, int digits, int width) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%*.*f", width, digits, v);
  return buf;
}

// sklearn's classification_report: name column right-aligned to
// max(longest name, len("weighted avg"), digits), then 9-wide columns each after a space.
struct ReportLayout {
  std::size_t width;
  int digits;
  std::string header() const {
    return std::string(width, ' ') + " " + " precision    recall  f1-score   support\n\n";
  }
  std::string row(const std::string& name, const ClassStats& s) const {
    return pad_left(name, width) + " " + " " + fixed(s.precision, digits, 9) + " " + fixed(s.recall, digits, 9) +
           " " + fixed(s.f1, digits, 9) + " " + pad_left(std::to_string(s.support), 9) + "\n";
  }
};

ReportLayout layout_for(const std::vector<std::string>& names, int digits) {
  std::size_t width = std::string("weighted avg").size();
  for (const std::string& n : names) width = std::max(width, display_len(n));
  width = std::max(width, static_cast<std::size_t>(std::max(digits, 0)));
  return {width, digits};
}

std::string score_line(const char* name, double v) {
  char buf[128];
  if (std::isnan(v)) std::snprintf(buf, sizeof buf, "%s: undefined (only one class present)\n", name);
  else std::snprintf(buf, sizeof buf, "%s: %.4f\n", name, v);
  return buf;
}

}  // namespace

// ---- scores ---------------------------------------------------------------------------------------
double roc_auc(const std::vector<int>& y_true01, const std::vector<double>& scores) {
  const std::vector<CurvePoint> curve = binary_curve(y_true01, scores, "roc_auc");
  if (curve.empty()) return kUndefined;
  const std::int64_t pos = curve.back().tp, neg = curve.back().fp;
  if (pos == 0 || neg == 0) return kUndefined;
  // Trapezoids between consecutive thresholds, in units of (1/pos) x (1/neg) halves: the integer
  // sum is exact, so ties contribute exactly half of their rectangle, as in sklearn.
  std::int64_t twice_area = 0;
  CurvePoint prev{0, 0};
  for (const CurvePoint& p : curve) {
    twice_area += (p.fp - prev.fp) * (p.tp + prev.tp);
    prev = p;
  }
  return static_cast<double>(twice_area) / (2.0 * static_cast<double>(pos) * static_cast<double>(neg));
}

double average_precision(const std::vector<int>& y_true01, const std::vector<double>& scores) {
  const std::vector<CurvePoint> curve = binary_curve(y_true01, scores, "average_precision");
  if (curve.empty() || curve.back().tp == 0) return kUndefined;
  const double pos = static_cast<double>(curve.back().tp);
  double ap = 0;
  std::int64_t prev_tp = 0;
  for (const CurvePoint& p : curve) {
    // Only thresholds that raise recall contribute; sklearn's "stop at full recall" drops the
    // rest, which add zero anyway.
    if (p.tp != prev_tp)
      ap += (static_cast<double>(p.tp - prev_tp) / pos) * (static_cast<double>(p.tp) / static_cast<double>(p.tp + p.fp));
    prev_tp = p.tp;
  }
  return ap;
}

double roc_auc_ovr_macro(const std::vector<int>& y_true, const std::vector<double>& probs, int num_classes) {
  LOOM_CHECK(num_classes >= 2, "roc_auc_ovr_macro: num_classes ", num_classes, " < 2");
  const std::size_t n = y_true.size(), k = static_cast<std::size_t>(num_classes);
  LOOM_CHECK(probs.size() == n * k, "roc_auc_ovr_macro: ", probs.size(), " scores for ", n, " rows x ", k, " classes");
  double sum = 0;
  std::vector<int> is_c(n);
  std::vector<double> col(n);
  for (std::size_t c = 0; c < k; ++c) {
    for (std::size_t i = 0; i < n; ++i) {
      LOOM_CHECK(y_true[i] >= 0 && y_true[i] < num_classes, "roc_auc_ovr_macro: class ", y_true[i], " at row ", i,
                 " outside [0, ", num_classes, ")");
      is_c[i] = y_true[i] == static_cast<int>(c);
      col[i] = probs[i * k + c];
    }
    const double auc = roc_auc(is_c, col);
    if (std::isnan(auc)) return kUndefined;
    sum += auc;
  }
  return sum / static_cast<double>(k);
}

// ---- single-label report ----------------------------------------------------------------------------
ClassificationReport classification_report(const std::vector<int>& y_true, const std::vector<int>& y_pred,
                                           int num_classes, const std::vector<std::string>& label_names,
                                           const std::vector<double>& scores) {
  LOOM_CHECK(num_classes >= 1, "classification_report: num_classes ", num_classes, " < 1");
  LOOM_CHECK(y_true.size() == y_pred.size(), "classification_report: ", y_true.size(), " true labels but ",
             y_pred.size(), " predictions");
  LOOM_CHECK(!y_true.empty(), "classification_report: no examples");
  ClassificationReport r;
  const std::size_t k = static_cast<std::size_t>(num_classes);
  r.label_names = names_or_numbers(label_names, num_classes, "classification_report");
  r.confusion.assign(k, std::vector<std::int64_t>(k, 0));
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    LOOM_CHECK(y_true[i] >= 0 && y_true[i] < num_classes && y_pred[i] >= 0 && y_pred[i] < num_classes,
               "classification_report: row ", i, " has true class ", y_true[i], " and prediction ", y_pred[i],
               ", outside [0, ", num_classes, ")");
    ++r.confusion[static_cast<std::size_t>(y_true[i])][static_cast<std::size_t>(y_pred[i])];
  }
  std::int64_t correct = 0, predicted_total = 0;
  for (std::size_t c = 0; c < k; ++c) {
    std::int64_t predicted = 0, actual = 0;
    for (std::size_t j = 0; j < k; ++j) {
      predicted += r.confusion[j][c];
      actual += r.confusion[c][j];
    }
    correct += r.confusion[c][c];
    predicted_total += predicted;
    r.per_class.push_back(stats_from_counts(r.confusion[c][c], predicted, actual));
  }
  const auto n = static_cast<std::int64_t>(y_true.size());
  r.accuracy = ratio(correct, n);
  // With every class listed, micro precision = recall = F1 = accuracy (each example is one
  // prediction and one truth); computed from the sums anyway, as sklearn does.
  r.micro = stats_from_counts(correct, predicted_total, n);
  r.micro.support = n;
  averages(r.per_class, n, &r.macro, &r.weighted);
  if (!scores.empty()) {
    if (num_classes == 2 && scores.size() == y_true.size()) {
      r.roc_auc = roc_auc(y_true, scores);
      r.average_precision = average_precision(y_true, scores);
    } else if (num_classes == 2 && scores.size() == 2 * y_true.size()) {
      std::vector<double> pos(y_true.size());
      for (std::size_t i = 0; i < pos.size(); ++i) pos[i] = scores[2 * i + 1];
      r.roc_auc = roc_auc(y_true, pos);
      r.average_precision = average_precision(y_true, pos);
    } else {
      r.roc_auc = roc_auc_ovr_macro(y_true, scores, num_classes);
    }
  }
  return r;
}

// ---- multi-label report -------------------------------------------------------------------------------
MultilabelReport multilabel_report(const std::vector<int>& y_true, const std::vector<int>& y_pred, int num_labels,
                                   const std::vector<std::string>& label_names, const std::vector<double>& scores) {
  LOOM_CHECK(num_labels >= 1, "multilabel_report: num_labels ", num_labels, " < 1");
  const std::size_t k = static_cast<std::size_t>(num_labels);
  LOOM_CHECK(!y_true.empty() && y_true.size() % k == 0, "multilabel_report: ", y_true.size(),
             " true values is not a positive multiple of K = ", k);
  const std::size_t n = y_true.size() / k;
  check_matrix(y_pred, n * k, "multilabel_report", "Y_pred");
  for (std::size_t i = 0; i < n * k; ++i)
    LOOM_CHECK((y_true[i] == 0 || y_true[i] == 1) && (y_pred[i] == 0 || y_pred[i] == 1), "multilabel_report: row ",
               i / k, " label ", i % k, " is not 0/1 (true ", y_true[i], ", predicted ", y_pred[i], ")");
  MultilabelReport r;
  r.label_names = names_or_numbers(label_names, num_labels, "multilabel_report");
  std::vector<std::int64_t> tp(k, 0), predicted(k, 0), actual(k, 0);
  std::int64_t exact = 0, mismatches = 0;
  double jaccard = 0;
  ClassStats samples;
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t row_tp = 0, row_pred = 0, row_true = 0;
    bool same = true;
    for (std::size_t j = 0; j < k; ++j) {
      const int t = y_true[i * k + j], p = y_pred[i * k + j];
      tp[j] += t & p;
      predicted[j] += p;
      actual[j] += t;
      row_tp += t & p;
      row_pred += p;
      row_true += t;
      if (t != p) {
        same = false;
        ++mismatches;
      }
    }
    exact += same;
    // |T and P| / |T or P|; a row with neither true nor predicted labels scores 0 (sklearn's
    // zero_division default in 1.2), not 1.
    jaccard += ratio(row_tp, row_true + row_pred - row_tp);
    const ClassStats s = stats_from_counts(row_tp, row_pred, row_true);
    samples.precision += s.precision;
    samples.recall += s.recall;
    samples.f1 += s.f1;
  }
  const double dn = static_cast<double>(n);
  r.subset_accuracy = static_cast<double>(exact) / dn;
  r.hamming_loss = static_cast<double>(mismatches) / (dn * static_cast<double>(k));
  r.jaccard_samples = jaccard / dn;
  std::int64_t tp_sum = 0, pred_sum = 0, true_sum = 0;
  for (std::size_t j = 0; j < k; ++j) {
    r.per_label.push_back(stats_from_counts(tp[j], predicted[j], actual[j]));
    tp_sum += tp[j];
    pred_sum += predicted[j];
    true_sum += actual[j];
  }
  r.micro = stats_from_counts(tp_sum, pred_sum, true_sum);
  averages(r.per_label, true_sum, &r.macro, &r.weighted);
  r.samples = ClassStats{samples.precision / dn, samples.recall / dn, samples.f1 / dn, true_sum};
  if (!scores.empty()) {
    LOOM_CHECK(scores.size() == n * k, "multilabel_report: ", scores.size(), " scores, expected N*K = ", n * k);
    double auc_sum = 0, ap_sum = 0;
    std::vector<int> t(n);
    std::vector<double> s(n);
    for (std::size_t j = 0; j < k; ++j) {
      for (std::size_t i = 0; i < n; ++i) {
        t[i] = y_true[i * k + j];
        s[i] = scores[i * k + j];
      }
      r.roc_auc_per_label.push_back(roc_auc(t, s));
      auc_sum += r.roc_auc_per_label.back();
      ap_sum += average_precision(t, s);  // NaN propagates: undefined for a label => undefined macro
    }
    r.roc_auc_macro = auc_sum / static_cast<double>(k);
    r.average_precision_macro = ap_sum / static_cast<double>(k);
    r.roc_auc_micro = roc_auc(y_true, scores);
  }
  return r;
}

// ---- output -----------------------------------------------------------------------------------------
std::string format_report(const ClassificationReport& r, int digits) {
  const ReportLayout layout = layout_for(r.label_names, digits);
  std::string out = layout.header();
  for (std::size_t c = 0; c < r.per_class.size(); ++c) out += layout.row(r.label_names[c], r.per_class[c]);
  out += "\n";
  // sklearn prints an "accuracy" line only when the listed labels are exactly those present in
  // y_true or y_pred; with a label absent from both it prints "micro avg" instead.
  bool every_label_present = true;
  for (std::size_t c = 0; c < r.confusion.size(); ++c) {
    std::int64_t seen = 0;
    for (std::size_t j = 0; j < r.confusion.size(); ++j) seen += r.confusion[c][j] + r.confusion[j][c];
    every_label_present &= seen > 0;
  }
  if (every_label_present)
    out += pad_left("accuracy", layout.width) + " " + std::string(2 * 10, ' ') + " " + fixed(r.accuracy, digits, 9) +
           " " + pad_left(std::to_string(r.micro.support), 9) + "\n";
  else
    out += layout.row("micro avg", r.micro);
  out += layout.row("macro avg", r.macro);
  out += layout.row("weighted avg", r.weighted);
  const bool has_scores = !std::isnan(r.roc_auc) || !std::isnan(r.average_precision);
  if (has_scores) {
    out += "\n" + score_line("ROC-AUC", r.roc_auc);
    if (r.per_class.size() == 2) out += score_line("PR-AUC (average precision)", r.average_precision);
  }
  // The confusion matrix: each column as wide as its label or its largest count, so it stays
  // readable with long label names and large test sets.
  out += "\nconfusion matrix (rows: true label, columns: predicted label)\n";
  std::size_t name_w = 0;
  for (const std::string& n : r.label_names) name_w = std::max(name_w, display_len(n));
  std::vector<std::size_t> col_w(r.label_names.size());
  for (std::size_t c = 0; c < col_w.size(); ++c) {
    col_w[c] = display_len(r.label_names[c]);
    for (const auto& row : r.confusion) col_w[c] = std::max(col_w[c], std::to_string(row[c]).size());
  }
  out += std::string(name_w, ' ');
  for (std::size_t c = 0; c < col_w.size(); ++c) out += "  " + pad_left(r.label_names[c], col_w[c]);
  out += "\n";
  for (std::size_t t = 0; t < r.confusion.size(); ++t) {
    out += pad_left(r.label_names[t], name_w);
    for (std::size_t c = 0; c < col_w.size(); ++c) out += "  " + pad_left(std::to_string(r.confusion[t][c]), col_w[c]);
    out += "\n";
  }
  return out;
}

std::string format_report(const MultilabelReport& r, int digits) {
  const ReportLayout layout = layout_for(r.label_names, digits);
  std::string out = layout.header();
  for (std::size_t j = 0; j < r.per_label.size(); ++j) out += layout.row(r.label_names[j], r.per_label[j]);
  out += "\n";
  out += layout.row("micro avg", r.micro);
  out += layout.row("macro avg", r.macro);
  out += layout.row("weighted avg", r.weighted);
  out += layout.row("samples avg", r.samples);
  char buf[256];
  std::snprintf(buf, sizeof buf, "\nsubset accuracy: %.4f\nHamming loss: %.4f\nJaccard (samples): %.4f\n",
                r.subset_accuracy, r.hamming_loss, r.jaccard_samples);
  out += buf;
  if (!r.roc_auc_per_label.empty()) {
    out += score_line("ROC-AUC (macro)", r.roc_auc_macro);
    out += score_line("ROC-AUC (micro)", r.roc_auc_micro);
    out += score_line("PR-AUC (macro average precision)", r.average_precision_macro);
  }
  return out;
}

nlohmann::json to_json(const ClassificationReport& r) {
  nlohmann::json j;
  j["labels"] = r.label_names;
  nlohmann::json per = nlohmann::json::object();
  for (std::size_t c = 0; c < r.per_class.size(); ++c) per[r.label_names[c]] = stats_json(r.per_class[c]);
  j["per_class"] = per;
  j["accuracy"] = r.accuracy;
  j["micro avg"] = stats_json(r.micro);
  j["macro avg"] = stats_json(r.macro);
  j["weighted avg"] = stats_json(r.weighted);
  j["confusion_matrix"] = r.confusion;
  j["roc_auc"] = number(r.roc_auc);
  j["average_precision"] = number(r.average_precision);
  return j;
}

nlohmann::json to_json(const MultilabelReport& r) {
  nlohmann::json j;
  j["labels"] = r.label_names;
  nlohmann::json per = nlohmann::json::object();
  for (std::size_t c = 0; c < r.per_label.size(); ++c) {
    per[r.label_names[c]] = stats_json(r.per_label[c]);
    if (!r.roc_auc_per_label.empty()) per[r.label_names[c]]["roc_auc"] = number(r.roc_auc_per_label[c]);
  }
  j["per_label"] = per;
  j["micro avg"] = stats_json(r.micro);
  j["macro avg"] = stats_json(r.macro);
  j["weighted avg"] = stats_json(r.weighted);
  j["samples avg"] = stats_json(r.samples);
  j["subset_accuracy"] = r.subset_accuracy;
  j["hamming_loss"] = r.hamming_loss;
  j["jaccard_samples"] = r.jaccard_samples;
  j["roc_auc_macro"] = number(r.roc_auc_macro);
  j["roc_auc_micro"] = number(r.roc_auc_micro);
  j["average_precision_macro"] = number(r.average_precision_macro);
  return j;
}

}  // namespace loom::metrics
