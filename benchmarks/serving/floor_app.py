"""The floor of the serving benchmark: a bare Starlette + uvicorn + orjson endpoint that only calls the same
LightGBM model on one pre-computed feature row (no parsing, no validation, no feature kernel, no metrics).

    BENCH_MODEL=model.txt BENCH_ROW=row.npy python -m uvicorn benchmarks.serving.floor_app:app ...
"""
from __future__ import annotations

import os

import lightgbm as lgb
import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

booster = lgb.Booster(model_file=os.environ["BENCH_MODEL"])
row = np.load(os.environ["BENCH_ROW"], allow_pickle=False).reshape(1, -1)


async def infer(request):
    await request.body()
    probability = booster.predict(row, num_threads=1)
    return Response(orjson.dumps({"probability": float(probability[0])}), media_type="application/json")


async def ready(request):
    return Response(b"{}", media_type="application/json")


app = Starlette(routes=[Route("/infer", infer, methods=["POST"]), Route("/v2/health/ready", ready)])
