"""tests/peers/torch_models.py IN OUT: loom's classifiers written as PyTorch modules.

TorchTextClassifier(config) is the PyTorch module equivalent to loom's make_model(config): the
same state_dict names and shapes (embedding.weight, lstm.*, convs.{i}.* / conv.*, head.*) and
the same forward, so model.load_state_dict(tensors of a loom checkpoint) gives loom's logits.
`config` is loom's ModelConfig JSON (models/text_classifier.h). Importable by other peers.

The choices it mirrors (models/README.md): ids at t >= len_b are replaced by <pad> (0); LSTMs
see each row's true length (pack_padded_sequence); convolutions are 'valid' and a row shorter
than the widest window is padded with <pad> up to it (cnn, lstm-cnn: max(widths); cnn-lstm:
width + 1 so the size-2 pool has a window); max over time only over a row's valid windows.

TorchHybrid and TorchMetaMlp are loom's hybrid and meta-mlp (models/hybrid.h, models/meta_mlp.h):
the text classifier's modules under their own names, meta_scaler.{mean,std} buffers (and with
--meta-encoding ple meta_encoding.{lo,inv_width}), meta.0
(an nn.Sequential's Linear), fuse, head. make_module(config) picks the class for config["arch"].

Input JSON: {"cases": [case, ...]} (one interpreter start for all of them), each case: config,
T, B, tokens [T*B] (time-major, may hold garbage past the lengths), lengths [B], meta [B*F]
(raw features; hybrid and meta-mlp only), params {name:
flat values} (loom's state_dict, PyTorch layouts) or params_file (a safetensors file io::write_safetensors
wrote from it), targets [B*K] (0/1). Runs in eval mode (no
dropout). Output JSON: {"results": [...]}, each: logits [B*K], loss (BCE with logits, mean),
grads {name: flat} of that loss. Exit status 3 when torch is missing.
"""
import json
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError as e:
    print(f"python3-torch: {e}", file=sys.stderr)
    sys.exit(3)

# The safetensors reader the safetensors peer test uses (Debian packages no safetensors module).
from torch_safetensors import load as load_safetensors  # noqa: E402  (same directory)


