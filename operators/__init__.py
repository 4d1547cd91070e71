"""The operator library: each operator's ports, parameters, fit and transform.

Imports numpy, pandas, scikit-learn, LightGBM, plotly (and pyspark lazily); never Django, never `pipelines`.
"""
from .contract import Cancelled, Operator, OperatorContext, OperatorError, Params, Port, PortType
from .registry import all_operators, catalogue, get, register
from .values import FeatureMatrix, Fitted, Report

__all__ = [
    "Cancelled", "FeatureMatrix", "Fitted", "Operator", "OperatorContext", "OperatorError", "Params", "Port",
    "PortType", "Report", "all_operators", "catalogue", "get", "register",
]
