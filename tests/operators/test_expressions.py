"""The expression language's bounds: what a user types cannot hold the worker or take its memory.

Each attack runs in a child process under a 1 GiB memory limit and a 120 s wall clock (operators.isolation),
so that a broken bound fails the test instead of the machine; the child reports the error and the peak of
Python allocations while the expression was parsed and evaluated (tracemalloc)."""
from __future__ import annotations

import inspect
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from operators import OperatorError
from operators.expressions import MAX_DEPTH, Expression
from operators.isolation import ChildFailed, memory_limit, run_limited, set_memory_limit
from tests.conftest import REPO

TABLE = {"x": [1, 2, 3], "name": ["ann", "bob", "cy"]}


def probe(texts: list[str]) -> dict:
    """In the child: parse and evaluate each expression over a small table; what happened, at what cost."""
    table = pd.DataFrame(TABLE)
    outcomes = {}
    for text in texts:
        tracemalloc.start()
        started = time.process_time()
        try:
            Expression(text).mask(table)
            outcome = {"error": None}
        except OperatorError as exc:
            outcome = {"error": exc.message, "field": exc.field}
        outcome.update(cpu_seconds=time.process_time() - started, peak_bytes=tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        outcomes[text] = outcome
    return outcomes


ATTACKS = [
    ("x > 10**10**10", "integer powers are limited to 4,096 bits"),
    ("x > (9**99)**99", "integer powers are limited to 4,096 bits"),
    ('"x" * 10**10 == name', "repetition is limited to 10,000,000 characters"),
    ("name * 10**9 == 'a'", "repetition is limited to 10,000,000 characters"),
    ("[1, 2] * 10**10 == x", "repetition is limited to 10,000,000 characters"),
    ('"%0999999999d" % 1 == name', "string formatting"),
    ("name % 1 == 'a'", "string formatting"),
    ("-" * 1990 + "x > 0", f"nested more than {MAX_DEPTH} levels deep"),
    ("not " * 490 + "x", f"nested more than {MAX_DEPTH} levels deep"),
    ("x + " * 490 + "x > 0", f"nested more than {MAX_DEPTH} levels deep"),
    ("(" * 300 + "x" + ")" * 300 + " > 0", "too many nested parentheses"),
    ("x > 0 or " * 300 + "x > 0", "longer than 2000 characters"),
    # the functions of operators.expression_functions keep the bounds: none makes more than it reads
    ("length(name * 10**9) > 0", "repetition is limited to 10,000,000 characters"),
    ("substring(upper(name * 10**8), 1, 2) == 'A'", "repetition is limited to 10,000,000 characters"),
    ("coalesce(x, 10**10**10) > 0", "integer powers are limited to 4,096 bits"),
    ("round(x, 10**100) > 0", "round() keeps at most 15 digits"),
    ("if(x > 0, '%0999999999d' % 1, name) == name", "string formatting"),
]


@pytest.fixture(scope="module")
def attacked() -> dict:
    """Every attack evaluated in one child process (a Python start with pandas costs seconds)."""
    return run_limited("tests.operators.test_expressions:probe", [text for text, _ in ATTACKS], memory=1024 ** 3,
                       wall_seconds=120, cwd=REPO)


@pytest.mark.parametrize("text, message", ATTACKS)
def test_attacks_are_refused_before_they_cost_anything(attacked, text, message):
    outcome = attacked[text]
    assert outcome["error"] and message in outcome["error"], outcome
    assert outcome["field"] == "expression"
    # Refused by a check, not after the work: a few megabytes at most (10**10**10 alone would be 4 GB of
    # digits), in well under the seconds the evaluation would take (generous: the machine may be busy).
    assert outcome["peak_bytes"] < 16 * 1024 ** 2, outcome
    assert outcome["cpu_seconds"] < 10, outcome


def test_a_broken_bound_would_show_here():
    """The child's own limits turn a runaway expression into a clear failure of this test, not of the machine:
    an evaluation that really allocates hits the memory limit."""
    with pytest.raises(ChildFailed) as failed:
        run_limited("tests.operators.test_expressions:allocate", 4 * 1024 ** 3, memory=512 * 1024 ** 2,
                    wall_seconds=120, cwd=REPO)
    assert failed.value.reason == "memory limit"


def allocate(size: int) -> int:
    return int(np.ones(size, dtype=np.uint8).sum())


@pytest.mark.parametrize("text, rows", [
    ("x ** 2 > 3", [False, True, True]),
    ("2 ** 62 > x and 10 ** 300 > 0", [True, True, True]),
    ("x % 2 == 1", [True, False, True]),
    ("name * 2 == 'annann' or name + '!' == 'cy!'", [True, False, True]),
    ("x * 10**10 > 10**10", [False, True, True]),
    (" + ".join(["x"] * 60) + " > 100", [False, True, True]),
    ("-" * 91 + "x < 0", [True, True, True]),
])
def test_ordinary_expressions_stay_allowed(text, rows):
    assert Expression(text).mask(pd.DataFrame(TABLE)).tolist() == rows


def test_recursion_and_memory_errors_become_the_fields_error():
    table = pd.DataFrame({"x": np.arange(5_000_000)})
    deep = Expression("-" * 90 + "x < 0")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)  # below what a 90-deep evaluation needs
    try:
        with pytest.raises(OperatorError, match="too deeply nested to evaluate") as err:
            deep.mask(table)
    finally:
        sys.setrecursionlimit(limit)
    assert err.value.field == "expression"
    outcome = run_limited("tests.operators.test_expressions:evaluate_near_the_limit", "x * 2 + x > 0",
                          memory=1024 ** 3, wall_seconds=120, cwd=REPO)
    assert outcome["field"] == "expression"
    assert "needs more memory than the worker's memory limit allows" in outcome["error"], outcome


def evaluate_near_the_limit(text: str) -> dict:
    """In the child: a 40 MB column, then the ceiling 50 MB above what the process holds, so that evaluating
    two 40 MB temporaries fails with MemoryError."""
    table = pd.DataFrame({"x": np.arange(5_000_000)})
    with open("/proc/self/status") as status:
        used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmData"))
    set_memory_limit(used + 50 * 1024 ** 2)
    assert memory_limit() == used + 50 * 1024 ** 2
    try:
        Expression(text).mask(table)
    except OperatorError as exc:
        return {"error": exc.message, "field": exc.field}
    return {"error": None}