class TorchTextClassifier(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.arch = cfg["arch"]
        V, E, H, L = cfg["vocab_size"], cfg["embed_dim"], cfg["hidden"], cfg["layers"]
        Fn, widths, p = cfg["filters"], cfg["widths"], cfg["dropout"]
        between = p if L > 1 else 0.0  # nn.LSTM's dropout acts between layers only
        self.embedding = nn.Embedding(V, E)
        if self.arch == "bow":
            features, self.min_len = E, 1
        elif self.arch == "cnn":
            self.convs = nn.ModuleList([nn.Conv1d(E, Fn, k) for k in widths])
            features, self.min_len = Fn * len(widths), max(widths)
        elif self.arch in ("lstm", "bilstm"):
            bi = self.arch == "bilstm"
            self.lstm = nn.LSTM(E, H, num_layers=L, dropout=between, bidirectional=bi)
            features, self.min_len = (2 * H if bi else H), 1
        elif self.arch == "cnn-lstm":
            self.conv = nn.Conv1d(E, Fn, widths[0])
            self.lstm = nn.LSTM(Fn, H, num_layers=L, dropout=between)
            features, self.min_len = H, widths[0] + 1
        elif self.arch == "lstm-cnn":
            self.lstm = nn.LSTM(E, H, num_layers=L, dropout=between)
            self.convs = nn.ModuleList([nn.Conv1d(H, Fn, k) for k in widths])
            features, self.min_len = Fn * len(widths), max(widths)
        else:
            raise ValueError(f"unknown arch {self.arch}")
        self.dropout = nn.Dropout(0.0 if self.arch == "bow" else p)
        self.head = nn.Linear(features, cfg["num_outputs"])

    def run_lstm(self, x, lengths, total_length):
        """x [T, B, C] -> (output [total_length, B, D*H] zero past each length, h_n [L*D, B, H])."""
        packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        out, (h_n, _) = self.lstm(packed)
        y, _ = pad_packed_sequence(out, total_length=total_length)
        return y, h_n

    def textcnn(self, x, padded):
        """x [B, C, T]: per conv, ReLU, then max over the valid windows t < padded - K + 1."""
        pooled = []
        for conv in self.convs:
            c = F.relu(conv(x))  # [B, F, T - K + 1]
            valid = padded - conv.kernel_size[0] + 1
            mask = torch.arange(c.shape[2])[None, None, :] < valid[:, None, None]
            pooled.append(c.masked_fill(~mask, float("-inf")).max(dim=2).values)
        return torch.cat(pooled, dim=1)

    def encode(self, tokens, lengths):
        """The body: features [B, D] before the head's dropout (TorchHybrid's text branch)."""
        T, B = tokens.shape
        Tp = max(T, self.min_len)
        steps = torch.arange(Tp)[:, None]
        ids = torch.zeros(Tp, B, dtype=torch.long)
        ids[:T] = tokens
        ids = ids.masked_fill(steps >= lengths[None, :], 0)  # <pad> past each row's length
        padded = lengths.clamp(min=self.min_len)
        x = self.embedding(ids)  # [Tp, B, E]
        if self.arch == "bow":
            mask = (steps < lengths[None, :]).to(x.dtype)[:, :, None]
            features = (x * mask).sum(0) / lengths[:, None].to(x.dtype)
        elif self.arch == "cnn":
            features = self.textcnn(x.permute(1, 2, 0), padded)
        elif self.arch == "lstm":
            features = self.run_lstm(x, lengths, Tp)[1][-1]
        elif self.arch == "bilstm":
            h_n = self.run_lstm(x, lengths, Tp)[1]
            features = torch.cat([h_n[-2], h_n[-1]], dim=1)
        elif self.arch == "cnn-lstm":
            c = F.relu(self.conv(x.permute(1, 2, 0)))  # [B, F, Tp - K + 1]
            c_len = padded - self.conv.kernel_size[0] + 1
            pooled = F.max_pool1d(c, 2, 2)  # [B, F, Tpool]
            p_len = (c_len - 2) // 2 + 1
            features = self.run_lstm(pooled.permute(2, 0, 1), p_len, pooled.shape[2])[1][-1]
        else:  # lstm-cnn
            y, _ = self.run_lstm(x, lengths, Tp)
            features = self.textcnn(y.permute(1, 2, 0), padded)
        return features

    def forward(self, tokens, lengths):
        return self.head(self.dropout(self.encode(tokens, lengths)))


class MetaScaler(nn.Module):
    """Buffers meta_scaler.mean / meta_scaler.std [F]: (x - mean) / std, never trained."""

    def __init__(self, n):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n))
        self.register_buffer("std", torch.ones(n))

    def forward(self, x):
        return (x - self.mean) / self.std


def meta_bins(cfg):
    """PLE bins per feature (--meta-encoding ple), 0 for the plain standardization."""
    return cfg["meta_bins"] if cfg.get("meta_encoding", "standardize") == "ple" else 0


class MetaEncoding(nn.Module):
    """Buffers meta_encoding.lo / meta_encoding.inv_width [F*m] (slot j*m + b): the piecewise-linear
    encoding of Gorishniy et al. (2022). Bin b of feature j is (z_j - lo) * inv_width, clamped to
    [0, 1] except below for the feature's first bin and above for its last used bin; an unused slot
    (inv_width 0, after the used ones) is 0."""

    def __init__(self, n, bins):
        super().__init__()
        self.bins = bins
        self.register_buffer("lo", torch.zeros(n * bins))
        self.register_buffer("inv_width", torch.zeros(n * bins))

    def forward(self, z):
        t = (z.repeat_interleave(self.bins, dim=1) - self.lo) * self.inv_width
        used = (self.inv_width.view(-1, self.bins) != 0).sum(dim=1, keepdim=True)  # [F, 1]
        b = torch.arange(self.bins).view(1, -1)
        clamp_low = (b > 0).expand(used.shape[0], -1).reshape(-1)
        clamp_high = (b + 1 < used).reshape(-1)
        t = torch.where(clamp_low, t.clamp(min=0), t)
        return torch.where(clamp_high, t.clamp(max=1), t)


def meta_tower(cfg):
    """meta.0 Linear(F (F*m with ple), meta_hidden) -> ReLU -> Dropout: names meta.0.weight,
    meta.0.bias."""
    inputs = cfg["meta_features"] * max(meta_bins(cfg), 1)
    return nn.Sequential(nn.Linear(inputs, cfg["meta_hidden"]), nn.ReLU(), nn.Dropout(cfg["dropout"]))


