// tests/metrics/test_metrics.cc: the metrics against hand-worked cases and against scikit-learn.
//
// The hand-worked cases pin the definitions that are easy to get subtly wrong (zero division,
// ties in scores, empty-vs-empty rows in multi-label Jaccard); the peer test then runs
// python3-sklearn on 24 seeded random cases and requires every number within 1e-9 and the
// classification_report text identical.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/philox.h"
#include "metrics/metrics.h"
#include "tests/support/peer.h"

using namespace loom;
using namespace loom::metrics;

namespace {

void check_close(double got, double want, const std::string& what) {
  INFO(what, ": loom ", got, " vs sklearn ", want);
  CHECK(std::fabs(got - want) <= 1e-9);
}

void check_stats(const ClassStats& s, const nlohmann::json& want, const std::string& what) {
  check_close(s.precision, want["precision"].get<double>(), what + " precision");
  check_close(s.recall, want["recall"].get<double>(), what + " recall");
  check_close(s.f1, want["f1"].get<double>(), what + " f1");
}

void check_per_class(const std::vector<ClassStats>& per, const nlohmann::json& want, const std::string& what) {
  REQUIRE(per.size() == want["precision"].size());
  for (std::size_t c = 0; c < per.size(); ++c) {
    const std::string w = what + " class " + std::to_string(c);
    check_close(per[c].precision, want["precision"][c].get<double>(), w + " precision");
    check_close(per[c].recall, want["recall"][c].get<double>(), w + " recall");
    check_close(per[c].f1, want["f1"][c].get<double>(), w + " f1");
    CHECK(per[c].support == want["support"][c].get<std::int64_t>());
  }
}

// Seeded random numbers for the cases (Philox: the same cases on every machine).
struct Rand {
  std::uint64_t seed, n = 0;
  std::uint32_t word() { return philox_word(seed, n++); }
  int below(int k) { return static_cast<int>((static_cast<std::uint64_t>(word()) * static_cast<std::uint64_t>(k)) >> 32); }
  double uniform() { return static_cast<double>(word()) / 4294967296.0; }
};

}  // namespace

TEST_CASE("metrics: a hand-worked multi-class report and sklearn's text layout") {
  const ClassificationReport r = classification_report({0, 1, 2, 2}, {0, 1, 1, 2}, 3, {"neg", "positive", "x"});
  CHECK(r.accuracy == 0.75);
  CHECK(r.per_class[1].precision == 0.5);
  CHECK(r.per_class[1].recall == 1.0);
  CHECK(r.per_class[2].recall == 0.5);
  CHECK(r.per_class[2].f1 == doctest::Approx(2.0 / 3.0));
  CHECK(r.per_class[2].support == 2);
  CHECK(r.macro.precision == doctest::Approx(2.5 / 3.0));
  CHECK(r.weighted.precision == doctest::Approx(0.875));
  CHECK(r.micro.f1 == doctest::Approx(0.75));  // single-label: micro = accuracy
  CHECK(r.confusion == std::vector<std::vector<std::int64_t>>{{1, 0, 0}, {0, 1, 0}, {0, 1, 1}});
  // What sklearn 1.2.1 prints for the same call (classification_report(..., labels=[0, 1, 2])).
  const std::string sklearn =
      "              precision    recall  f1-score   support\n"
      "\n"
      "         neg       1.00      1.00      1.00         1\n"
      "    positive       0.50      1.00      0.67         1\n"
      "           x       1.00      0.50      0.67         2\n"
      "\n"
      "    accuracy                           0.75         4\n"
      "   macro avg       0.83      0.83      0.78         4\n"
      "weighted avg       0.88      0.75      0.75         4\n";
  const std::string text = format_report(r);
  CHECK(text.substr(0, sklearn.size()) == sklearn);
  // Then the confusion matrix with label names, rows true and columns predicted.
  CHECK(text.find("confusion matrix (rows: true label, columns: predicted label)\n"
                  "          neg  positive  x\n"
                  "     neg    1         0  0\n"
                  "positive    0         1  0\n"
                  "       x    0         1  1\n") != std::string::npos);
}

TEST_CASE("metrics: a class never predicted or never present scores 0, not NaN") {
  const ClassificationReport r = classification_report({0, 0, 1, 1}, {0, 0, 0, 0}, 3);
  CHECK(r.label_names == std::vector<std::string>{"0", "1", "2"});
  CHECK(r.per_class[1].precision == 0.0);  // never predicted: 0/0 -> 0
  CHECK(r.per_class[1].recall == 0.0);
  CHECK(r.per_class[2].support == 0);      // never present either
  CHECK(r.per_class[2].f1 == 0.0);
  CHECK(r.per_class[0].precision == 0.5);
  CHECK(r.macro.recall == doctest::Approx(1.0 / 3.0));
  CHECK(r.weighted.recall == doctest::Approx(0.5));  // class 2 weighs nothing
}

