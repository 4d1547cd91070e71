"""python_script: a user's Python function over the input tables (Azure ML designer's Execute Python Script),
run in a child process, never in the worker's.

    def run(tables: dict[str, pd.DataFrame], params: dict) -> dict[str, pd.DataFrame]:
        df = tables["t1"]
        return {"table": df.assign(ratio=df["debt"] / df["income"])}

The child (operators.isolation.run_limited) starts with none of the worker's environment (no SECRET_KEY, no
DATABASE_URL), under a memory limit, a CPU-time limit and a wall-clock timeout, and confines itself
(operators.sandbox) before the code runs: no network, and of the filesystem only Python's own files and its
working directory, where the inputs wait as Parquet files and the outputs are written as Parquet files
(no pickle crosses). The studio's database, data dir and secret key are out of its reach.

Scripts are off unless an administrator sets STUDIO_ALLOW_SCRIPTS=1 for the studio and its workers: until
then a pipeline with this operator fails validation, saying so.
"""
from __future__ import annotations

import os
import resource
import traceback
from pathlib import Path

import pandas as pd
from pydantic import Field, JsonValue, field_validator

from ..contract import Cancelled, Operator, OperatorError, Params, Port, PortType
from ..isolation import ChildFailed, describe_size, run_limited

MAX_CODE = 100_000  # characters of code
SCRIPT_NAME = "<script>"  # the file name tracebacks give the user's code
DISABLED = ("Python scripts are turned off on this studio; an administrator turns them on with "
            "STUDIO_ALLOW_SCRIPTS=1 (for the web process and the workers)")
EXAMPLE = '''def run(tables, params):
    df = tables["t1"]
    return {"table": df}
'''
OUTPUTS = ("table", "second")


def scripts_allowed() -> bool:
    return os.environ.get("STUDIO_ALLOW_SCRIPTS", "") == "1"


class PythonScript(Operator):
    """Runs `def run(tables, params)`: `tables` maps t1 (and t2, t3 when connected) to pandas DataFrames,
    `params` is the node's `params` object; it returns {"table": DataFrame} and optionally "second". pandas and
    numpy are there; the network, the environment and files other than its own are not. It runs in a separate
    process under `memory_mb`, and is stopped after `timeout_seconds` (wall clock and CPU time). An error shows
    the line of the script it happened on. Disabled unless the administrator sets STUDIO_ALLOW_SCRIPTS=1."""

    name = "python_script"

    spark = "operators.spark.script:python_script"
    category = "Data preparation"
    description = "Your own Python over pandas tables, in a sandboxed process (STUDIO_ALLOW_SCRIPTS=1)."
    inputs = (Port("t1", PortType.TABLE, "tables['t1']"), Port("t2", PortType.TABLE, "tables['t2']", optional=True),
              Port("t3", PortType.TABLE, "tables['t3']", optional=True))
    outputs = (Port("table", PortType.TABLE, "What run returns as 'table'"),
               Port("second", PortType.TABLE, "What run returns as 'second' (empty if nothing)"))

    class Params(Params):
        code: str = Field(EXAMPLE, min_length=1, max_length=MAX_CODE,
                          description="def run(tables, params) -> {'table': DataFrame}",
                          json_schema_extra={"widget": "code", "language": "python"})
        params: dict[str, JsonValue] = Field(default_factory=dict, description="Passed to run as `params`")
        timeout_seconds: int = Field(120, ge=1, le=3600, description="Stopped after this long (wall clock and CPU)")
        memory_mb: int = Field(2048, ge=256, le=65536, description="Memory the script's process may use")

        @field_validator("code")
        @classmethod
        def _scripts_allowed(cls, code: str) -> str:
            if not scripts_allowed():
                raise ValueError(DISABLED)
            return code

    def run(self, ctx, inputs, params):
        if not scripts_allowed():  # the worker's own setting, whatever validated the graph
            raise OperatorError(DISABLED, field="code")
        workdir = ctx.scratch_dir() / "script"
        (workdir / "out").mkdir(parents=True)
        names = {}
        for port in ("t1", "t2", "t3"):
            if inputs.get(port) is not None:
                inputs[port].to_parquet(workdir / f"{port}.parquet", index=False)
                names[port] = f"{port}.parquet"
        payload = {"code": params.code, "params": params.params, "inputs": names, "workdir": str(workdir),
                   "file_limit": params.memory_mb * 1024 ** 2}
        try:
            answer = run_limited("operators.library.script:child", payload, memory=params.memory_mb * 1024 ** 2,
                                 cpu_seconds=params.timeout_seconds, wall_seconds=params.timeout_seconds + 15,
                                 cwd=workdir, cancelled=lambda: ctx.cancelled)
        except ChildFailed as failed:
            _log_output(ctx, failed.output)
            if failed.reason == "cancelled":
                raise Cancelled(f"node {ctx.node_id!r} was cancelled") from None
            raise OperatorError(_failure_message(failed, params), field="code") from None
        _log_output(ctx, answer.get("output", ""))
        ctx.log(f"confined: {', '.join(answer['confined']) or 'nothing'}")
        if answer.get("error"):
            raise OperatorError(answer["error"], field="code")
        return {name: (pd.read_parquet(workdir / "out" / answer["outputs"][name]) if name in answer["outputs"]
                       else pd.DataFrame()) for name in OUTPUTS}


