"""tests/peers/torch_autocast.py IN OUT: a loom classifier's forward and backward under
torch.autocast("cpu", dtype=torch.bfloat16), for tests/models/test_models_autocast_torch.cc.

The module is torch_models.py's TorchTextClassifier (same state_dict names, same forward), loaded
with loom's F32 parameters; only the region differs from torch_models.py. What runs in which
precision is PyTorch's CPU autocast lists (1.13): conv1d and linear in bf16 (inputs, weights and
biases cast), embedding, nn.LSTM and the BCE loss in F32; relu, max and cat follow their inputs.
The test picks a model whose loom policy does the same (see its comment).

Input JSON: {"cases": [case, ...]}, each case as torch_models.py's (config, T, B, tokens, lengths,
params, targets). Output JSON: {"results": [...]}, each: logits [B*K] (as F32), logits_dtype,
loss, loss_dtype, grads {name: flat} (the F32 masters' gradients). Exit status 3 without torch.
"""
import json
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f"python3-torch: {e}", file=sys.stderr)
    sys.exit(3)

from torch_models import TorchTextClassifier  # noqa: E402  (same directory)


def run_case(case):
    model = TorchTextClassifier(case["config"])
    state = {name: torch.tensor(case["params"][name], dtype=torch.float32).view_as(p)
             for name, p in model.state_dict().items()}
    extra = set(case["params"]) - set(state)
    if extra:
        raise SystemExit(f"loom state_dict has names the torch module lacks: {sorted(extra)}")
    model.load_state_dict(state, strict=True)
    model.eval()
    T, B = case["T"], case["B"]
    tokens = torch.tensor(case["tokens"], dtype=torch.long).view(T, B)
    lengths = torch.tensor(case["lengths"], dtype=torch.long)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(tokens, lengths)
        targets = torch.tensor(case["targets"], dtype=torch.float32).view_as(logits)
        loss = F.binary_cross_entropy_with_logits(logits, targets)
    loss.backward()  # outside the region, as torch documents (and as loom's trainer does)
    flat = lambda t: t.detach().float().reshape(-1).tolist()
    return {
        "logits": flat(logits), "logits_dtype": str(logits.dtype).replace("torch.", ""),
        "loss": loss.item(), "loss_dtype": str(loss.dtype).replace("torch.", ""),
        "grads": {name: flat(p.grad if p.grad is not None else torch.zeros_like(p))
                  for name, p in model.named_parameters()},
        "grad_dtypes": sorted({str(p.grad.dtype).replace("torch.", "")
                               for p in model.parameters() if p.grad is not None}),
    }


def main(src, dst):
    cfg = json.load(open(src))
    torch.set_num_threads(1)
    results = [run_case(case) for case in cfg["cases"]]
    json.dump({"torch_version": torch.__version__, "results": results}, open(dst, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