TEST_CASE("metrics: ROC-AUC and average precision with ties, by hand") {
  // sklearn's documented example: roc_auc 0.75, average precision 0.8333...
  CHECK(roc_auc({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}) == doctest::Approx(0.75));
  CHECK(average_precision({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}) == doctest::Approx(0.8333333333333333));
  // A tie between a positive and a negative is one threshold: half credit, not order-dependent.
  CHECK(roc_auc({0, 1}, {0.5, 0.5}) == 0.5);
  CHECK(roc_auc({1, 0}, {0.5, 0.5}) == 0.5);
  CHECK(average_precision({0, 1}, {0.5, 0.5}) == 0.5);
  // Perfect and reversed rankings.
  CHECK(roc_auc({0, 0, 1}, {0.1, 0.2, 0.9}) == 1.0);
  CHECK(roc_auc({0, 0, 1}, {0.9, 0.8, 0.1}) == 0.0);
  CHECK(average_precision({1, 0, 1}, {0.9, 0.8, 0.7}) == doctest::Approx((1.0 + 2.0 / 3.0) / 2.0));
  // One-vs-rest: the mean over classes of each class's binary AUC.
  const std::vector<double> probs{0.8, 0.1, 0.1, 0.2, 0.6, 0.2, 0.3, 0.3, 0.4, 0.5, 0.4, 0.1};
  const double ovr = roc_auc_ovr_macro({0, 1, 2, 1}, probs, 3);
  const double c0 = roc_auc({1, 0, 0, 0}, {0.8, 0.2, 0.3, 0.5});
  const double c1 = roc_auc({0, 1, 0, 1}, {0.1, 0.6, 0.3, 0.4});
  const double c2 = roc_auc({0, 0, 1, 0}, {0.1, 0.2, 0.4, 0.1});
  CHECK(ovr == doctest::Approx((c0 + c1 + c2) / 3.0));
}

TEST_CASE("metrics: undefined scores are NaN, null in JSON and said in the report") {
  CHECK(std::isnan(roc_auc({1, 1, 1}, {0.2, 0.5, 0.9})));
  CHECK(std::isnan(roc_auc({0, 0}, {0.2, 0.5})));
  CHECK(std::isnan(average_precision({0, 0}, {0.2, 0.5})));
  CHECK(average_precision({1, 1}, {0.2, 0.5}) == 1.0);  // all positive: defined, as in sklearn
  CHECK(std::isnan(roc_auc_ovr_macro({0, 0, 1}, {0.5, 0.3, 0.2, 0.5, 0.3, 0.2, 0.1, 0.8, 0.1}, 3)));
  const ClassificationReport r = classification_report({1, 1, 1}, {1, 0, 1}, 2, {"neg", "pos"}, {0.9, 0.2, 0.7});
  CHECK(std::isnan(r.roc_auc));
  CHECK(r.average_precision == 1.0);
  const nlohmann::json j = to_json(r);
  CHECK(j["roc_auc"].is_null());
  CHECK(j["average_precision"] == 1.0);
  CHECK(j.dump().find("NaN") == std::string::npos);
  CHECK(format_report(r).find("ROC-AUC: undefined") != std::string::npos);
  CHECK(j["confusion_matrix"] == nlohmann::json({{0, 0}, {1, 2}}));
  CHECK(j["per_class"]["pos"]["support"] == 3);
}

TEST_CASE("metrics: multi-label by hand, empty rows included") {
  // Rows: exact match; one extra prediction; nothing true and nothing predicted; a miss.
  const std::vector<int> t{1, 0, 1, /**/ 0, 1, 0, /**/ 0, 0, 0, /**/ 1, 1, 0};
  const std::vector<int> p{1, 0, 1, /**/ 1, 1, 0, /**/ 0, 0, 0, /**/ 1, 0, 0};
  const MultilabelReport r = multilabel_report(t, p, 3, {"a", "b", "c"});
  CHECK(r.subset_accuracy == 0.5);
  CHECK(r.hamming_loss == doctest::Approx(2.0 / 12.0));
  // Jaccard per row: 1, 1/2, 0 (empty vs empty counts 0 in sklearn 1.2), 1/2.
  CHECK(r.jaccard_samples == doctest::Approx(0.5));
  CHECK(r.per_label[0].precision == doctest::Approx(2.0 / 3.0));
  CHECK(r.per_label[1].recall == 0.5);
  CHECK(r.per_label[2].precision == 1.0);
  CHECK(r.micro.precision == doctest::Approx(4.0 / 5.0));  // tp 4, predicted 5
  CHECK(r.micro.recall == doctest::Approx(4.0 / 5.0));     // tp 4, true 5
  CHECK(r.macro.f1 == doctest::Approx((0.8 + 2.0 / 3.0 + 1.0) / 3.0));
  CHECK(r.micro.support == 5);
  CHECK(format_report(r).find(" samples avg ") != std::string::npos);
}

