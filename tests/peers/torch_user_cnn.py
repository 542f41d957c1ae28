"""tests/peers/torch_user_cnn.py IN OUT: the user-level CNN of models/user_cnn.h in PyTorch.

The module is written the plain way a PyTorch user would: an nn.ModuleList of Conv1d named convs
and a Linear named head, and each user handled on its own: its count valid tweet vectors [count, D]
are zero-padded to at least the widest window, then conv -> ReLU -> max over time per width,
concatenated, and the head. So loom's batched gather/padding is checked against a per-user loop.

Input JSON: cases [{n, B, D, K (outputs), widths [K_i], F, x [n*B*D] (loom's [n, B, D] layout,
garbage past each count), counts [B], targets [B*K], params {name: flat PyTorch layout}}].
Output JSON: results [{logits [B*K], loss, grads {name: flat}, dx [n*B*D] (loom's layout)}].
The loss is BCE with logits, mean over all B*K entries. Exit status 3 when torch is missing.
"""
import json
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f"python3-torch: {e}", file=sys.stderr)
    sys.exit(3)


class TorchUserCnn(torch.nn.Module):
    def __init__(self, D, widths, filters, outputs):
        super().__init__()
        self.convs = torch.nn.ModuleList(torch.nn.Conv1d(D, filters, k) for k in widths)
        self.head = torch.nn.Linear(filters * len(widths), outputs)
        self.min_len = max(widths)

    def forward(self, x, counts):  # x [n, B, D], counts: list of ints
        rows = []
        for b, c in enumerate(counts):
            m = x[:c, b, :]                                     # [c, D]: the user's tweets
            if c < self.min_len:
                m = torch.cat([m, m.new_zeros(self.min_len - c, m.shape[1])])
            u = m.t().unsqueeze(0)                              # [1, D, T_b]
            pooled = [F.relu(conv(u)).max(dim=2).values for conv in self.convs]
            rows.append(torch.cat(pooled, dim=1))
        return self.head(torch.cat(rows))                       # [B, K]


def run(case):
    n, B, D, K = case["n"], case["B"], case["D"], case["K"]
    model = TorchUserCnn(D, case["widths"], case["F"], K)
    # Shapes from the module; a name it lacks is kept flat so strict=True reports it as unexpected.
    shapes = {name: p.shape for name, p in model.state_dict().items()}
    state = {name: torch.tensor(v, dtype=torch.float32).view(shapes.get(name, (-1,)))
             for name, v in case["params"].items()}
    model.load_state_dict(state, strict=True)
    x = torch.tensor(case["x"], dtype=torch.float32).view(n, B, D).requires_grad_()
    targets = torch.tensor(case["targets"], dtype=torch.float32).view(B, K)
    logits = model(x, case["counts"])
    loss = F.binary_cross_entropy_with_logits(logits, targets)
    loss.backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    return {
        "logits": flat(logits),
        "loss": loss.item(),
        "grads": {name: flat(p.grad) for name, p in model.named_parameters()},
        "dx": flat(x.grad),
    }


def main(src, dst):
    cfg = json.load(open(src))
    torch.set_num_threads(1)
    json.dump({"results": [run(c) for c in cfg["cases"]]}, open(dst, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
