"""The operator contract: what an operator declares and what it receives when it runs.

One declaration per operator (DESIGN principle 2): its ports and its pydantic parameter model are the
single source for the catalogue, the canvas's form, graph validation and the docs. Nothing here knows
of graphs, runners or Django; the runner hands an object that satisfies `OperatorContext`.
"""
from __future__ import annotations

import enum
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict


class PortType(enum.StrEnum):
    """What travels along an edge. An output may only feed an input of the same type."""

    TABLE = "table"  # a pandas DataFrame (local engine) or a Spark DataFrame (spark engine)
    FEATURES = "features"  # operators.values.FeatureMatrix: a sparse-aware matrix with names and label
    FEATURE_STATE = "feature_state"  # operators.values.Fitted: the fitted state of a feature transform
    MODEL = "model"  # operators.values.Fitted: coefficients or a LightGBM text model
    METRICS = "metrics"  # a flat JSON-able dict of numbers and short strings
    REPORT = "report"  # operators.values.Report: plotly figures and tables as JSON


@dataclass(frozen=True)
class Port:
    name: str
    type: PortType
    description: str = ""
    optional: bool = False

    def as_json(self) -> dict:
        return {"name": self.name, "type": self.type.value, "description": self.description,
                "optional": self.optional}


class Params(BaseModel):
    """Base of every operator's parameter model: unknown names are rejected, defaults are explicit."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class OperatorError(Exception):
    """An error the user can act on (a missing column, a bad expression, a file outside the data root).

    `field` names the parameter (a dotted path) or `column` the table column at fault, so the API and the
    canvas can put the message where it belongs.
    """

    def __init__(self, message: str, *, field: str | None = None, column: str | None = None,
                 port: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.column = column
        self.port = port


class Message(str):
    """One user-facing message of an operator: a format string declared once, in the operator's `Messages` (as
    Orange widgets declare `class Error`), and raised alike by its local and its Spark half:
    `raise Messages.one_class(column=name, field="label")`. Calling it gives the OperatorError; `field`, `column`
    and `port` are both format values and the error's fields."""

    __slots__ = ()

    def __call__(self, *, field: str | None = None, column: str | None = None, port: str | None = None,
                 **values: Any) -> OperatorError:
        message = self.format(field=field, column=column, port=port, **values)
        return OperatorError(message, field=field, column=column, port=port)


class Messages:
    """Base of an operator's message catalogue: class attributes that are `Message`s."""


class Cancelled(Exception):
    """Raised by `OperatorContext.check_cancelled()` once the run has been cancelled."""


@runtime_checkable
class OperatorContext(Protocol):
    """What a running operator may ask of the runner. Implemented by pipelines.executor."""

    node_id: str
    engine: str  # "local" or "spark"
    data_root: Path  # file imports may only read below this directory
    store: Any  # the run's artifact store (pipelines.store.ArtifactStore): where outputs and bundles are kept
    spark: Any  # the process's SparkSession, created on first use: what an operator's Spark half works with

    def progress(self, fraction: float, message: str | None = None) -> None: ...

    def log(self, message: str) -> None: ...

    def check_cancelled(self) -> None:
        """Raise `Cancelled` if the run was cancelled; long loops call this often."""

    @property
    def cancelled(self) -> bool: ...

    def scratch_dir(self) -> Path:
        """A private temporary directory for this node's run, removed afterwards."""

    def resolve_path(self, path: str) -> Path:
        """`path` made absolute under the data root; raises OperatorError if it escapes it."""

    def connection_url(self, name: str) -> str:
        """The database URL of a named connection, held outside the graph; OperatorError if unknown."""

    def upload_path(self, upload_id: str) -> Path:
        """The file of an uploaded data set, by its upload id; OperatorError if unknown."""

    def publish(self, name: str, *, model: Any, feature_state: Any, holdout: Any, threshold: float = 0.5) -> dict:
        """Publish a model (Fitted) with its feature state (Fitted) as a new live version of the deployment
        `name`, keeping 100 rows of the `holdout` table (pandas) to verify the bundle whenever it loads.
        Returns {"deployment", "version", "live", "bundle"}; OperatorError when the bundle is refused."""

    def deployment_bundle(self, deployment: str, version: str | None = None) -> Any:
        """The verified bundle of a deployment's live (or given) version, for batch scoring with the same
        numbers as online: `.score_table(table) -> {"probability", "label"}`. OperatorError if unknown."""


    def prediction_log(self, deployment: str) -> dict:
        """A deployment's served rows: {"directory": the prediction log's root (operators.prediction_log reads
        it), "labels": () -> pandas table (request_id, row, label, version: label is 0 / 1 against the classes of
        that version, the one that served the row), "classes": the live version's [negative, positive],
        "version_classes": {version: its [negative, positive]}}; the last three may be absent (0 / 1 labels).
        OperatorError if unknown."""

    def record_decision(self, deployment: str, decision: dict) -> None:
        """Keep a champion/challenger decision (publish_if_better) for the deployment's history."""

class Operator:
    """Subclass, declare the class attributes, and implement `run`.

    Learning operators keep the fitted state apart from the transform (DESIGN principle 1): `run` fits
    a small JSON-able state and calls one pure transform function that batch and online scoring share.
    """

    name: ClassVar[str]
    category: ClassVar[str]
    version: ClassVar[str] = "1"
    # Earlier versions that a saved node may still pin: same ports and params, so such a node validates and runs
    # as this version (its cached outputs are not reused: the fingerprint holds `version`).
    accepts_versions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str]  # one line, shown in the palette
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    Params: ClassVar[type[Params]] = Params
    # False for operators whose output may change with identical inputs (a database read, "now").
    cacheable: ClassVar[bool] = True
    # The Spark half, "module:function": a function run(ctx, inputs, params) -> outputs that gets table inputs as
    # Spark DataFrames. A name, not an import, so that the local engine never loads pyspark; the registry checks
    # that the module defines the function, and refuses an operator of the library that names none.
    spark: ClassVar[str | None] = None
    # The user-facing messages both halves raise (a subclass of `Messages`), so that each is written once.
    Messages: ClassVar[type[Messages]] = Messages

    def run(self, ctx: OperatorContext, inputs: Mapping[str, Any], params: Params) -> dict[str, Any]:
        raise NotImplementedError

    def source_fingerprint(self, ctx: OperatorContext, params: Params) -> str | None:
        """For source operators: a hash of what is read (a file's content hash), folded into the cache key
        so that a changed file is re-read. Return None when the parameters alone determine the output."""
        return None

    # ---- derived from the declaration -------------------------------------------------------------
    @classmethod
    def input_port(cls, name: str) -> Port | None:
        return next((p for p in cls.inputs if p.name == name), None)

    @classmethod
    def output_port(cls, name: str) -> Port | None:
        return next((p for p in cls.outputs if p.name == name), None)

    @classmethod
    def docs(cls) -> str:
        return textwrap.dedent(inspect.getdoc(cls) or cls.description).strip()

    @classmethod
    def as_json(cls) -> dict:
        return {
            "name": cls.name,
            "category": cls.category,
            "version": cls.version,
            "description": cls.description,
            "docs": cls.docs(),
            "inputs": [p.as_json() for p in cls.inputs],
            "outputs": [p.as_json() for p in cls.outputs],
            "params_schema": cls.Params.model_json_schema(),
            "cacheable": cls.cacheable,
        }