TEST_CASE("metrics: malformed input is a loom::Error") {
  CHECK_THROWS_AS(classification_report({0, 1}, {0}, 2), Error);
  CHECK_THROWS_AS(classification_report({0, 3}, {0, 1}, 2), Error);
  CHECK_THROWS_AS(classification_report({}, {}, 2), Error);
  CHECK_THROWS_AS(classification_report({0, 1}, {0, 1}, 2, {"only one name"}), Error);
  CHECK_THROWS_AS(roc_auc({0, 2}, {0.1, 0.2}), Error);
  CHECK_THROWS_AS(roc_auc({0, 1}, {0.1, std::nan("")}), Error);
  CHECK_THROWS_AS(multilabel_report({0, 1, 1}, {0, 1}, 2), Error);
  CHECK_THROWS_AS(multilabel_report({0, 1}, {0, 2}, 2), Error);
}

TEST_CASE("metrics: agree with scikit-learn on 24 seeded random cases") {
  Rand rng{20240505};
  nlohmann::json cases = nlohmann::json::array();
  struct Ours {
    ClassificationReport single;
    MultilabelReport multi;
  };
  std::vector<Ours> ours;
  for (int c = 0; c < 24; ++c) {
    const int type = c % 4;
    const bool ties = c % 8 < 4;  // half the cases quantize scores so that many are equal
    const int digits = c % 3 == 0 ? 4 : 2;
    nlohmann::json cs;
    cs["digits"] = digits;
    Ours o;
    if (type == 3) {  // multi-label
      const int k = 2 + rng.below(4), n = 20 + rng.below(80);
      std::vector<int> t(static_cast<std::size_t>(n * k)), p(t.size());
      std::vector<double> s(t.size());
      for (std::size_t i = 0; i < t.size(); ++i) {
        // Each label present and absent at least once (rows 0 and 1), so every AUC is defined.
        const std::size_t row = i / static_cast<std::size_t>(k);
        t[i] = row == 0 ? 1 : row == 1 ? 0 : rng.uniform() < 0.3;
        double score = 0.35 * t[i] + 0.65 * rng.uniform();
        if (ties) score = std::round(score * 10) / 10;
        s[i] = score;
        p[i] = score >= 0.5;
      }
      std::vector<std::string> names;
      for (int j = 0; j < k; ++j) names.push_back(j == 1 ? "optimism" : "label_" + std::to_string(j));
      o.multi = multilabel_report(t, p, k, names, s);
      cs["kind"] = "multilabel";
      cs["K"] = k;
      cs["names"] = names;
      nlohmann::json yt, yp, ys;
      for (int i = 0; i < n; ++i) {
        const auto b = t.begin() + i * k;
        yt.push_back(std::vector<int>(b, b + k));
        yp.push_back(std::vector<int>(p.begin() + i * k, p.begin() + (i + 1) * k));
        ys.push_back(std::vector<double>(s.begin() + i * k, s.begin() + (i + 1) * k));
      }
      cs["Y_true"] = yt;
      cs["Y_pred"] = yp;
      cs["scores"] = ys;
    } else {
      const int k = type == 0 ? 2 : 3 + rng.below(3), n = 20 + rng.below(130);
      std::vector<int> t(static_cast<std::size_t>(n)), p(t.size());
      std::vector<double> s;
      std::vector<std::string> names;
      for (int j = 0; j < k; ++j) names.push_back(type == 0 ? (j ? "positive" : "negative") : "class_" + std::to_string(j));
      if (c == 5) names[0] = "a_rather_long_label_name";  // wider than "weighted avg"
      for (int i = 0; i < n; ++i) {
        // type 1: every class in y_true, class k-1 never predicted; type 2: class k-1 nowhere.
        t[static_cast<std::size_t>(i)] = type == 2 ? rng.below(k - 1) : (i < k ? i : rng.below(k));
        const bool right = rng.uniform() < 0.6;
        int pred = right ? t[static_cast<std::size_t>(i)] : rng.below(k);
        if (type != 0 && pred == k - 1) pred = 0;
        p[static_cast<std::size_t>(i)] = pred;
      }
      if (type == 0) {
        t[0] = 0;
        t[1] = 1;
        for (int i = 0; i < n; ++i) {
          double score = 0.3 * t[static_cast<std::size_t>(i)] + 0.7 * rng.uniform();
          if (ties) score = std::round(score * 10) / 10;
          s.push_back(score);
          p[static_cast<std::size_t>(i)] = c % 8 == 0 ? p[static_cast<std::size_t>(i)] : score >= 0.5;
        }
      } else if (type == 1) {
        // Probabilities from small integer weights: rows sum to 1 and scores tie often.
        for (int i = 0; i < n; ++i) {
          std::vector<int> w(static_cast<std::size_t>(k));
          int sum = 0;
          for (int j = 0; j < k; ++j) sum += w[static_cast<std::size_t>(j)] = 1 + rng.below(ties ? 3 : 50) +
                                                                           (j == t[static_cast<std::size_t>(i)] ? 2 : 0);
          for (int j = 0; j < k; ++j) s.push_back(static_cast<double>(w[static_cast<std::size_t>(j)]) / sum);
        }
      }
      o.single = classification_report(t, p, k, names, s);
      cs["kind"] = "single";
      cs["K"] = k;
      cs["names"] = names;
      cs["y_true"] = t;
      cs["y_pred"] = p;
      if (type == 1) {
        nlohmann::json rows;
        for (int i = 0; i < n; ++i) rows.push_back(std::vector<double>(s.begin() + i * k, s.begin() + (i + 1) * k));
        cs["scores"] = rows;
      } else if (!s.empty()) {
        cs["scores"] = s;
      }
    }
    cases.push_back(cs);
    ours.push_back(o);
  }
  const test::PeerAnswer answer = test::run_peer("sklearn_metrics.py", {{"cases", cases}});
  if (!test::peer_available(answer, "sklearn")) return;
  const nlohmann::json& results = answer.out["results"];
  REQUIRE(results.size() == cases.size());
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const nlohmann::json& want = results[c];
    const int digits = cases[c]["digits"];
    const std::string what = "case " + std::to_string(c);
    INFO(what, " (", cases[c]["kind"].get<std::string>(), ")");
    if (cases[c]["kind"] == "single") {
      const ClassificationReport& r = ours[c].single;
      check_per_class(r.per_class, want["per_class"], what);
      check_close(r.accuracy, want["accuracy"].get<double>(), what + " accuracy");
      check_stats(r.micro, want["micro"], what + " micro");
      check_stats(r.macro, want["macro"], what + " macro");
      check_stats(r.weighted, want["weighted"], what + " weighted");
      CHECK(nlohmann::json(r.confusion) == want["confusion"]);
      if (want.contains("roc_auc")) check_close(r.roc_auc, want["roc_auc"].get<double>(), what + " roc_auc");
      else CHECK(std::isnan(r.roc_auc));
      if (want.contains("average_precision"))
        check_close(r.average_precision, want["average_precision"].get<double>(), what + " average precision");
      const std::string text = want["text"], mine = format_report(r, digits);
      CHECK(mine.substr(0, text.size()) == text);
    } else {
      const MultilabelReport& r = ours[c].multi;
      check_per_class(r.per_label, want["per_label"], what);
      check_stats(r.micro, want["micro"], what + " micro");
      check_stats(r.macro, want["macro"], what + " macro");
      check_stats(r.weighted, want["weighted"], what + " weighted");
      check_stats(r.samples, want["samples"], what + " samples");
      check_close(r.subset_accuracy, want["subset_accuracy"].get<double>(), what + " subset accuracy");
      check_close(r.hamming_loss, want["hamming_loss"].get<double>(), what + " hamming");
      check_close(r.jaccard_samples, want["jaccard_samples"].get<double>(), what + " jaccard");
      check_close(r.roc_auc_macro, want["roc_auc_macro"].get<double>(), what + " roc_auc macro");
      check_close(r.roc_auc_micro, want["roc_auc_micro"].get<double>(), what + " roc_auc micro");
      check_close(r.average_precision_macro, want["average_precision_macro"].get<double>(), what + " AP macro");
      const std::string text = want["text"], mine = format_report(r, digits);
      CHECK(mine.substr(0, text.size()) == text);
    }
  }
}
