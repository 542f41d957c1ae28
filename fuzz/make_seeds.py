#!/usr/bin/env python3
# fuzz/make_seeds.py: writes the seed corpora fuzz/corpus/<harness>/ and the edge-case regression
# inputs fuzz/regressions/<harness>/ (hand-written, a few lines each; nothing is copied from a data
# set). Run it again after changing a harness's option byte. Each harness reads its first byte(s)
# as options (see the harness's opening comment); the seeds spell them as letters so the files
# stay readable:
#   csv:        '@' header ',' fail   'A' no header   'B' tab   'D' skip bad rows
#   dataset:    1st 'B' csv  'C' sentiment140  'F' sentiment140 latin1  'A' fasttext  'D' fasttext latin1
#               'H' csv skip bad rows; 2nd '@' plain  'A' label columns pos,neg  'B' id column  'D' multi-label
#   embeddings: '@' width 1  'A' 2  'B' 3  'C' 4
#   trainer_state: '0' constant schedule  '1' linear  '2' plateau
#   metadata:   '@' skip tweets without an account, all-numeric columns   'h' keep them, skip bad rows,
#               the columns followers_count,friends_count
#   tokenizer:  'B' tweet  'C' whitespace  'A' char  'f' tweet + glove-twitter  'H' tweet, case kept
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))


