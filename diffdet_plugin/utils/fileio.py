"""Atomic file writes: a long run killed at any moment leaves either the old file or the new
one, never half of one (synthesis shards, dataset files, benchmark records, exports)."""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import tempfile


def atomic_write_bytes(path: str, data: bytes):
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp_', suffix=osp.basename(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_json(path: str, obj, indent=None, separators=None):
    """``json.dumps(obj, indent=indent, separators=separators)`` written atomically."""
    atomic_write_bytes(path, json.dumps(obj, indent=indent, separators=separators).encode())


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()
