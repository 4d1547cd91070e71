"""Micro-batching: concurrent small requests share one kernel call and each gets exactly its own rows' scores;
a failing batch falls back to scoring each request alone."""
from __future__ import annotations

import asyncio
import json
import threading

import numpy as np

from pipelines.bundle import load_bundle, table_to_columns
from studio.serving.batching import MicroBatcher

from .conftest import http, registry_models, serving_process, v2_json


def _rows(bundle, table, start, n):
    return table_to_columns(table.iloc[start:start + n].reset_index(drop=True), bundle.input_spec)


def test_requests_arriving_together_share_one_call_and_get_their_own_rows(bundles, scoring_table):
    bundle = load_bundle(bundles["1"])
    calls = []

    class Counting:
        def predict(self, columns, n_rows, explain=False):
            calls.append(n_rows)
            return bundle.predict(columns, n_rows)

    served = Counting()
    batcher = MicroBatcher(max_rows=10)
    sizes = [1, 3, 1, 2, 4, 1]  # 12 rows: more than max_rows, so two calls
    starts = np.cumsum([0] + sizes[:-1])

    async def main():
        return await asyncio.gather(*(batcher.predict(served, _rows(bundle, scoring_table, s, n), n)
                                      for s, n in zip(starts, sizes, strict=True)))

    answers = asyncio.run(main())
    assert calls == [7, 5] and batcher.batches == 2  # 1+3+1+2, then 4+1: a batch stops before max_rows
    expected = bundle.predict(_rows(bundle, scoring_table, 0, 12), 12)
    for answer, s, n in zip(answers, starts, sizes, strict=True):
        assert np.array_equal(answer["probability"], expected["probability"][s:s + n])
        assert np.array_equal(answer["label"], expected["label"][s:s + n])


def test_a_failing_request_does_not_fail_its_batch(bundles, scoring_table):
    bundle = load_bundle(bundles["1"])
    good = _rows(bundle, scoring_table, 0, 2)
    bad = dict(_rows(bundle, scoring_table, 2, 1))
    bad["age"] = np.array(["not a number"], dtype=object)  # the kernel refuses it, naming the column
    batcher = MicroBatcher()

    async def main():
        return await asyncio.gather(batcher.predict(bundle, good, 2), batcher.predict(bundle, bad, 1),
                                    return_exceptions=True)

    ok, failed = asyncio.run(main())
    assert np.array_equal(ok["probability"], bundle.predict(good, 2)["probability"])
    assert "'age'" in str(failed)


def test_concurrent_single_rows_over_http_each_get_their_own_score(tmp_path, bundles, scoring_table):
    from pipelines.bundle import write_registry

    bundle = load_bundle(bundles["1"])
    write_registry(tmp_path / "var" / "serving" / "registry.json", registry_models(bundles, live="1"))
    expected = bundle.score_table(scoring_table.head(400))["probability"]
    errors = []
    with serving_process(tmp_path) as server:
        def client(offset):
            for i in range(offset, 400, 8):
                body = json.dumps(v2_json(_rows(bundle, scoring_table, i, 1), bundle.input_spec)).encode()
                status, _, answer = http("POST", server.url + "/v2/models/credit/infer", body)
                p = json.loads(answer)["outputs"][0]["data"][0] if status == 200 else None
                if p is None or abs(p - expected[i]) > 1e-9:
                    errors.append((i, status, p, expected[i]))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert errors == []
