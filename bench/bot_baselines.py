#!/usr/bin/env python3
"""bench/bot_baselines.py: the scikit-learn reference points of the bot-detection targets (issue 14).

Run with Debian's interpreter (/usr/bin/python3: scikit-learn 1.2, NLTK). Each subcommand reads the
files a `loom train` run wrote, so the baseline sees the same rows and the same split as loom:

  rf --run RUN
      kaggle_twitter_bots metadata baseline. For every RUN/fold-K/features.csv (a `loom train --cv`
      run; a plain run's RUN/features.csv counts as one fold) with header key,label,split,<features>:
      RandomForestClassifier(n_estimators=500, random_state=SEED, n_jobs=2) and, as the linear
      reference, LogisticRegression on standardized features, both fitted on the train+val rows
      and scored on the test rows: ROC-AUC, accuracy, F1, PR-AUC (and precision, recall) per fold,
      then mean +- sample std (ddof 1) over the folds. The features are loom's raw vector (engineered
      features included, before loom's scaler): a forest does not care about scale, and the
      logistic regression gets its own scaler fitted on the training rows.
  tfidf-tweets --input tweets.csv --splits RUN/splits.csv
      pan2019_bots_en single-tweet baseline: TF-IDF of word uni+bigrams (sublinear tf, min_df 2,
      tokens from NLTK's TweetTokenizer(preserve_case=False), the rules loom's tweet tokenizer
      follows) + LogisticRegression(C=4, max_iter=2000) trained on every tweet of the train+val
      users of splits.csv (key,split; one row per user); tweet-level metrics on the test users'
      tweets, and user-level metrics of the mean of each test user's tweet probabilities.
  tfidf-users --input tweets.csv --splits RUN/splits.csv
      one document per user (its tweets joined by newlines): TF-IDF word (1-2, TweetTokenizer) and
      char_wb (2-5) features side by side + LogisticRegression, its C chosen among 1, 4, 16, 64, 256
      by accuracy on the validation users of splits.csv (fitted on the train users), then refitted
      on train+val; user-level metrics on the test users.
  table --steps STEPS.tsv --md OUT.md
      the Markdown table of bench/run_bots.sh: reads each step's loom run folder or baseline JSON.

Every subcommand prints a small table and, with --out FILE, writes its numbers as JSON. Labels must
be binary; the positive class (the one whose probability is scored) is the larger label, numerically
when both labels are numbers (kaggle and pan2019: 1 = bot), the order loom uses for "0"/"1".
Bad input (a missing column, a non-numeric feature, an unknown split, a user missing from
splits.csv) stops with a message naming the file, the line and the field.
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import statistics
import sys
import time

import numpy as np

# Tweets keep newlines inside quoted fields (RFC 4180); a long description must not trip csv's
# default 128 KiB field limit.
csv.field_size_limit(1 << 30)

METRICS = ("roc_auc", "accuracy", "f1", "pr_auc", "precision", "recall")


class InputError(Exception):
    pass


# ---------------------------------------------------------------- reading the files loom wrote


def read_csv(path, required):
    """Yields (line number, row dict); InputError naming the file when a required column is absent.
    The line number is the physical line the record starts on (quoted newlines counted)."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    f = open(path, newline="", encoding="utf-8")
    reader = csv.reader(f)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}:1: empty file (a header is required)")
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{path}:1: missing column(s) {', '.join(repr(c) for c in missing)} (header: {','.join(header)})")
    index = {c: i for i, c in enumerate(header)}

    def rows():
        start = reader.line_num + 1
        for fields in reader:
            if len(fields) != len(header):
                raise InputError(f"{path}:{start}: {len(fields)} fields, the header has {len(header)}")
            yield start, fields
            start = reader.line_num + 1
        f.close()

    return header, index, rows()


def label_order(labels, where):
    """The two labels, negative first (numeric order when both are numbers)."""
    names = sorted(set(labels))
    if len(names) != 2:
        raise InputError(f"{where}: binary labels expected, found {len(names)}: {names[:5]}")
    try:
        names.sort(key=float)
    except ValueError:
        pass
    return names


