"""The operator library: each operator's ports, parameters, fit and transform.

Imports numpy, pandas, scikit-learn, LightGBM, plotly (and pyspark lazily); never Django, never `pipelines`.
"""
import os

# LightGBM's OpenMP threads spin while they wait; beside other busy threads (a parallel branch, a second
# worker, the serving process) that spinning slows training five- to fifty-fold on a small machine. Passive
# waiting costs nothing measurable when the machine is idle. Must be set before lightgbm loads libgomp.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .contract import (Cancelled, Message, Messages, Operator, OperatorContext, OperatorError, Params, Port,
                       PortType)
from .registry import all_operators, catalogue, get, register
from .values import FeatureMatrix, Fitted, Report

__all__ = [
    "Cancelled", "FeatureMatrix", "Fitted", "Message", "Messages", "Operator", "OperatorContext", "OperatorError",
    "Params", "Port", "PortType", "Report", "all_operators", "catalogue", "get", "register",
]
