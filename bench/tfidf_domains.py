#!/usr/bin/python3
"""The linear baseline of issue 17 (train/README.md, "Other domains"), reproducible: TF-IDF over
NLTK TweetTokenizer(preserve_case=False) tokens (the rules loom's tweet tokenizer follows), word
unigrams and bigrams, then LogisticRegression(C=4), trained on one labelled CSV and scored on
others, each printed as accuracy with its exact count (so a target like "baseline + 0.02" can be
checked without rounding).

    /usr/bin/python3 bench/tfidf_domains.py \\
        --train ../shared/data/sentiment140_100k/train.csv \\
        --test ../shared/data/airline_sentiment/data.csv \\
        --test ../shared/data/tweeteval_sentiment_val/data.csv \\
        --test ../shared/data/sentiment140_100k/dev.csv

Files: header `label,text`, label 0 or 1 (the ../shared/data sets). Needs Debian's python3-sklearn
and python3-nltk (seen by /usr/bin/python3 only).
"""
import argparse
import csv
import sys
import time


def read(path):
    labels, texts = [], []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "label" not in reader.fieldnames or "text" not in reader.fieldnames:
            sys.exit(f"{path}: expected a header with columns label,text; got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            if row["label"] not in ("0", "1"):
                sys.exit(f"{path}:{line}: field 'label' is '{row['label']}', expected 0 or 1")
            labels.append(int(row["label"]))
            texts.append(row["text"])
    return labels, texts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", action="append", required=True)
    ap.add_argument("--C", type=float, default=4.0)
    ap.add_argument("--max-iter", type=int, default=2000)
    a = ap.parse_args()

    from nltk.tokenize import TweetTokenizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    start = time.time()
    y, x = read(a.train)
    vec = TfidfVectorizer(tokenizer=TweetTokenizer(preserve_case=False).tokenize, lowercase=False,
                          ngram_range=(1, 2), token_pattern=None)
    model = LogisticRegression(C=a.C, max_iter=a.max_iter).fit(vec.fit_transform(x), y)
    print(f"train {a.train}: {len(y):,} tweets, {len(vec.vocabulary_):,} features, C {a.C:g}, "
          f"{time.time() - start:.1f} s")
    for path in a.test:
        ty, tx = read(path)
        pred = model.predict(vec.transform(tx))
        right = int(sum(int(p) == t for p, t in zip(pred, ty)))
        print(f"{path}: accuracy {right / len(ty):.5f} ({right:,} of {len(ty):,})")


if __name__ == "__main__":
    main()
