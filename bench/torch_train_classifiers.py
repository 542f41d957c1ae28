"""bench/torch_train_classifiers.py: PyTorch's side of `bench/run_cpu_compare.sh models`.

Trains one of loom's classifiers, written as the PyTorch module tests/peers/torch_models.py
(same layers, same state_dict names, same forward), the way `loom train` does on a labeled CSV:

  NLTK TweetTokenizer(preserve_case=False, reduce_len=True) tokens; vocabulary from the training
  split only (pad 0, unk 1, then by count, ties by first occurrence; --max-vocab counts pad and
  unk); a stratified, seeded --val-split held out of the training file; batches of --batch-size
  shuffled each epoch, right-padded to the batch's longest row, rows cut at --max-len; one logit,
  BCE with logits; Adam (AdamW with weight decay 0 and foreach=True, the faster of its two update
  paths here; PyTorch defaults otherwise); gradient clipping
  at a global L2 norm of --clip-grad-norm (loom's default, 1.0); dropout --dropout; the best epoch
  by validation accuracy is evaluated on --test.

An epoch's time covers what loom's "Epoch N/M - S s" covers: the training steps and the pass over
the validation split. Tokenizing and building the vocabulary are outside it (in both programs).

--autocast bf16 runs the forward and the loss of training and evaluation inside
torch.autocast("cpu", dtype=torch.bfloat16): PyTorch's mixed precision on the CPU (its CPU autocast
op list decides which ops run in bf16; parameters and AdamW stay fp32), the peer of
`loom train --precision bf16`.

  /usr/bin/python3 bench/torch_train_classifiers.py --arch lstm --input train.csv --test dev.csv
Prints one JSON object per epoch and a final one, all on stdout (one per line).
"""
import argparse
import json
import os
import pickle
import random
import sys
import time
from collections import Counter

import torch
import torch.nn.functional as F
from nltk.tokenize import TweetTokenizer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "peers"))
from torch_models import TorchTextClassifier  # noqa: E402  (loom's models as nn.Modules)


def read_labeled_csv(path):
    import csv
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def tokenized(path, cache_dir):
    """(token lists, labels) of a label,text CSV; cached because NLTK takes ~20 s per 90k tweets."""
    cache = os.path.join(cache_dir, os.path.basename(path) + ".nltk.pickle") if cache_dir else None
    if cache and os.path.exists(cache) and os.path.getmtime(cache) > os.path.getmtime(path):
        with open(cache, "rb") as f:
            return pickle.load(f)
    texts, labels = read_labeled_csv(path)
    tok = TweetTokenizer(preserve_case=False, reduce_len=True)
    result = ([tok.tokenize(t) or ["<unk>"] for t in texts], labels)
    if cache:
        os.makedirs(cache_dir, exist_ok=True)
        with open(cache, "wb") as f:
            pickle.dump(result, f)
    return result


def stratified_split(labels, fraction, seed):
    """(train indices, val indices): `fraction` of each class held out, chosen by a seeded shuffle."""
    rng = random.Random(seed)
    train, val = [], []
    for c in sorted(set(labels)):
        idx = [i for i, y in enumerate(labels) if y == c]
        rng.shuffle(idx)
        n_val = round(len(idx) * fraction)
        val += idx[:n_val]
        train += idx[n_val:]
    return sorted(train), sorted(val)


def build_vocab(docs, max_vocab):
    counts, first = Counter(), {}
    for doc in docs:
        for w in doc:
            counts[w] += 1
            first.setdefault(w, len(first))
    words = sorted(counts, key=lambda w: (-counts[w], first[w]))[: max_vocab - 2]
    return {w: i + 2 for i, w in enumerate(words)}  # 0 = <pad>, 1 = <unk>


def encode(docs, vocab, max_len):
    return [[vocab.get(w, 1) for w in doc[:max_len]] for doc in docs]


def batches(ids, labels, order, batch_size):
    """Time-major [T, B] token tensors (right padding), lengths [B] and float targets [B, 1]."""
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        lengths = torch.tensor([len(ids[i]) for i in rows], dtype=torch.long)
        tokens = torch.zeros(int(lengths.max()), len(rows), dtype=torch.long)
        for b, i in enumerate(rows):
            tokens[: len(ids[i]), b] = torch.tensor(ids[i], dtype=torch.long)
        targets = torch.tensor([[float(labels[i])] for i in rows])
        yield tokens, lengths, targets


