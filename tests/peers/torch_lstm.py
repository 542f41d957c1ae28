"""tests/peers/torch_lstm.py IN OUT: torch.nn.LSTM on the inputs loom's test wrote.

Input JSON: input_size, hidden_size, num_layers, bidirectional, T, B, x [T*B*C], lengths [B] or
null, h0/c0 [L*D*B*H] or null, params {state_dict name: flat values}, dy, dh_n, dc_n (flat
seeds of the backward pass). The batch goes through pack_padded_sequence (enforce_sorted=False)
when lengths are given, as users of variable-length batches run it.
Output JSON: y [T*B*D*H] (zero padded), h_n, c_n, grads {name: flat}, dx, dh0, dc0.
Exit status 3 when torch is missing.
"""
import json
import sys

try:
    import torch
except ImportError as e:
    print(f"python3-torch: {e}", file=sys.stderr)
    sys.exit(3)


def main(src, dst):
    cfg = json.load(open(src))
    torch.set_num_threads(1)
    T, B, C, H = cfg["T"], cfg["B"], cfg["input_size"], cfg["hidden_size"]
    L, bi = cfg["num_layers"], cfg["bidirectional"]
    D = 2 if bi else 1
    lstm = torch.nn.LSTM(C, H, num_layers=L, bidirectional=bi)
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.copy_(torch.tensor(cfg["params"][name], dtype=torch.float32).view_as(p))
    x = torch.tensor(cfg["x"], dtype=torch.float32).view(T, B, C).requires_grad_()
    state = None
    if cfg.get("h0") is not None:
        h0 = torch.tensor(cfg["h0"], dtype=torch.float32).view(L * D, B, H).requires_grad_()
        c0 = torch.tensor(cfg["c0"], dtype=torch.float32).view(L * D, B, H).requires_grad_()
        state = (h0, c0)
    if cfg.get("lengths") is not None:
        lengths = torch.tensor(cfg["lengths"], dtype=torch.int64)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, (h_n, c_n) = lstm(packed, state)
        y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    else:
        y, (h_n, c_n) = lstm(x, state)
    seed = lambda k, like: torch.tensor(cfg[k], dtype=torch.float32).view_as(like)
    loss = (y * seed("dy", y)).sum() + (h_n * seed("dh_n", h_n)).sum() + (c_n * seed("dc_n", c_n)).sum()
    loss.backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    result = {
        "torch_version": torch.__version__,
        "y": flat(y), "h_n": flat(h_n), "c_n": flat(c_n), "dx": flat(x.grad),
        "grads": {name: flat(p.grad) for name, p in lstm.named_parameters()},
    }
    if state is not None:
        result["dh0"], result["dc0"] = flat(state[0].grad), flat(state[1].grad)
    json.dump(result, open(dst, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
