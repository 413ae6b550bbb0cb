import struct

import numpy as np
import pytest

from ticketguard.models.e5_format import E5File, dequantize_q4_0
from ticketguard.models.errors import BaseModelError


def test_q4_block_decodes_low_nibbles_first():
    scale = np.float16(0.5).tobytes()
    # byte j holds value j in the low nibble and value j+16 in the high nibble
    nibbles = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    values = dequantize_q4_0(scale + nibbles, 32)
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert values[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_q4_count_must_fill_blocks():
    with pytest.raises(BaseModelError, match="multiple of 32"):
        dequantize_q4_0(b"\x00" * 18, 31)


def test_bad_magic_is_refused(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(BaseModelError, match="bad magic"):
        E5File(path)


def test_truncated_header_is_refused(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"E5S1" + struct.pack("<I", 1) + struct.pack("<3i", 384, 12, 12))
    with pytest.raises(BaseModelError, match="truncated"):
        E5File(path)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(BaseModelError, match="cannot read"):
        E5File(tmp_path / "absent.bin")