def read_features(path):
    """features.csv: key,label,split,<features...> -> dict of numpy arrays and the feature names."""
    header, index, rows = read_csv(path, ("key", "label", "split"))
    names = [c for c in header if c not in ("key", "label", "split")]
    if not names:
        raise InputError(f"{path}:1: no feature columns after key,label,split")
    cols = [index[c] for c in names]
    keys, labels, splits, x = [], [], [], []
    for line, fields in rows:
        split = fields[index["split"]]
        if split not in ("train", "val", "test"):
            raise InputError(f"{path}:{line}: field 'split': '{split}' is not train, val or test")
        vec = []
        for name, c in zip(names, cols):
            try:
                v = float(fields[c])
            except ValueError:
                raise InputError(f"{path}:{line}: field '{name}': '{fields[c]}' is not a number")
            if not math.isfinite(v):
                raise InputError(f"{path}:{line}: field '{name}': {fields[c]} is not finite")
            vec.append(v)
        keys.append(fields[index["key"]])
        labels.append(fields[index["label"]])
        splits.append(split)
        x.append(vec)
    if not x:
        raise InputError(f"{path}: no rows")
    return {"keys": keys, "labels": labels, "split": np.array(splits), "x": np.array(x, dtype=np.float64)}, names


def read_splits(path):
    """splits.csv: key,split (one row per user) -> {key: split}; a key listed twice is an error."""
    _, index, rows = read_csv(path, ("key", "split"))
    out, first = {}, {}
    for line, fields in rows:
        key, split = fields[index["key"]], fields[index["split"]]
        if split not in ("train", "val", "test"):
            raise InputError(f"{path}:{line}: field 'split': '{split}' is not train, val or test")
        if key in out:
            raise InputError(f"{path}:{line}: field 'key': '{key}' listed twice (first on line {first[key]})")
        out[key], first[key] = split, line
    if not out:
        raise InputError(f"{path}: no rows")
    return out


def read_tweets(path, group_col, text_col, label_col, splits, splits_path):
    """tweets.csv -> per user (in file order): its label, split and tweets. A tweet's user must be in
    splits.csv and all of a user's tweets must carry one label."""
    _, index, rows = read_csv(path, (group_col, text_col, label_col))
    users = {}
    for line, fields in rows:
        key = fields[index[group_col]]
        label = fields[index[label_col]]
        if key not in splits:
            raise InputError(f"{path}:{line}: field '{group_col}': user '{key}' is not in {splits_path} "
                             "(was the loom run trained on this file?)")
        u = users.get(key)
        if u is None:
            u = users[key] = {"label": label, "split": splits[key], "tweets": []}
        elif u["label"] != label:
            raise InputError(f"{path}:{line}: field '{label_col}': user '{key}' has label '{label}' here "
                             f"and '{u['label']}' on an earlier line")
        u["tweets"].append(fields[index[text_col]])
    if not users:
        raise InputError(f"{path}: no rows")
    absent = [k for k in splits if k not in users]
    if absent:
        print(f"note: {len(absent)} user(s) of {splits_path} have no tweet in {path} (e.g. '{absent[0]}')")
    return users


# ---------------------------------------------------------------- metrics and printing


def binary_metrics(y, p, threshold=0.5):
    """y: 0/1 truth, p: P(positive). Every metric of METRICS plus the counts."""
    from sklearn.metrics import (accuracy_score, average_precision_score, f1_score, precision_score,
                                 recall_score, roc_auc_score)
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    pred = (p >= threshold).astype(np.int64)
    both = len(set(y.tolist())) == 2  # ROC-AUC / PR-AUC need both classes among the scored rows
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "accuracy": float(accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "n": int(len(y)),
        "positives": int(y.sum()),
    }


def mean_std(folds):
    """Mean and sample std (ddof 1, as loom's --cv summary) of each metric over the folds."""
    mean, std = {}, {}
    for m in METRICS:
        vals = [f[m] for f in folds if not math.isnan(f[m])]
        mean[m] = statistics.fmean(vals) if vals else float("nan")
        std[m] = statistics.stdev(vals) if len(vals) > 1 else float("nan")
    return mean, std


def print_table(title, rows):
    """rows: (name, metrics dict[, std dict])."""
    print(f"\n{title}")
    print(f"{'':<24}" + "".join(f"{m:>18}" for m in METRICS))
    for row in rows:
        name, vals = row[0], row[1]
        std = row[2] if len(row) > 2 else None
        cells = []
        for m in METRICS:
            cell = f"{vals[m]:.4f}" + (f" +- {std[m]:.4f}" if std is not None else "")
            cells.append(f"{cell:>18}")
        print(f"{name:<24}" + "".join(cells))


def write_json(path, obj):
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"\nwrote {path}")


# ---------------------------------------------------------------- rf


