"""Minimal safetensors reader/writer in plain Python + numpy.

The `safetensors` package is not available here, and the project's C loader
must read files exactly as the real library writes them, so this follows the
format closely:

  u64 little-endian N | N bytes of JSON header | data area
  header = {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
            "__metadata__": {str: str}}   (metadata optional)

Offsets are relative to the start of the data area; tensors are contiguous,
C-ordered, little-endian. Like the real library, the header is padded with
spaces so the data area starts at a multiple of 8.

BF16 is the upper half of an IEEE float32; conversion rounds to nearest even.
"""

import json
import struct
from collections import OrderedDict

import numpy as np

# safetensors dtype string -> numpy storage dtype (BF16 is stored as raw uint16)
_NP_OF = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

_ST_OF_NP = {
    np.dtype("float64"): "F64",
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
    np.dtype("int16"): "I16",
    np.dtype("int8"): "I8",
    np.dtype("uint8"): "U8",
    np.dtype("bool"): "BOOL",
}

FLOAT_DTYPES = ("F32", "F16", "BF16")


def f32_to_bf16_bits(x):
    """float32 array -> uint16 BF16 bit patterns, round-to-nearest-even."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    # Adding 0x7FFF plus the lowest kept bit rounds ties to even; overflow
    # naturally carries into the exponent (and to inf), as in torch.
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    rounded[nan] = 0x7FC0
    return rounded


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def round_to(x, st_dtype):
    """Rounds a float array to the values a file of dtype @st_dtype can hold
    (returned as float64, so a model can use them exactly)."""
    x32 = np.asarray(x, dtype=np.float32)
    if st_dtype == "F32":
        r = x32
    elif st_dtype == "F16":
        r = x32.astype(np.float16).astype(np.float32)
    elif st_dtype == "BF16":
        r = bf16_bits_to_f32(f32_to_bf16_bits(x32))
    else:
        raise ValueError(f"not a float safetensors dtype: {st_dtype}")
    return r.astype(np.float64)


def _encode(arr, st_dtype):
    arr = np.asarray(arr)
    if st_dtype == "BF16":
        return f32_to_bf16_bits(arr.astype(np.float32)).tobytes()
    np_dtype = _NP_OF[st_dtype]
    if arr.dtype.kind == "f" and np_dtype.kind == "f":
        conv = arr.astype(np_dtype)
        if np.isfinite(arr).all() and not np.isfinite(conv).all():
            raise OverflowError(f"value out of range for {st_dtype}")
    else:
        conv = arr.astype(np_dtype)
    return np.ascontiguousarray(conv).tobytes()


def save_file(tensors, path, float_dtype=None, metadata=None):
    """Writes @tensors (ordered name -> numpy array) to @path.

    float_dtype: "F32", "F16" or "BF16" to store every floating tensor in that
    dtype; None keeps each array's own dtype (float32 -> F32 ...).
    Integer tensors keep their dtype (e.g. num_batches_tracked as I64).
    A value of the form (st_dtype, array) forces the dtype of one tensor.
    """
    header = OrderedDict()
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, value in tensors.items():
        if isinstance(value, tuple):
            st_dtype, arr = value
            arr = np.asarray(arr)
        else:
            arr = np.asarray(value)
            if arr.dtype.kind == "f" and float_dtype is not None:
                st_dtype = float_dtype
            else:
                st_dtype = _ST_OF_NP[arr.dtype]
        blob = _encode(arr, st_dtype)
        assert len(blob) == arr.size * _NP_OF[st_dtype].itemsize
        header[name] = {"dtype": st_dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)

    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for blob in blobs:
            f.write(blob)


def load_file(path, to_float32=False):
    """Reads @path -> (OrderedDict name -> numpy array, metadata dict or None).

    Arrays are in their stored dtype; BF16 is returned as float32 (numpy has
    no bfloat16), and with to_float32=True every float tensor is float32.
    The header is checked: offsets in bounds, contiguous, sizes matching shapes.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} beyond end of file")
    header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    data = memoryview(raw)[8 + n:]
    metadata = header.pop("__metadata__", None)

    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    expect = 0
    out = OrderedDict()
    for name, info in entries:
        st_dtype = info["dtype"]
        shape = tuple(int(s) for s in info["shape"])
        begin, end = info["data_offsets"]
        np_dtype = _NP_OF.get(st_dtype)
        if np_dtype is None:
            raise ValueError(f"{path}: {name}: unknown dtype {st_dtype}")
        if begin != expect or end < begin or end > len(data):
            raise ValueError(f"{path}: {name}: bad data_offsets {begin},{end}")
        if end - begin != int(np.prod(shape, dtype=np.int64)) * np_dtype.itemsize:
            raise ValueError(f"{path}: {name}: {end - begin} bytes for shape {shape}")
        arr = np.frombuffer(data[begin:end], dtype=np_dtype).reshape(shape).copy()
        if st_dtype == "BF16":
            arr = bf16_bits_to_f32(arr).reshape(shape)
        if to_float32 and st_dtype in FLOAT_DTYPES + ("F64",):
            arr = arr.astype(np.float32)
        out[name] = arr
        expect = end
    if expect != len(data):
        raise ValueError(f"{path}: {len(data) - expect} trailing bytes after the last tensor")
    # Report tensors in header order, as a writer meant them.
    return OrderedDict((k, out[k]) for k in header), metadata


def read_header(path):
    """The parsed JSON header (dtype/shape/offsets per name), without the data."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n).decode("utf-8"), object_pairs_hook=OrderedDict)
