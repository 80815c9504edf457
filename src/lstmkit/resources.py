"""What this machine has now: memory (used to refuse work before it is allocated).

A bottom module: it imports nothing of lstmkit, so readers and training can both ask it.
"""

from __future__ import annotations

import os


def total_bytes() -> int | None:
    """Physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return None


def available_bytes() -> int | None:
    """Memory a new allocation can get now (Linux's MemAvailable), else the physical total."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return total_bytes()