def fold_dirs(run):
    """RUN/fold-K folders in K order; a run without folds is one fold (RUN itself)."""
    folds = glob.glob(os.path.join(run, "fold-*", "features.csv"))
    if folds:
        def number(p):
            m = re.search(r"fold-(\d+)", p)
            return int(m.group(1)) if m else 0
        return sorted((os.path.dirname(p) for p in folds), key=number)
    if os.path.isfile(os.path.join(run, "features.csv")):
        return [run]
    raise InputError(f"{run}: neither {run}/fold-*/features.csv nor {run}/features.csv exists "
                     "(was the run trained with --accounts/--meta-cols?)")


def cmd_rf(a):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    results = {"random_forest": [], "logistic_regression": []}
    names0, order = None, None
    for d in fold_dirs(a.run):
        path = os.path.join(d, "features.csv")
        data, names = read_features(path)
        if names0 is None:
            names0 = names
            order = label_order(data["labels"], path)
            print(f"{len(names)} features: {', '.join(names)}")
            print(f"positive label: '{order[1]}'")
        elif names != names0:
            raise InputError(f"{path}:1: feature columns differ from the first fold's")
        unknown = sorted(set(data["labels"]) - set(order))
        if unknown:
            raise InputError(f"{path}: label '{unknown[0]}' is not one of {order}")
        y = np.array([order.index(v) for v in data["labels"]], dtype=np.int64)
        train = data["split"] != "test"  # train + val: the baseline has no early stopping to feed
        test = data["split"] == "test"
        if not test.any():
            raise InputError(f"{path}: no test rows")
        if len(set(y[train].tolist())) != 2:
            raise InputError(f"{path}: the train+val rows hold one class only")
        models = {
            "random_forest": RandomForestClassifier(n_estimators=a.trees, random_state=a.seed, n_jobs=a.jobs),
            # lbfgs on standardized features; max_iter high enough that it converges on ~2k rows
            "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(C=a.C, max_iter=5000)),
        }
        for name, model in models.items():
            model.fit(data["x"][train], y[train])
            p = model.predict_proba(data["x"][test])[:, 1]
            m = binary_metrics(y[test], p)
            m["fold"] = os.path.basename(d)
            m["n_train"] = int(train.sum())
            results[name].append(m)
    out = {"subcommand": "rf", "run": a.run, "seed": a.seed, "trees": a.trees, "features": names0,
           "positive_label": order[1], "seconds": time.perf_counter() - t0, "models": {}}
    for name, folds in results.items():
        mean, std = mean_std(folds)
        out["models"][name] = {"folds": folds, "mean": mean, "std": std}
        rows = [(f["fold"], f) for f in folds] + [("mean +- std (ddof 1)", mean, std)]
        print_table(f"{name} ({len(folds)} fold(s), test rows)", rows)
    print(f"\n{out['seconds']:.1f} s")
    write_json(a.out, out)


# ---------------------------------------------------------------- tfidf


def tweet_tokenizer():
    from nltk.tokenize import TweetTokenizer
    return TweetTokenizer(preserve_case=False).tokenize


def load_users(a):
    splits = read_splits(a.splits)
    users = read_tweets(a.input, a.group_col, a.text_col, a.label_col, splits, a.splits)
    order = label_order([u["label"] for u in users.values()], a.input)
    print(f"positive label: '{order[1]}'")
    counts = {s: sum(1 for u in users.values() if u["split"] == s) for s in ("train", "val", "test")}
    tweets = {s: sum(len(u["tweets"]) for u in users.values() if u["split"] == s) for s in ("train", "val", "test")}
    print("users: " + ", ".join(f"{s} {counts[s]:,} ({tweets[s]:,} tweets)" for s in counts))
    if counts["test"] == 0:
        raise InputError(f"{a.splits}: no test users")
    return users, order


