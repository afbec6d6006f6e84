"""Python's cyclic garbage collector, paused while preflight works through one stack.

Rendering a stack makes an asyncio task and futures for every output, and the AWS SDK's modules alone hold
hundreds of thousands of objects. With the collector running, every full collection walks all of them, and a
stack's render, its policy pack and its scanners each triggered several: about half of a render's CPU time, and
most of the pack's. Paused, the garbage one stack's work leaves behind is collected in one pass when the work is
done. The price is memory: garbage only the collector frees (mostly the botocore service models a program's
components load) waits until then, about 100 MiB more at the peak (`benchmarks/bench_preflight.py` reports it).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (or, as `@paused()`, the function), then as it was before; nested
    pauses leave it off until the outermost one ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