def encode_meta(module, meta):
    """The tower's input: standardized, then PLE-encoded when the module has the bins."""
    z = module.meta_scaler(meta)
    return module.meta_encoding(z) if hasattr(module, "meta_encoding") else z


class TorchMetaMlp(nn.Module):
    """loom's meta-mlp (models/meta_mlp.h): standardize -> meta.0 -> ReLU -> dropout -> head."""

    def __init__(self, cfg):
        super().__init__()
        self.meta_scaler = MetaScaler(cfg["meta_features"])
        if meta_bins(cfg):
            self.meta_encoding = MetaEncoding(cfg["meta_features"], meta_bins(cfg))
        self.meta = meta_tower(cfg)
        self.head = nn.Linear(cfg["meta_hidden"], cfg["num_outputs"])

    def forward(self, tokens, lengths, meta):  # tokens and lengths are ignored
        return self.head(self.meta(encode_meta(self, meta)))


class TorchHybrid(TorchTextClassifier):
    """loom's hybrid (models/hybrid.h): the text classifier of cfg["text_arch"] minus its head
    (its modules keep their names: embedding, lstm, convs, conv), the meta tower, then
    cat([dropout(text), meta]) -> fuse Linear -> ReLU -> dropout -> head Linear."""

    def __init__(self, cfg):
        super().__init__(dict(cfg, arch=cfg["text_arch"]))
        text_features = self.head.in_features
        p = cfg["dropout"]
        self.text_dropout = nn.Dropout(p)  # bow included: here it is one branch of the hybrid
        self.meta_scaler = MetaScaler(cfg["meta_features"])
        if meta_bins(cfg):
            self.meta_encoding = MetaEncoding(cfg["meta_features"], meta_bins(cfg))
        self.meta = meta_tower(cfg)
        self.fuse = nn.Linear(text_features + cfg["meta_hidden"], cfg["fuse_hidden"])
        self.fuse_dropout = nn.Dropout(p)
        self.head = nn.Linear(cfg["fuse_hidden"], cfg["num_outputs"])  # replaces the text head

    def forward(self, tokens, lengths, meta):
        text = self.text_dropout(self.encode(tokens, lengths))
        m = self.meta(encode_meta(self, meta))
        h = F.relu(self.fuse(torch.cat([text, m], dim=1)))
        return self.head(self.fuse_dropout(h))


def make_module(cfg):
    if cfg["arch"] == "hybrid":
        return TorchHybrid(cfg)
    if cfg["arch"] == "meta-mlp":
        return TorchMetaMlp(cfg)
    return TorchTextClassifier(cfg)


def run_case(case):
    model = make_module(case["config"])
    if "params_file" in case:  # a loom checkpoint, loaded as a PyTorch user would
        state, _ = load_safetensors(case["params_file"])
    else:
        state = {name: torch.tensor(case["params"][name], dtype=torch.float32).view_as(p)
                 for name, p in model.state_dict().items()}
        extra = set(case["params"]) - set(state)
        if extra:
            raise SystemExit(f"loom state_dict has names the torch module lacks: {sorted(extra)}")
    model.load_state_dict(state, strict=True)  # every name and shape must match
    model.eval()
    T, B = case["T"], case["B"]
    tokens = torch.tensor(case["tokens"], dtype=torch.long).view(T, B)
    lengths = torch.tensor(case["lengths"], dtype=torch.long)
    if "meta" in case:  # hybrid and meta-mlp: raw features [B, F]
        meta = torch.tensor(case["meta"], dtype=torch.float32).view(B, case["config"]["meta_features"])
        logits = model(tokens, lengths, meta)
    else:
        logits = model(tokens, lengths)
    targets = torch.tensor(case["targets"], dtype=torch.float32).view_as(logits)
    loss = F.binary_cross_entropy_with_logits(logits, targets)
    loss.backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    return {
        "logits": flat(logits), "loss": loss.item(),
        "grads": {name: flat(p.grad if p.grad is not None else torch.zeros_like(p))
                  for name, p in model.named_parameters()},
    }


def main(src, dst):
    cfg = json.load(open(src))
    torch.set_num_threads(1)
    results = [run_case(case) for case in cfg["cases"]]
    json.dump({"torch_version": torch.__version__, "results": results}, open(dst, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
