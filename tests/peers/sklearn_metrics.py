"""tests/peers/sklearn_metrics.py IN OUT: scikit-learn's metrics on the cases loom computed.

Input JSON: {"cases": [...]}, each case either
  {"kind": "single", "K", "names", "digits", "y_true", "y_pred", "scores" (optional: N scores of
   class 1 when K == 2, else N rows of K probabilities)}
  {"kind": "multilabel", "K", "names", "digits", "Y_true", "Y_pred", "scores"} (N rows of K)
Output JSON: {"results": [...]} with, per case, every number loom reports (zero_division=0,
labels=range(K)) and classification_report's text. Exit status 3 without scikit-learn.
"""
import json
import sys
import warnings

try:
    import numpy as np
    from sklearn import metrics as m
except ImportError as e:
    print(f"python3-sklearn: {e}", file=sys.stderr)
    sys.exit(3)


def prf(y_true, y_pred, **kw):
    p, r, f, s = m.precision_recall_fscore_support(y_true, y_pred, zero_division=0, **kw)
    if kw.get("average"):
        return {"precision": float(p), "recall": float(r), "f1": float(f)}
    return {"precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist()}


def single(c):
    labels = list(range(c["K"]))
    yt, yp = np.array(c["y_true"]), np.array(c["y_pred"])
    out = {"per_class": prf(yt, yp, labels=labels, average=None),
           "accuracy": m.accuracy_score(yt, yp),
           "confusion": m.confusion_matrix(yt, yp, labels=labels).tolist(),
           "text": m.classification_report(yt, yp, labels=labels, target_names=c["names"],
                                           digits=c["digits"], zero_division=0)}
    for avg in ("micro", "macro", "weighted"):
        out[avg] = prf(yt, yp, labels=labels, average=avg)
    if c.get("scores"):
        s = np.array(c["scores"])
        if c["K"] == 2:
            out["roc_auc"] = m.roc_auc_score(yt, s)
            out["average_precision"] = m.average_precision_score(yt, s)
        else:
            out["roc_auc"] = m.roc_auc_score(yt, s, multi_class="ovr", average="macro", labels=labels)
    return out


def multilabel(c):
    yt, yp = np.array(c["Y_true"]), np.array(c["Y_pred"])
    out = {"per_label": prf(yt, yp, average=None),
           "subset_accuracy": m.accuracy_score(yt, yp),
           "hamming_loss": m.hamming_loss(yt, yp),
           "jaccard_samples": m.jaccard_score(yt, yp, average="samples", zero_division=0),
           "text": m.classification_report(yt, yp, target_names=c["names"], digits=c["digits"],
                                           zero_division=0)}
    for avg in ("micro", "macro", "weighted", "samples"):
        out[avg] = prf(yt, yp, average=avg)
    if c.get("scores"):
        s = np.array(c["scores"])
        out["roc_auc_macro"] = m.roc_auc_score(yt, s, average="macro")
        out["roc_auc_micro"] = m.roc_auc_score(yt, s, average="micro")
        out["average_precision_macro"] = m.average_precision_score(yt, s, average="macro")
    return out


def main(src, dst):
    warnings.simplefilter("ignore")
    cases = json.load(open(src))["cases"]
    results = [single(c) if c["kind"] == "single" else multilabel(c) for c in cases]
    json.dump({"results": results}, open(dst, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
