#!/usr/bin/env python3
"""bench/kaggle_ceiling.py: how far can a metadata MLP go on kaggle_twitter_bots, and does the tweet add?

Issue 14's kaggle target asks loom's hybrid to reach a scikit-learn RandomForest's ROC-AUC on the
same account features and folds. loom's meta-mlp stays ~0.005 below it (bench/results/*-bots.md).
This probe separates "loom is weaker than it should be" from "an MLP of this kind is weaker here":
on the folds of a `loom train --cv` run (RUN/fold-K/features.csv: key,label,split,<features>), it
scores, each fitted on the fold's training rows and scored on its test rows:

  rf, extra-trees, hist-gb   scikit-learn tree ensembles on the raw features (train+val rows)
  mlp-1, mlp-5               a PyTorch replica of loom's meta-mlp recipe (standardize, piecewise-
                             linear encoding with M quantile bins, Linear(., 128) -> ReLU -> dropout
                             0.5 -> Linear(., 2); AdamW lr 3e-3, batch 32, grad-norm clip 1, early
                             stopping on the val rows' loss, patience 10): one seed, and the mean
                             probability of 5 seeds (a seed ensemble)
  mlp-5-deep                the same ensemble with two hidden layers
  rf+text                    rf with one more feature: the out-of-fold probability of a TF-IDF
                             (word 1-2 grams) + logistic regression model of the account's tweet
                             (5-fold inside the training rows; --tweets gives the text)

Run with Debian's interpreter: /usr/bin/python3 bench/kaggle_ceiling.py --run RUN [--tweets CSV]
Prints mean +- sample std (ddof 1) of the test-fold ROC-AUC per model. About 3 minutes on 2 cores.
"""
import argparse
import csv

import numpy as np


def load_fold(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    body = rows[1:]
    keys = [r[0] for r in body]
    y = np.array([int(r[1]) for r in body])
    split = np.array([r[2] for r in body])
    X = np.array([[float(v) for v in r[3:]] for r in body])
    return keys, X, y, split


def ple_edges(Z, bins):
    """Quantile edges 0, 1/m, ..., 1 of each standardized training column (nearest order statistic,
    equal edges merged), as models/meta_mlp.h fits them."""
    return [np.unique(np.quantile(Z[:, j], np.linspace(0, 1, bins + 1), method="nearest")) for j in range(Z.shape[1])]


def ple_encode(Z, edges, bins):
    out = np.zeros((Z.shape[0], Z.shape[1] * bins), np.float32)
    for j, e in enumerate(edges):
        used = len(e) - 1
        for b in range(used):
            v = (Z[:, j] - e[b]) / (e[b + 1] - e[b])
            if b > 0:
                v = np.maximum(v, 0)  # the first bin extrapolates below, the last above
            if b < used - 1:
                v = np.minimum(v, 1)
            out[:, j * bins + b] = v
    return out


def train_mlp(X, y, Xv, yv, seed, depth):
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    layers, width = [], X.shape[1]
    for _ in range(depth):
        layers += [nn.Linear(width, 128), nn.ReLU(), nn.Dropout(0.5)]
        width = 128
    net = nn.Sequential(*layers, nn.Linear(width, 2))
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.0)
    Xt, yt, Xvt, yvt = map(torch.tensor, (X, y, Xv, yv))
    best, bad, best_state = float("inf"), 0, None
    for _ in range(200):
        net.train()
        order = rng.permutation(len(X))
        for i in range(0, len(X), 32):
            idx = order[i:i + 32]
            opt.zero_grad()
            nn.functional.cross_entropy(net(Xt[idx]), yt[idx]).backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        net.eval()
        with torch.no_grad():
            val_loss = nn.functional.cross_entropy(net(Xvt), yvt).item()
        if val_loss < best:
            best, bad, best_state = val_loss, 0, {k: v.clone() for k, v in net.state_dict().items()}
        else:
            bad += 1
            if bad >= 10:
                break
    net.load_state_dict(best_state)
    net.eval()
    return lambda A: torch.softmax(net(torch.tensor(A)), 1)[:, 1].detach().numpy()


def text_feature(keys, texts, y, fit_rows, seed):
    """Out-of-fold P(bot | tweet) for the fit rows (5 inner folds) and a full-fit P for the rest."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    docs = np.array([texts.get(k, "") for k in keys], dtype=object)

    def fit(rows):
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        lr = LogisticRegression(C=4, max_iter=2000).fit(vec.fit_transform(docs[rows]), y[rows])
        return lambda r: lr.predict_proba(vec.transform(docs[r]))[:, 1]

    p = np.zeros(len(keys))
    fit_idx = np.flatnonzero(fit_rows)
    for a, b in StratifiedKFold(5, shuffle=True, random_state=seed).split(fit_idx, y[fit_idx]):
        p[fit_idx[b]] = fit(fit_idx[a])(fit_idx[b])
    rest = np.flatnonzero(~fit_rows)
    p[rest] = fit(fit_idx)(rest)
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a `loom train --cv K` run folder (fold-1 ... fold-K)")
    ap.add_argument("--tweets", help="kaggle tweets.csv (user_id,label,text) for rf+text")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--bins", type=int, default=8)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    import torch
    from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.metrics import roc_auc_score

    torch.set_num_threads(1)
    texts = {}
    if a.tweets:
        with open(a.tweets, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                texts.setdefault(row["user_id"], row["text"])
    scores = {}
    for k in range(1, a.folds + 1):
        keys, X, y, split = load_fold(f"{a.run}/fold-{k}/features.csv")
        fit_rows, tr, va, te = split != "test", split == "train", split == "val", split == "test"

        def score(name, p):
            scores.setdefault(name, []).append(roc_auc_score(y[te], p))

        trees = {"rf": RandomForestClassifier(500, random_state=a.seed, n_jobs=2),
                 "extra-trees": ExtraTreesClassifier(500, random_state=a.seed, n_jobs=2),
                 "hist-gb": HistGradientBoostingClassifier(random_state=a.seed)}
        for name, model in trees.items():
            score(name, model.fit(X[fit_rows], y[fit_rows]).predict_proba(X[te])[:, 1])
        if a.tweets:
            Xt = np.column_stack([X, text_feature(keys, texts, y, fit_rows, a.seed)])
            rf = RandomForestClassifier(500, random_state=a.seed, n_jobs=2).fit(Xt[fit_rows], y[fit_rows])
            score("rf+text", rf.predict_proba(Xt[te])[:, 1])

        mean, std = X[tr].mean(0), X[tr].std(0)
        std[std == 0] = 1
        Z = ((X - mean) / std).astype(np.float32)
        E = ple_encode(Z, ple_edges(Z[tr], a.bins), a.bins)
        for depth, name in ((1, "mlp-5"), (2, "mlp-5-deep")):
            probs = [train_mlp(E[tr], y[tr], E[va], y[va], 100 + s, depth)(E[te]) for s in range(5)]
            if depth == 1:
                score("mlp-1", probs[0])
            score(name, np.mean(probs, 0))
        print(f"fold {k} done", flush=True)
    for name, v in scores.items():
        print(f"{name:12s} ROC-AUC {np.mean(v):.4f} +- {np.std(v, ddof=1):.4f}")


if __name__ == "__main__":
    main()
