"""tests/peers/torch_safetensors.py IN OUT: PyTorch reads a loom safetensors file and writes one.

There is no safetensors package in Debian, so this is the ~20-line json + struct +
torch.frombuffer reader (and writer) a PyTorch user without it would write, following the
format's README: u64 little-endian header length, JSON header, raw little-endian row-major data.

Input JSON: read (a loom-written file), write (where to write PyTorch's file).
Output JSON: read {name: {dtype, shape, values}}, metadata, written {name: {dtype, shape, values}}
(the file written holds every tensor read, as 2 * x - 1 computed by torch in its own dtype, plus
"torch.extra"). Values are float64 lists (exact for every dtype here). Exit status 3 without torch.
"""
import json
import struct
import sys

try:
    import torch
except ImportError as e:
    print(f"python3-torch: {e}", file=sys.stderr)
    sys.exit(3)

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16,
          "BF16": torch.bfloat16, "I32": torch.int32}
NAMES = {v: k for k, v in DTYPES.items()}


def load(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0, "loom pads the header to 8-byte alignment"
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, end = e["data_offsets"]
        dtype = DTYPES[e["dtype"]]
        if end == b:  # frombuffer refuses an empty buffer
            t = torch.empty(e["shape"], dtype=dtype)
        else:
            t = torch.frombuffer(bytearray(data[b:end]), dtype=dtype).reshape(e["shape"])
        out[name] = t
    return out, meta


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: same bits as int16
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save(path, tensors, meta):
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def describe(tensors):
    return {name: {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                   "values": t.to(torch.float64).flatten().tolist()} for name, t in tensors.items()}


def main(src, dst):
    cfg = json.load(open(src))
    tensors, meta = load(cfg["read"])
    written = {name: t * 2 - 1 for name, t in tensors.items()}
    written["torch.extra"] = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4
    save(cfg["write"], written, {"format": "pt", "writer": "torch"})
    json.dump({"read": describe(tensors), "metadata": meta, "written": describe(written)}, open(dst, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
