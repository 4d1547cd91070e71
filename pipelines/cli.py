"""`python -m pipelines run PIPELINE.json`: progress per node, then one JSON line summarising the run."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time

from .executor import CancelToken, Event


def _parse_param(text: str):
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--param takes NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run a pipeline JSON file")
    run_p.add_argument("pipeline")
    run_p.add_argument("--engine", default="local", choices=["local", "spark"])
    group = run_p.add_mutually_exclusive_group()
    group.add_argument("--from", dest="from_node", metavar="NODE", help="run NODE and everything downstream")
    group.add_argument("--only", metavar="NODE", help="run NODE alone, from cached inputs")
    group.add_argument("--until", metavar="NODE", help="run NODE and what it needs")
    run_p.add_argument("--force", action="store_true", help="ignore the cache for the nodes that run")
    run_p.add_argument("--store",
                       help="artifact store folder or s3://bucket/prefix (default $STUDIO_ARTIFACTS or .artifacts)")
    run_p.add_argument("--data-root", help="folder that file imports read below (default: the pipeline's folder)")
    run_p.add_argument("--param", action="append", type=_parse_param, default=[], metavar="NAME=VALUE")
    run_p.add_argument("--max-parallel", type=int, default=4)
    run_p.add_argument("--quiet", action="store_true", help="print only the summary line")
    val_p = sub.add_parser("validate", help="check a pipeline JSON file and list every error")
    val_p.add_argument("pipeline")
    sub.add_parser("catalogue", help="print the operator catalogue as JSON")
    score_p = sub.add_parser("score", help="batch-score a CSV or Parquet table with a model bundle "
                                           "(the same numbers as the online service)")
    score_p.add_argument("bundle", help="bundle directory or .tar.gz (verified before scoring)")
    score_p.add_argument("table", help="CSV or Parquet file holding the bundle's input columns")
    score_p.add_argument("-o", "--output", required=True, help="Parquet file: the table plus probability, label")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    from . import GraphFormatError, load, validate

    if args.command == "catalogue":
        import operators

        print(json.dumps(operators.catalogue(), indent=2))
        return 0
    if args.command == "score":
        return _score(args.bundle, args.table, args.output)
    try:
        graph = load(args.pipeline)
    except (OSError, GraphFormatError) as exc:
        print(json.dumps({"status": "invalid", "errors": [{"message": str(exc)}]}))
        return 2
    if args.command == "validate":
        errors = validate(graph)
        print(json.dumps({"status": "invalid" if errors else "valid", "errors": [e.as_json() for e in errors]}))
        return 2 if errors else 0
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from . import PipelineInvalid, run

    token = CancelToken()
    signal.signal(signal.SIGINT, lambda *_: token.cancel())
    signal.signal(signal.SIGTERM, lambda *_: token.cancel())
    try:
        result = run(args.pipeline, engine=args.engine, from_node=args.from_node, only=args.only,
                     until=args.until, force=args.force, store_root=args.store, data_root=args.data_root,
                     params=dict(args.param), max_parallel=args.max_parallel,
                     on_event=None if args.quiet else _printer(time.monotonic()), cancel=token)
    except PipelineInvalid as exc:
        print(json.dumps({"status": "invalid", "errors": [e.as_json() for e in exc.errors]}))
        return 2
    except ValueError as exc:
        print(json.dumps({"status": "invalid", "errors": [{"message": str(exc)}]}))
        return 2
    print(json.dumps(result.summary()), flush=True)
    return 0 if result.status == "succeeded" else 1


def _printer(started: float):
    """An event sink printing one line per node step, with the seconds since `started`."""

    def show(event: Event) -> None:
        if event.type in ("node_queued", "run_started", "run_finished"):
            return
        stamp = f"{time.monotonic() - started:7.2f}s"
        data = event.data
        detail = {
            "node_progress": lambda: f"{data['progress']:.0%} {data.get('message', '')}",
            "node_log": lambda: data["message"],
            "node_succeeded": lambda: f"in {data['duration']:.2f}s",
            "node_failed": lambda: data["error"]["message"],
            "node_skipped": lambda: data["reason"],
            "node_cancelled": lambda: data["reason"],
        }.get(event.type, lambda: "")()
        print(f"{stamp} {event.node:<24} {event.type.removeprefix('node_'):<10} {detail}".rstrip(), flush=True)

    return show


if __name__ == "__main__":
    sys.exit(main())


def _score(bundle_path: str, table_path: str, output: str) -> int:
    import pandas as pd

    from .bundle import BundleRefused, load_bundle

    try:
        bundle = load_bundle(bundle_path)
    except (BundleRefused, OSError) as exc:
        print(json.dumps({"status": "refused", "error": str(exc)}))
        return 2
    table = pd.read_parquet(table_path) if table_path.endswith(".parquet") else pd.read_csv(table_path)
    started = time.monotonic()
    try:
        scores = bundle.score_table(table)
    except Exception as exc:  # a missing or non-numeric column: the kernels name it
        print(json.dumps({"status": "failed", "error": str(getattr(exc, "message", exc))}))
        return 2
    out = table.copy()
    out["probability"], out["label"] = scores["probability"], scores["label"]
    out.to_parquet(output, index=False)
    print(json.dumps({"status": "succeeded", "rows": len(out), "model": bundle.name, "version": bundle.version,
                      "seconds": round(time.monotonic() - started, 3), "output": output}))
    return 0
