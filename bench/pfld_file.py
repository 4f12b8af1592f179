"""Reads and writes pfld's model files (include/pfld/io/model_file.hpp) from Python, and moves weights
between them and the PyTorch PFLD model of tests/fixtures/make_model_fixtures.py (OHWI <-> OIHW)."""
import struct
import zlib

import numpy as np

MAGIC = b"PFLDMODL"
ACTIVATIONS = ["identity", "relu", "relu6"]  # pfld::Activation's order


def read(path):
    data = open(path, "rb").read()
    if data[:8] != MAGIC:
        raise ValueError(f"{path}: not a pfld model file")
    if struct.unpack_from("<I", data, len(data) - 4)[0] != zlib.crc32(data[:-4]):
        raise ValueError(f"{path}: checksum mismatch")
    at = 8
    version, kind, width, landmarks, size, act = struct.unpack_from("<IIfIII", data, at)
    at += 24

    def u32():
        nonlocal at
        (v,) = struct.unpack_from("<I", data, at)
        at += 4
        return v

    def text():
        nonlocal at
        n = u32()
        at += n
        return data[at - n:at].decode()

    metadata = {}
    for _ in range(u32()):
        key = text()
        metadata[key] = text()
    tensors = {}
    for _ in range(u32()):
        name = text()
        element = u32() if version == 2 else 0  # 0: f32, 1: s8 (an int8 model's weights)
        dims = [u32() for _ in range(u32())]
        count = int(np.prod(dims)) if dims else 1
        dtype, size = ("<f4", 4) if element == 0 else ("i1", 1)
        tensors[name] = np.frombuffer(data, dtype, count, at).reshape(dims).astype(np.float32)
        at += size * count
    config = {"width": width, "landmarks": landmarks, "input_size": size, "activation": ACTIVATIONS[act]}
    return {"version": version, "kind": kind, "config": config, "metadata": metadata, "tensors": tensors}


def write(path, config, tensors, metadata=None):
    out = bytearray(MAGIC)
    out += struct.pack("<IIfIII", 1, 1, config["width"], config["landmarks"], config.get("input_size", 112),
                       ACTIVATIONS.index(config.get("activation", "relu")))

    def text(s):
        b = s.encode()
        out.extend(struct.pack("<I", len(b)) + b)

    metadata = metadata or {}
    out += struct.pack("<I", len(metadata))
    for k in sorted(metadata):
        text(k)
        text(metadata[k])
    out += struct.pack("<I", len(tensors))
    for name, t in tensors.items():
        text(name)
        t = np.ascontiguousarray(t, dtype="<f4")
        out += struct.pack("<I", t.ndim) + struct.pack(f"<{t.ndim}I", *t.shape) + t.tobytes()
    out += struct.pack("<I", zlib.crc32(bytes(out)))
    with open(path, "wb") as f:
        f.write(out)


def from_torch(module):
    """pfld tensors (conv weights OHWI) from a PyTorch module's parameters and buffers."""
    out = {}
    for name, t in list(module.named_parameters()) + list(module.named_buffers()):
        if name.endswith("num_batches_tracked"):
            continue
        a = t.detach().float().numpy()
        out[name] = a.transpose(0, 2, 3, 1) if a.ndim == 4 else a
    return out


def to_torch(module, tensors):
    """Loads pfld tensors into a PyTorch module with the same names."""
    import torch

    state = {}
    for name, t in module.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = t
            continue
        a = tensors[name]
        state[name] = torch.from_numpy(a.transpose(0, 3, 1, 2).copy() if a.ndim == 4 else a)
    module.load_state_dict(state)
