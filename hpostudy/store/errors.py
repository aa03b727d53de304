"""The store's errors: each says what is wrong and what to do."""
from __future__ import annotations


class StoreError(RuntimeError):
    """A result folder or checkpoint cannot be used as it is; the message says what to do."""


class CheckpointCorrupt(StoreError):
    """A checkpoint file could not be read (truncated or not a checkpoint)."""


class FolderBusy(StoreError):
    """Another live process is writing into the same output folder."""