def _log_output(ctx, output: str) -> None:
    if output and output.strip():
        ctx.log("script output:\n" + output.strip()[-4000:])


def _failure_message(failed: ChildFailed, params) -> str:
    if failed.reason == "memory limit":
        return f"the script went over its memory limit of {describe_size(params.memory_mb * 1024 ** 2)} (memory_mb)"
    if failed.reason in ("cpu time limit", "wall-clock limit"):
        return f"the script was stopped after its time limit of {params.timeout_seconds} s (timeout_seconds)"
    return f"the script's process failed: {failed.message}"


# ------------------------------------------------------------------------------------------ in the child
def child(payload: dict) -> dict:
    """In the child process (operators.isolation): confine, load the inputs, run the user's `run`, write its
    tables. Returns {"outputs", "confined", "output", "error"}; the user's errors come back as text with the
    line of the script."""
    import contextlib
    import io

    from ..sandbox import confine

    workdir = Path(payload["workdir"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (payload["file_limit"], payload["file_limit"]))
    # HOME is the directory operators.isolation gave the child: its request, and the result it writes there
    confined = confine(workdir, also_writable=(Path(os.environ["HOME"]),))
    tables = {port: pd.read_parquet(workdir / name) for port, name in payload["inputs"].items()}
    printed = io.StringIO()
    answer = {"outputs": {}, "confined": confined, "error": None}
    try:
        with contextlib.redirect_stdout(printed):
            result = _call(payload["code"], tables, payload["params"])
        answer["outputs"] = _write_outputs(result, workdir / "out")
    except MemoryError:
        raise
    except _ScriptError as exc:
        answer["error"] = str(exc)
    except Exception as exc:  # the user's code failed: its traceback, in the user's lines
        answer["error"] = _user_traceback(exc, payload["code"])
    answer["output"] = printed.getvalue()[-4000:]
    return answer


class _ScriptError(Exception):
    """The script broke the contract (no run function, a wrong return value)."""


def _call(code: str, tables: dict, params: dict):
    namespace = {"__name__": "__script__"}
    exec(compile(code, SCRIPT_NAME, "exec"), namespace)  # noqa: S102 - the point of this confined child process
    run = namespace.get("run")
    if not callable(run):
        raise _ScriptError("the script defines no function run(tables, params)")
    return run(tables, params)


def _write_outputs(result, out: Path) -> dict[str, str]:
    if not isinstance(result, dict) or "table" not in result:
        raise _ScriptError(f"run must return a dict with a 'table' DataFrame, not {type(result).__name__}"
                           + (f" with keys {sorted(map(str, result))[:10]}" if isinstance(result, dict) else ""))
    written = {}
    for name, table in result.items():
        if name not in OUTPUTS:
            raise _ScriptError(f"run returned {name!r}; the outputs are {', '.join(OUTPUTS)}")
        if not isinstance(table, pd.DataFrame):
            raise _ScriptError(f"run returned {type(table).__name__} as {name!r}, not a pandas DataFrame")
        table.columns = [str(c) for c in table.columns]
        table.to_parquet(out / f"{name}.parquet", index=False)
        written[name] = f"{name}.parquet"
    return written


def _user_traceback(exc: BaseException, code: str) -> str:
    """`NameError: name 'x' is not defined`, then the user's lines it passed through (line number and text)."""
    lines = code.splitlines()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == SCRIPT_NAME]
    if isinstance(exc, SyntaxError) and exc.filename == SCRIPT_NAME:
        return f"SyntaxError at line {exc.lineno}, column {exc.offset}: {exc.msg}"
    where = "; ".join(f"line {f.lineno} in {f.name}: {lines[f.lineno - 1].strip() if f.lineno <= len(lines) else ''}"
                      for f in frames[-5:])
    return f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else "")
