"""tests/peers/torch_models.py IN OUT: loom's six classifiers written as PyTorch modules.

TorchTextClassifier(config) is the PyTorch module equivalent to loom's make_model(config): the
same state_dict names and shapes (embedding.weight, lstm.*, convs.{i}.* / conv.*, head.*) and
the same forward, so model.load_state_dict(tensors of a loom checkpoint) gives loom's logits.
`config` is loom's ModelConfig JSON (models/text_classifier.h). Importable by other peers.

The choices it mirrors (models/README.md): ids at t >= len_b are replaced by <pad> (0); LSTMs
see each row's true length (pack_padded_sequence); convolutions are 'valid' and a row shorter
than the widest window is padded with <pad> up to it (cnn, lstm-cnn: max(widths); cnn-lstm:
width + 1 so the size-2 pool has a window); max over time only over a row's valid windows.

Input JSON: {"cases": [case, ...]} (one interpreter start for all of them), each case: config,
T, B, tokens [T*B] (time-major, may hold garbage past the lengths), lengths [B], params {name:
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

    def forward(self, tokens, lengths):
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
        return self.head(self.dropout(features))


def run_case(case):
    model = TorchTextClassifier(case["config"])
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