def put(kind, harness, name, data):
    d = os.path.join(ROOT, kind, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape, raw bytes)] -> file bytes, offsets in the given order."""
    header, blob = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + blob


def seeds():
    # ---- csv
    put("corpus", "csv", "tweets", "@id,label,text\n1,positive,the weather was great\n"
        "2,negative,\"so bad, really\"\n3,positive,\"she said \"\"wow\"\"\"\n")
    put("corpus", "csv", "multiline_crlf", "@id,text\r\n1,\"two\r\nlines\"\r\n2,plain\r\n\r\n3,\"\"\r\n")
    put("corpus", "csv", "bom_cr", "@\xef\xbb\xbfa,b\r1,2\r3,4\r")
    put("corpus", "csv", "noheader", "A1,2,3\n4,5,6\n")
    put("corpus", "csv", "tab", "Bid\ttext\n1\t\"a\ttab\"\n2\tb\n")
    put("corpus", "csv", "skip_bad", "Da,b\n1,\"open\n2,x\"y\n3,4,5\n6,7\n")
    # ---- dataset (three formats, two encodings)
    put("corpus", "dataset", "csv", "B@id,label,text\n1,positive,great day :)\n2,negative,\"awful, just awful\"\n"
        "3,positive,caf\xc3\xa9 time\n")
    put("corpus", "dataset", "csv_multilabel", "BAid,text,pos,neg\n1,good,1,0\n2,bad,0,1\n3,both,1,1\n")
    put("corpus", "dataset", "csv_skip", "H@label,text\n1,ok\n0,\n1,\"fine\"\n0,bad \xff byte\n0,no\n")
    put("corpus", "dataset", "s140", "C@\"0\",\"1467810369\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"u1\","
        "\"is upset\"\n\"4\",\"1467810672\",\"Mon Apr 06 22:19:49 PDT 2009\",\"NO_QUERY\",\"u2\",\"yay\"\n")
    put("corpus", "dataset", "s140_latin1", b"F@\"0\",\"1\",\"d\",\"NO_QUERY\",\"u\",\"caf\xe9 bad\"\n"
        b"\"4\",\"2\",\"d\",\"NO_QUERY\",\"v\",\"na\xefve good\"\n")
    put("corpus", "dataset", "fasttext", "A@__label__1 good movie\n__label__0 bad movie\n__label__1 __label__0 mixed\n")
    put("corpus", "dataset", "fasttext_latin1", b"D@__label__pos tr\xe8s bien\n__label__neg mal\n")
    # ---- safetensors
    f32 = struct.pack("<4f", 1.0, -2.0, 0.5, 3.25)
    put("corpus", "safetensors", "f32", safetensors([("w", "F32", [2, 2], f32)], {"format": "pt"}))
    put("corpus", "safetensors", "mixed", safetensors([
        ("a", "F16", [2], b"\x00\x3c\x00\xc0"), ("b", "BF16", [1], b"\x80\x3f"),
        ("c", "I32", [1, 1], struct.pack("<i", -7)), ("d", "F64", [], struct.pack("<d", 2.5)),
        ("e", "F32", [0, 3], b"")]))
    put("corpus", "safetensors", "empty", safetensors([]))
    put("corpus", "safetensors", "unpadded", safetensors([("x", "F32", [1], f32[:4])], pad=False))
    # ---- embeddings
    put("corpus", "embeddings", "glove", "Bthe 0.1 0.2 -0.3\nhello 1 2 3\nCat 0.5 0.5 0.5\nworld 1e-3 -4.5e2 7\n")
    put("corpus", "embeddings", "word2vec", "A3 2\nthe 0.5 -0.5\n\xc3\xa9t\xc3\xa9 1.0 2.0\ncat 0 1\n")
    put("corpus", "embeddings", "spaces_crlf", "@a b 0.25\r\nthe 1\r\n\r\nTHE 2\r\n")
    # ---- vocab (the "vocab" object of config.json)
    put("corpus", "vocab", "small", json.dumps({"tokens": ["<pad>", "<unk>", "the", "!", "caf\u00e9", "#tag"]}))
    put("corpus", "vocab", "minimal", '{"tokens":["<pad>","<unk>"]}')
    # ---- tokenizer
    for mode, name in (("B", "tweet"), ("C", "whitespace"), ("A", "char"), ("f", "glove"), ("H", "cased")):
        put("corpus", "tokenizer", name, mode + "@Maria_K soooo GOOD!!! :-) #ThisIsIt https://t.co/x &amp; "
            "caf\u00e9 \u0130stanbul \U0001F44D\U0001F3FD \U0001F1EB\U0001F1F7 <3 555-1234 ...")
    put("corpus", "tokenizer", "invalid_bytes", b"Bok \xff\xfe \xc3 \xed\xa0\x80 end")
    # ---- metadata (accounts files)
    put("corpus", "metadata", "accounts", "@user_id,followers_count,friends_count,screen_name_len,label\n"
        "1,10,20,8,0\n2,NA,5,12,1\n7,3.5e2,,4,1\n9,0,0,0,0\n")
    put("corpus", "metadata", "named_skip", "huser_id,followers_count,friends_count\n1,1,2\n2,x,3\n7,4,None\n")
    # ---- config.json and trainer_state.json (shaped like a run folder of `loom train --arch bow`)
    state = {"data_order": {"next_epoch": 2, "seed": "42"},
             "early_stopping": {"best": 0.75, "best_epoch": 1, "has_best": True, "monitor": "val_loss", "wait": 0},
             "epoch": 1, "finished": False, "generator": {"offset": "0", "seed": "1766142059405044988"},
             "schedule": {"bad_epochs": 0, "best": 0.75, "has_best": True, "kind": "plateau", "scale": 1.0, "step": 2},
             "step": 2, "stopped_early": False}
    put("corpus", "trainer_state", "plateau", "2" + json.dumps(state, indent=2))
    state["schedule"]["kind"] = "constant"
    state["grad_scaler"] = {"scale": 32768.0, "growth_tracker": 3, "skipped_steps": 1, "init_scale": 65536.0,
                            "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000}
    put("corpus", "trainer_state", "fp16", "0" + json.dumps(state))
    tokens = ["<pad>", "<unk>", "the", "is", "!", "i", "my", "was", "not", "a", "but", "."]
    config = {"format": "loom-run", "format_version": 1, "git_sha": "0123456789ab", "label_names": ["negative", "positive"],
              "max_len": 64, "model": {"arch": "bow", "dropout": 0.5, "embed_dim": 4, "filters": 100, "hidden": 4,
                                       "init": "torch", "layers": 1, "num_outputs": 1, "preset": "", "vocab_size": 12,
                                       "widths": [3, 4, 5]},
              "task": "binary", "threshold": 0.5,
              "tokenizer": {"kind": "tweet", "lowercase": True, "normalize": "none", "reduce_len": True},
              "training": TRAINING, "vocab": {"tokens": tokens}, "weights": "best.safetensors"}
    put("corpus", "config", "bow", json.dumps(config, indent=1))
    config["model"].update({"arch": "lstm", "hidden": 8})
    config["training"] = dict(TRAINING, arch="lstm", hidden=8)
    config["metadata"] = {"join_col": "user_id", "source_columns": ["followers_count"],
                          "feature_names": ["followers_count", "log1p_followers_count"], "engineered": True,
                          "missing_indicators": [], "no_account_indicator": False}
    put("corpus", "config", "lstm_meta", json.dumps(config))


TRAINING = {"arch": "bow", "batch_size": 64, "bucket_by_length": False, "ckpt_dir": "run1", "class_weight": "none",
            "clip_grad_norm": 1.0, "deterministic": False, "device": "auto", "dropout": 0.5, "embed_dim": 4,
            "embeddings": "", "encoding": "utf-8", "epochs": 1, "filters": 100, "format": "csv",
            "freeze_embeddings": False, "hidden": 4, "id_cols": [], "impl": "auto", "input": "s/train.csv",
            "label_col": "label", "label_cols": [], "layers": 1, "lr": 0.001, "lr_schedule": "plateau", "max_len": 64,
            "max_vocab": 12, "min_delta": 0.0, "min_freq": 1, "monitor": "val_loss", "normalize": "none",
            "on_bad_row": "fail", "patience": 3, "plateau_factor": 0.5, "plateau_min_lr": 0.0, "plateau_patience": 1,
            "pos_weight": "none", "precision": "fp32", "preset": "", "restore_best": True, "seed": 42, "test": "",
            "test_split": 0.1, "text_col": "text", "threads": 0, "threshold": 0.5, "tokenizer": "tweet", "val": "",
            "val_split": 0.1, "warmup_steps": 0, "weight_decay": 0.0, "widths": [3, 4, 5]}


def edge_cases():
    # Hand-picked inputs kept as regression tests (tests/io/test_fuzz_regressions.cc runs them).
    put("regressions", "csv", "empty", "")
    put("regressions", "csv", "lone_quote", "@\"")
    put("regressions", "csv", "bom_only", "@\xef\xbb\xbf")
    put("regressions", "csv", "single_empty_field", "@a\n\"\"\n")
    put("regressions", "dataset", "empty", "B@")
    put("regressions", "dataset", "lone_quote", "B@\"")
    put("regressions", "dataset", "bom_only", "B@\xef\xbb\xbf")
    put("regressions", "safetensors", "empty", b"")
    put("regressions", "safetensors", "header_past_end", struct.pack("<Q", 64) + b'{"a":1}')
    put("regressions", "safetensors", "header_2_63", struct.pack("<Q", 1 << 63) + b"{}      ")
    put("regressions", "safetensors", "header_all_ones", b"\xff" * 8 + b"{}")
    put("regressions", "embeddings", "missing_value", "Bthe 0.1 0.2 -0.3\nhello 1 2\n")
    put("regressions", "embeddings", "empty", "A")
    put("regressions", "embeddings", "bom_only", "A\xef\xbb\xbf")
    put("regressions", "tokenizer", "lone_lead_byte", b"B\xc3")
    put("regressions", "config", "empty", "")
    put("regressions", "trainer_state", "empty", "0")


if __name__ == "__main__":
    seeds()
    edge_cases()
    sys.exit(0)