def parse_cs(text):
    try:
        cs = [float(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise InputError(f"--C: '{text}' is not a number or a comma-separated list of numbers")
    if not cs or any(c <= 0 for c in cs):
        raise InputError(f"--C: '{text}': positive values expected")
    return cs


def fit_logreg(x, y, is_val, cs, max_iter):
    """LogisticRegression on the train+val rows. With several C values, each is fitted on the train
    rows and scored on the val rows (best accuracy, ROC-AUC breaking ties, then the first C listed),
    and the chosen C is refitted on train+val. The test rows are never seen. Returns (model, C, [(C, val
    metrics)])."""
    from sklearn.linear_model import LogisticRegression
    y = np.asarray(y, dtype=np.int64)
    is_val = np.asarray(is_val, dtype=bool)
    chosen, table = cs[0], []
    if len(cs) > 1:
        if not is_val.any() or len(set(y[is_val].tolist())) != 2:
            raise InputError("--C with several values needs validation users of both labels in splits.csv")
        best = None
        for c in cs:
            m = LogisticRegression(C=c, max_iter=max_iter).fit(x[~is_val], y[~is_val])
            v = binary_metrics(y[is_val], m.predict_proba(x[is_val])[:, 1])
            table.append((c, v))
            print(f"  C {c:g}: val accuracy {v['accuracy']:.4f}, ROC-AUC {v['roc_auc']:.4f}")
            if best is None or (v["accuracy"], v["roc_auc"]) > best:
                best, chosen = (v["accuracy"], v["roc_auc"]), c
        print(f"  chosen C {chosen:g} (validation users), refitted on train+val")
    return LogisticRegression(C=chosen, max_iter=max_iter).fit(x, y), chosen, table


def first_n(tweets, n):
    """A user's tweets used at user level: the first N in file order (loom's --user-tweet-order first)."""
    return tweets if n <= 0 else tweets[:n]


def cmd_tfidf_tweets(a):
    from sklearn.feature_extraction.text import TfidfVectorizer

    cs = parse_cs(a.C)  # a bad --C fails before minutes of vectorizing
    t0 = time.perf_counter()
    users, order = load_users(a)
    train_x, train_y, train_val, test_x, test_y, test_user = [], [], [], [], [], []
    for key, u in users.items():
        y = order.index(u["label"])
        if u["split"] == "test":
            for t in u["tweets"]:
                test_x.append(t)
                test_y.append(y)
                test_user.append(key)
        else:
            train_x += u["tweets"]
            train_y += [y] * len(u["tweets"])
            train_val += [u["split"] == "val"] * len(u["tweets"])
    vec = TfidfVectorizer(tokenizer=tweet_tokenizer(), lowercase=False, token_pattern=None,
                          ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    xtr = vec.fit_transform(train_x)
    print(f"TF-IDF: {xtr.shape[1]:,} word 1-2-grams from {xtr.shape[0]:,} training tweets "
          f"({time.perf_counter() - t0:.0f} s)")
    clf, C, val_table = fit_logreg(xtr, train_y, train_val, cs, a.max_iter)
    fit_s = time.perf_counter() - t0
    p = clf.predict_proba(vec.transform(test_x))[:, 1]
    tweet = binary_metrics(test_y, p)

    # User level: the mean of the user's tweet probabilities (its first N tweets in file order).
    per_user = {}
    for key, prob in zip(test_user, p):
        per_user.setdefault(key, []).append(float(prob))
    keys = sorted(per_user)
    user_p = [statistics.fmean(first_n(per_user[k], a.user_tweets)) for k in keys]
    user_y = [order.index(users[k]["label"]) for k in keys]
    user = binary_metrics(user_y, user_p)
    out = {"subcommand": "tfidf-tweets", "input": a.input, "splits": a.splits, "C": C, "C_grid": a.C,
           "val_by_C": [{"C": c, **v} for c, v in val_table],
           "user_tweets": a.user_tweets, "vocabulary": int(xtr.shape[1]), "train_tweets": int(xtr.shape[0]),
           "positive_label": order[1], "tweet": tweet, "user": user, "fit_seconds": fit_s,
           "seconds": time.perf_counter() - t0}
    n = "all" if a.user_tweets <= 0 else str(a.user_tweets)
    print_table("TF-IDF + logistic regression, test users", [("tweet level", tweet),
                                                             (f"user: mean of {n} probs", user)])
    print(f"\n{out['seconds']:.1f} s (fit {fit_s:.1f} s)")
    write_json(a.out, out)


def cmd_tfidf_users(a):
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    cs = parse_cs(a.C)  # a bad --C fails before minutes of vectorizing
    t0 = time.perf_counter()
    users, order = load_users(a)
    keys = sorted(users)
    docs = {k: "\n".join(first_n(users[k]["tweets"], a.user_tweets)) for k in keys}
    train = [k for k in keys if users[k]["split"] != "test"]
    test = [k for k in keys if users[k]["split"] == "test"]
    word = TfidfVectorizer(tokenizer=tweet_tokenizer(), lowercase=False, token_pattern=None,
                           ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=True, sublinear_tf=True,
                           min_df=2, max_features=a.char_max_features or None)
    xw = word.fit_transform([docs[k] for k in train])
    xc = char.fit_transform([docs[k] for k in train])
    xtr = sp.hstack([xw, xc]).tocsr()
    print(f"TF-IDF: {xw.shape[1]:,} word 1-2-grams + {xc.shape[1]:,} char 2-5-grams from {len(train):,} "
          f"training users ({time.perf_counter() - t0:.0f} s)")
    ytr = [order.index(users[k]["label"]) for k in train]
    # The vectorizers saw the validation users' text (not their labels) when C is chosen on them:
    # that can only flatter the validation score, never the test users'.
    clf, C, val_table = fit_logreg(xtr, ytr, [users[k]["split"] == "val" for k in train], cs, a.max_iter)
    fit_s = time.perf_counter() - t0
    test_docs = [docs[k] for k in test]
    xte = sp.hstack([word.transform(test_docs), char.transform(test_docs)]).tocsr()
    p = clf.predict_proba(xte)[:, 1]
    user = binary_metrics([order.index(users[k]["label"]) for k in test], p)
    out = {"subcommand": "tfidf-users", "input": a.input, "splits": a.splits, "C": C, "C_grid": a.C,
           "val_by_C": [{"C": c, **v} for c, v in val_table],
           "user_tweets": a.user_tweets, "word_features": int(xw.shape[1]), "char_features": int(xc.shape[1]),
           "positive_label": order[1], "user": user, "fit_seconds": fit_s, "seconds": time.perf_counter() - t0}
    print_table("TF-IDF word+char per user + logistic regression, test users", [("user level", user)])
    print(f"\n{out['seconds']:.1f} s (fit {fit_s:.1f} s)")
    write_json(a.out, out)


# ---------------------------------------------------------------- table (bench/run_bots.sh)


def loom_report(path):
    """report_test.json / report_user_test.json of a loom run -> METRICS (positive class = labels[1])."""
    with open(path, encoding="utf-8") as f:
        j = json.load(f)
    pos = j["per_class"][j["labels"][1]]
    num = lambda v: float("nan") if v is None else float(v)
    return {"roc_auc": num(j.get("roc_auc")), "accuracy": num(j.get("accuracy")), "f1": num(pos["f1-score"]),
            "pr_auc": num(j.get("average_precision")), "precision": num(pos["precision"]),
            "recall": num(pos["recall"])}


def loom_tweets_per_s(run):
    """Median training tweets/s over the epochs of metrics.jsonl (each fold's, for a --cv run)."""
    vals = []
    for path in glob.glob(os.path.join(run, "metrics.jsonl")) + glob.glob(os.path.join(run, "fold-*", "metrics.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if r.get("split") == "train" and r.get("tweets_per_s"):
                    vals.append(r["tweets_per_s"])
    return statistics.median(vals) if vals else None


def log_user_tweets_per_s(log):
    """The user stage's speed, from its log line "user stage: S s, N tweets, R tweets/s (...)"."""
    if not log or not os.path.isfile(log):
        return None
    with open(log, encoding="utf-8", errors="replace") as f:
        hits = re.findall(r"user stage: .*?([0-9][0-9.]*) tweets/s", f.read())
    return float(hits[-1]) if hits else None


def fmt(v, s=None):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4f}" if s is None or math.isnan(s) else f"{v:.4f} ± {s:.4f}"


def table_rows(kind, target, log):
    """(level, metrics, std or None) rows of one step."""
    rows = []
    if kind == "loom-cv":
        # kaggle: one example per account (its latest tweet, or an empty text, + its metadata)
        for level, name in (("examples", "report_test.json"), ("users", "report_user_test.json")):
            files = sorted(glob.glob(os.path.join(target, "fold-*", name)))
            if files:
                mean, std = mean_std([loom_report(p) for p in files])
                rows.append((f"{level}, {len(files)} folds", mean, std))
    elif kind == "loom":
        for level, name in (("tweet", "report_test.json"), ("user", "report_user_test.json")):
            if os.path.isfile(os.path.join(target, name)):
                rows.append((level, loom_report(os.path.join(target, name)), None))
    elif kind == "baseline":
        with open(target, encoding="utf-8") as f:
            j = json.load(f)
        if j["subcommand"] == "rf":
            for name in ("random_forest", "logistic_regression"):
                m = j["models"][name]
                rows.append((f"{name}, {len(m['folds'])} folds", m["mean"], m["std"]))
        for level in ("tweet", "user"):
            if level in j:
                rows.append((level, j[level], None))
    return rows


def cmd_table(a):
    """STEPS.tsv: name, kind (loom-cv | loom | baseline | other), target (run folder or JSON), log,
    wall seconds, command; one line per step, tab-separated, as bench/run_bots.sh writes it."""
    lines = ["| step | level | ROC-AUC | accuracy | F1 | PR-AUC | wall s | train tweets/s | user stage tweets/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    commands = []
    with open(a.steps, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                raise InputError(f"{a.steps}:{n}: 6 tab-separated fields expected, found {len(parts)}")
            name, kind, target, log, seconds, command = parts
            commands.append((name, command, seconds))
            try:
                rows = table_rows(kind, target, log)
            except (OSError, KeyError, ValueError, IndexError) as e:
                rows = []
                print(f"{a.steps}:{n}: step '{name}': no metrics read from {target} ({e})", file=sys.stderr)
            speed = user_speed = None
            if kind.startswith("loom"):
                speed = loom_tweets_per_s(target) if os.path.isdir(target) else None
                user_speed = log_user_tweets_per_s(log)
            speed_s = f"{speed:,.0f}" if speed else "-"
            user_speed_s = f"{user_speed:,.0f}" if user_speed else "-"
            if not rows:
                rows = [("(no metrics: see the log)", None, None)]
            for i, (level, m, std) in enumerate(rows):
                cells = [fmt(m[k], std[k] if std else None) if m else "-" for k in ("roc_auc", "accuracy", "f1", "pr_auc")]
                first = i == 0
                lines.append(f"| {name if first else ''} | {level} | " + " | ".join(cells) +
                             f" | {seconds if first else ''} | {speed_s if first else ''} | {user_speed_s if first else ''} |")
    text = "\n".join(lines) + "\n\nCommands (in order):\n\n" + "\n".join(
        f"- {name} ({seconds} s): `{cmd}`" for name, cmd, seconds in commands) + "\n"
    print(text)
    if a.md:
        with open(a.md, "a", encoding="utf-8") as f:
            f.write(text)
        print(f"appended to {a.md}")


# ---------------------------------------------------------------- command line


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    rf = sub.add_parser("rf", help="RandomForest + logistic regression on a loom run's features.csv (per fold)")
    rf.add_argument("--run", required=True, help="a loom run folder (--cv: with fold-K/ subfolders)")
    rf.add_argument("--trees", type=int, default=500)
    rf.add_argument("--jobs", type=int, default=2, help="RandomForest n_jobs")
    rf.add_argument("--C", type=float, default=1.0, help="logistic regression inverse regularization")
    rf.set_defaults(func=cmd_rf)

    for name, func, C, help_ in (("tfidf-tweets", cmd_tfidf_tweets, "4", "single-tweet TF-IDF + logistic regression"),
                                 ("tfidf-users", cmd_tfidf_users, "1,4,16,64,256",
                                  "per-user TF-IDF word+char + logistic regression")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--input", required=True, help="tweets.csv: one row per tweet")
        p.add_argument("--splits", required=True, help="a loom run's splits.csv (key,split: one row per user)")
        p.add_argument("--group-col", default="user_id", help="the user column of --input (the keys of splits.csv)")
        p.add_argument("--text-col", default="text")
        p.add_argument("--label-col", default="label")
        p.add_argument("--C", default=C, help="logistic regression inverse regularization; a comma list: "
                       f"chosen by accuracy on the validation users, then refitted on train+val (default {C})")
        p.add_argument("--max-iter", type=int, default=2000)
        p.add_argument("--user-tweets", type=int, default=0,
                       help="tweets per user at user level, the first N in file order (0 = all)")
        if name == "tfidf-users":
            p.add_argument("--char-max-features", type=int, default=0, help="cap the char n-grams (0 = no cap)")
        p.set_defaults(func=func)

    for p in (rf, *[sub.choices[n] for n in ("tfidf-tweets", "tfidf-users")]):
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--out", help="write the numbers as JSON here")

    tb = sub.add_parser("table", help="the Markdown table of bench/run_bots.sh")
    tb.add_argument("--steps", required=True, help="steps.tsv written by bench/run_bots.sh")
    tb.add_argument("--md", help="append the table here")
    tb.set_defaults(func=cmd_table)

    a = ap.parse_args(argv)
    try:
        a.func(a)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
