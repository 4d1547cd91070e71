"""Which requests the server scores on its event loop and which in a thread (server.INLINE_SECONDS): a request
whose version's measured cost per row says it is cheap is scored inline, with no thread hand-off; an expensive
one off the loop, so that it does not hold up the requests behind it. Proved by the thread that ran each
call, never by timing: the costs are what the server measured, or set here to say "cheap" / "expensive"."""
from __future__ import annotations

import asyncio
import threading

import numpy as np

from pipelines.bundle import load_bundle, table_to_columns
from studio.serving.batching import Costs
from studio.serving.repository import Repository
from studio.serving.server import INLINE_ROWS, InferenceServer


class WhichThread:
    """A real bundle that notes the thread of each of its calls (the scoring itself is the bundle's)."""

    def __init__(self, bundle):
        self.bundle, self.row_scorer, self.threads = bundle, bundle.row_scorer, []
        self.input_spec = bundle.input_spec

    def predict(self, columns, n_rows, *, explain=False):
        self.threads.append(threading.get_ident())
        return self.bundle.predict(columns, n_rows, explain=explain)


def _server() -> InferenceServer:
    return InferenceServer(Repository(None, loader=load_bundle, read_registry=dict), require_keys=False)


def _measured(server, served, n_rows, seconds):
    """As if the version's calls of about `n_rows` rows had always taken `seconds`."""
    server.costs._per_row[served][Costs._class(n_rows, False)] = seconds / n_rows


def _score(server, served, columns, n_rows, explain=False):
    """(outputs, whether the call ran on the event loop's thread)."""
    async def main():
        loop_thread = threading.get_ident()
        outputs = await server.predict(served, columns, n_rows, explain)
        return outputs, served.threads[-1] == loop_thread
    return asyncio.run(main())


def test_a_cheap_request_is_scored_on_the_loop_an_expensive_one_in_a_thread(bundles, scoring_table):
    bundle = load_bundle(bundles["1"])
    served, server = WhichThread(bundle), _server()
    n = 1000
    columns = table_to_columns(scoring_table.head(n), bundle.input_spec)
    batch = bundle.predict(columns, n)["probability"]

    outputs, inline = _score(server, served, columns, n)  # not measured yet: as many rows go to a thread
    assert not inline and n > INLINE_ROWS
    assert server.costs.expected(served, n) is not None  # ... which measured it
    np.testing.assert_allclose(outputs["probability"], batch, rtol=0, atol=1e-9)

    _measured(server, served, n, 50e-6)  # measured cheap (as LR's 1,000 rows are): the loop scores it
    outputs, inline = _score(server, served, columns, n)
    assert inline
    np.testing.assert_allclose(outputs["probability"], batch, rtol=0, atol=1e-9)
    assert server.costs.expected(served, n) is not None

    _measured(server, served, n, 1.0)  # a second a call: off the loop
    outputs, inline = _score(server, served, columns, n)
    assert not inline
    np.testing.assert_allclose(outputs["probability"], batch, rtol=0, atol=1e-9)


def test_a_single_row_is_scored_on_the_loop_unless_its_version_is_measured_expensive(bundles, scoring_table):
    bundle = load_bundle(bundles["1"])
    assert bundle.row_scorer is not None
    served, server = WhichThread(bundle), _server()
    batch = bundle.predict(table_to_columns(scoring_table.head(5), bundle.input_spec), 5)["probability"]
    for i in range(5):
        one = table_to_columns(scoring_table.iloc[i:i + 1].reset_index(drop=True), bundle.input_spec)
        if i:  # measured cheap, as a row is on an idle machine (on a loaded one the real figure may not be)
            _measured(server, served, 1, 20e-6)
        outputs, inline = _score(server, served, one, 1)
        assert inline and server.batcher.batches == 0  # on the loop, one by one on the row path
        assert abs(outputs["probability"][0] - batch[i]) <= 1e-9
    server.inline_seconds = 0.0  # every measured cost is over it now: a thread scores the row
    outputs, inline = _score(server, served, one, 1)
    assert not inline and abs(outputs["probability"][0] - batch[4]) <= 1e-9


def test_costs_are_kept_per_version_and_size_and_forgotten_with_the_version():
    class Version:
        pass

    costs, a, b = Costs(), Version(), Version()
    assert costs.expected(a, 1000) is None
    costs.observe(a, 1000, 0.001)
    assert costs.expected(a, 1000) == 0.001 and costs.expected(a, 600) == 0.0006  # 512-1023 rows: one size
    assert costs.expected(a, 1) is None and costs.expected(a, 1000, explain=True) is None
    assert costs.expected(b, 1000) is None
    costs.observe(a, 1000, 0.002)  # a moving average: one slow call moves it, does not replace it
    assert 0.001 < costs.expected(a, 1000) < 0.002
    del a
    assert len(costs._per_row) == 0