def autocast(kind):
    """The mixed-precision region of --autocast (a no-op context for none)."""
    if kind == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def evaluate(model, ids, labels, batch_size, kind="none"):
    """(accuracy, mean BCE loss) over all rows, in eval mode (no dropout)."""
    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for tokens, lengths, targets in batches(ids, labels, list(range(len(ids))), batch_size):
            with autocast(kind):
                logits = model(tokens, lengths).float()
            loss_sum += F.binary_cross_entropy_with_logits(logits, targets, reduction="sum").item()
            correct += int(((logits > 0).float() == targets).sum())
    model.train()
    return correct / len(ids), loss_sum / len(ids)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", required=True, choices=["bow", "cnn", "lstm", "bilstm", "cnn-lstm", "lstm-cnn"])
    p.add_argument("--input", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--val-split", type=float, default=0.05)
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--filters", type=int, default=100)
    p.add_argument("--widths", default="3,4,5")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--max-vocab", type=int, default=20000)
    p.add_argument("--max-len", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip-grad-norm", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--cache-dir", default="")
    p.add_argument("--foreach", type=int, default=1,
                   help="AdamW(foreach=...): 1 (default here) is the faster multi-tensor update")
    p.add_argument("--autocast", default="none", choices=["none", "bf16"],
                   help="bf16: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16)")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)

    docs, labels = tokenized(a.input, a.cache_dir)
    test_docs, test_labels = tokenized(a.test, a.cache_dir)
    train_idx, val_idx = stratified_split(labels, a.val_split, a.seed)
    vocab = build_vocab([docs[i] for i in train_idx], a.max_vocab)
    ids = encode(docs, vocab, a.max_len)
    train_ids, train_y = [ids[i] for i in train_idx], [labels[i] for i in train_idx]
    val_ids, val_y = [ids[i] for i in val_idx], [labels[i] for i in val_idx]
    test_ids = encode(test_docs, vocab, a.max_len)

    config = {"arch": a.arch, "vocab_size": len(vocab) + 2, "embed_dim": a.embed_dim,
              "hidden": a.hidden, "layers": 1, "filters": a.filters,
              "widths": [int(w) for w in a.widths.split(",")], "dropout": a.dropout, "num_outputs": 1}
    model = TorchTextClassifier(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0, foreach=a.foreach)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "arch": a.arch, "foreach": bool(a.foreach),
                      "autocast": a.autocast,
                      "train": len(train_ids), "val": len(val_ids), "test": len(test_ids),
                      "vocab": len(vocab) + 2,
                      "parameters": sum(p.numel() for p in model.parameters())}), flush=True)

    best = (-1.0, 0, None)
    epoch_seconds = []
    for epoch in range(1, a.epochs + 1):
        start = time.perf_counter()
        order = list(range(len(train_ids)))
        rng.shuffle(order)
        model.train()
        for tokens, lengths, targets in batches(train_ids, train_y, order, a.batch_size):
            optimizer.zero_grad()
            with autocast(a.autocast):
                loss = F.binary_cross_entropy_with_logits(model(tokens, lengths).float(), targets)
            loss.backward()
            if a.clip_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip_grad_norm)
            optimizer.step()
        train_seconds = time.perf_counter() - start
        val_acc, val_loss = evaluate(model, val_ids, val_y, a.batch_size, a.autocast)
        seconds = time.perf_counter() - start
        epoch_seconds.append(seconds)
        if val_acc > best[0]:
            best = (val_acc, epoch, {k: v.clone() for k, v in model.state_dict().items()})
        print(json.dumps({"epoch": epoch, "seconds": round(seconds, 2), "train_seconds": round(train_seconds, 2),
                          "val_accuracy": round(val_acc, 4), "val_loss": round(val_loss, 4)}), flush=True)

    model.load_state_dict(best[2])
    test_acc, test_loss = evaluate(model, test_ids, test_labels, a.batch_size, a.autocast)
    print(json.dumps({"best_epoch": best[1], "best_val_accuracy": round(best[0], 4),
                      "test_accuracy": round(test_acc, 4), "test_loss": round(test_loss, 4),
                      "epoch_seconds": [round(s, 2) for s in epoch_seconds]}), flush=True)


if __name__ == "__main__":
    main()
