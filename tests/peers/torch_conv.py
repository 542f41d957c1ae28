"""tests/peers/torch_conv.py IN OUT: torch.nn.Conv1d / MaxPool1d / the Kim text-CNN block.

Input JSON: case ("conv" | "maxpool" | "textcnn"), T, B, C, x [T*B*C] (loom's time-major layout;
permuted to PyTorch's [B, C, T] here, outside anything timed), dy (flat seed of the backward
pass, in loom's output layout), and per case:
  conv:    weight [F*C*K] (PyTorch layout), bias [F], F, K, padding (int or "same"), dilation
  maxpool: kernel, stride
  textcnn: widths [{F, K, weight, bias}], the block being conv -> ReLU -> max over time
           (max_pool1d over the whole length, which routes the gradient to one position)
Output JSON: y (loom's layout), dx (loom's layout), grads {name: flat (PyTorch layout)}.
Exit status 3 when torch is missing.
"""
import json
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f"python3-torch: {e}", file=sys.stderr)
    sys.exit(3)


def tensor(values, *shape):
    return torch.tensor(values, dtype=torch.float32).view(*shape)


def main(src, dst):
    cfg = json.load(open(src))
    torch.set_num_threads(1)
    T, B, C = cfg["T"], cfg["B"], cfg["C"]
    x_tbc = tensor(cfg["x"], T, B, C)
    x = x_tbc.permute(1, 2, 0).contiguous().requires_grad_()  # [B, C, T]
    grads = {}
    if cfg["case"] == "conv":
        conv = torch.nn.Conv1d(C, cfg["F"], cfg["K"], padding=cfg["padding"], dilation=cfg["dilation"])
        with torch.no_grad():
            conv.weight.copy_(tensor(cfg["weight"], cfg["F"], C, cfg["K"]))
            conv.bias.copy_(tensor(cfg["bias"], cfg["F"]))
        y = conv(x).permute(2, 0, 1)  # [T', B, F]
        params = {"weight": conv.weight, "bias": conv.bias}
    elif cfg["case"] == "maxpool":
        y = F.max_pool1d(x, cfg["kernel"], cfg["stride"]).permute(2, 0, 1)  # [T_out, B, C]
        params = {}
    else:
        pooled, params = [], {}
        for i, w in enumerate(cfg["widths"]):
            conv = torch.nn.Conv1d(C, w["F"], w["K"])
            with torch.no_grad():
                conv.weight.copy_(tensor(w["weight"], w["F"], C, w["K"]))
                conv.bias.copy_(tensor(w["bias"], w["F"]))
            h = F.relu(conv(x))
            pooled.append(F.max_pool1d(h, h.shape[2]).squeeze(2))
            params[f"convs.{i}.weight"], params[f"convs.{i}.bias"] = conv.weight, conv.bias
        y = torch.cat(pooled, dim=1)  # [B, sum F]
    dy = tensor(cfg["dy"], *y.shape)
    (y * dy).sum().backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    result = {
        "y": flat(y),
        "dx": flat(x.grad.permute(2, 0, 1)),  # back to [T, B, C]
        "grads": {name: flat(p.grad) for name, p in params.items()},
    }
    json.dump(result, open(dst, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
