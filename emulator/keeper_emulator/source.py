"""The guard every correction stands behind: the moto code it replaces must still be what the
correction was written against, or the emulator refuses to start (a newer moto is re-checked by
a person, never silently mis-patched)."""

from __future__ import annotations

import inspect

PINNED_MOTO = "5.2.5"


class PatchTargetMoved(RuntimeError):
    """The moto code a patch replaces is not what the patch was written against."""


def require_source(obj, *snippets: str) -> None:
    source = inspect.getsource(obj)
    for snippet in snippets:
        if snippet not in source:
            raise PatchTargetMoved(
                f"{obj.__module__}.{obj.__qualname__} no longer contains {snippet!r}: "
                f"re-check emulator/keeper_emulator/ against this moto version"
            )
