"""Connected components of a small graph given as index pairs (union-find)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def component_roots(n: int, a: Iterable[int], b: Iterable[int]) -> np.ndarray:
    """Per node 0..n-1, the smallest node of its component, with edges (a[k], b[k]). The
    roots do not depend on the order of the edges."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(a, b, strict=True):
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return np.array([find(i) for i in range(n)], np.int64)
