"""BYTES tensors of the binary extension decoded with numpy, not one element at a time (issue 19, item 2).

A BYTES tensor is its elements back to back, each a 4-byte little-endian length and that many bytes. Where an
element starts depends on every length before it, so a plain reading is a loop over the elements. Here:

1. a length under 64 KiB has two zero high bytes, which text seldom has: the positions followed by two zero
   bytes are found in one pass, about one candidate per element;
2. each candidate's successor (its position + 4 + its length) is looked up among the candidates, and the
   chain from position 0 is followed by pointer doubling: log2(rows) numpy gathers give every start;
3. the elements are laid out as a (rows, longest) byte matrix of 64-bit words, hashed per row, so equal
   strings are found by np.unique (verified word for word) and each distinct one is decoded once (a
   categorical column holds few).

`decode_strings(raw, rows, nullable)` answers an object array of str (None for the empty string, which is a
missing value, as in a CSV file), or None when the data is malformed or unusual (a prefix runs past the end, the
count differs from `rows`, text that is not UTF-8, a matrix much larger than the data, an empty element in a
column that may not be null: known from the lengths, with no pass over the strings):
the caller's element-by-element reading then finds the fault and names it.
"""
from __future__ import annotations

import numpy as np

# The padded matrix may be this many times larger than the data before the per-element reading is cheaper.
MAX_PADDING = 8
# Up to this many bytes of tensor data, an element's successor is found by a table of positions (4 bytes each).
DENSE_LOOKUP = 8 << 20


def element_offsets(data: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(starts of the elements' bytes, their lengths) of `rows` length-prefixed elements filling `data` (uint8)
    exactly; None when they do not."""
    size = data.size
    if size < 4 or rows > size // 4:  # each element has its 4-byte prefix: `rows` (the client's) is bounded
        return None
    m = size - 3
    # A length under 64 KiB has two zero high bytes, which text seldom has: only those positions are read.
    # (A longer element breaks the chain, and the caller reads the tensor element by element.)
    candidates = np.flatnonzero((data[2:m + 2] == 0) & (data[3:] == 0))
    if candidates.size == 0 or candidates[0] != 0:
        return None
    length = data[candidates].astype(np.int64) | (data[candidates + 1].astype(np.int64) << 8)
    following = candidates + 4 + length
    end, bad = candidates.size, candidates.size + 1
    index = _index_among(candidates, following, size)
    found = candidates[np.minimum(index, end - 1)] == following
    step = np.concatenate([np.where(found, index, np.where(following == size, end, bad)), [end, bad]])
    chain = np.empty(rows + 1, dtype=np.int64)
    chain[0], filled, jump = 0, 1, step  # jump == step applied `filled` times
    while filled < rows + 1:
        take = min(filled, rows + 1 - filled)
        chain[filled:filled + take] = jump[chain[:take]]
        filled += take
        if filled < rows + 1:
            jump = jump[jump]
    if chain[rows] != end or (rows and chain[rows - 1] >= end):
        return None
    return candidates[chain[:rows]] + 4, length[chain[:rows]]


def _index_among(candidates: np.ndarray, positions: np.ndarray, size: int) -> np.ndarray:
    """Each position's index among the sorted `candidates` (positions in [0, size)) when it is one of them; for
    any other position an index whose candidate differs from it (the caller checks). Up to DENSE_LOOKUP bytes
    of data by a table of every position (one gather: a 1,000-row categorical column's 2,000 candidates took
    140 us by binary search on this machine, about 10 by the table); beyond, by binary search, so that the
    table never costs more than 4 bytes per byte of the request."""
    if size > DENSE_LOOKUP or candidates.size >= 2**31:
        return np.searchsorted(candidates, positions)
    table = np.zeros(size + 1, dtype=np.int32)  # 0 for a position that is no candidate: candidates[0] is 0 and
    table[candidates] = np.arange(candidates.size, dtype=np.int32)  # no position looked up is (each is >= 4)
    return table[np.minimum(positions, size)]


def decode_strings(raw, rows: int, nullable: bool = True) -> np.ndarray | None:
    """A BYTES tensor's `rows` elements as an object array of str, None for empty; None if it needs the slow
    reading (see the module's docstring), as when `nullable` is false and an element is empty."""
    data = np.frombuffer(raw, dtype=np.uint8)
    if rows == 0:
        return np.empty(0, dtype=object) if data.size == 0 else None
    offsets = element_offsets(data, rows)
    if offsets is None:
        return None
    starts, lengths = offsets
    if not nullable and not lengths.all():
        return None
    longest = int(lengths.max())
    if longest == 0:
        return np.full(rows, None, dtype=object)
    if rows * longest > MAX_PADDING * data.size + 4096:
        return None
    width = -(-longest // 8) * 8  # each element padded with NUL bytes to whole 64-bit words
    padded = np.concatenate([data, np.zeros(width, dtype=np.uint8)])
    matrix = np.lib.stride_tricks.sliding_window_view(padded, width)[starts]  # one row per element (a copy)
    matrix *= np.arange(width) < lengths[:, None]  # each row's bytes past its length to 0 (as a product:
    # a boolean mask assignment took 3-6 times as long)
    words = matrix.view(np.uint64)
    first, inverse = _distinct_rows(words, lengths)
    try:
        texts = [matrix[i, :n].tobytes().decode("utf-8") or None
                 for i, n in zip(first.tolist(), lengths[first].tolist(), strict=True)]
    except UnicodeDecodeError:
        return None
    return np.array(texts, dtype=object)[inverse]


def _distinct_rows(words: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a row of each distinct element, each row's distinct index): by a 64-bit hash of the words and the
    length, verified word for word (on a collision, by sorting the rows themselves)."""
    h = lengths.astype(np.uint64)
    for j in range(words.shape[1]):
        h = h * np.uint64(0x100000001B3) ^ words[:, j]
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if np.array_equal(words, words[first[inverse]]) and np.array_equal(lengths, lengths[first[inverse]]):
        return first, inverse
    keyed = np.concatenate([words, lengths.astype(np.uint64)[:, None]], axis=1)
    _, first, inverse = np.unique(keyed, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)
