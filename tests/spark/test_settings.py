"""The Spark settings a deployment gives in the environment: STUDIO_SPARK_CONF's words, and a typo in them."""
from __future__ import annotations

import pytest

from pipelines.engines import extra_conf, spark_settings


def test_extra_spark_settings_are_key_value_words(monkeypatch):
    monkeypatch.setenv("STUDIO_SPARK_CONF", " spark.sql.adaptive.enabled=false  spark.a.b=x=y ")
    assert extra_conf(spark_settings()["conf"]) == {"spark.sql.adaptive.enabled": "false", "spark.a.b": "x=y"}
    assert extra_conf("") == {}


@pytest.mark.parametrize("text", ["spark.sql.adaptive.enabled", "=false"])
def test_a_word_that_is_not_key_value_is_an_error_naming_it(text):
    with pytest.raises(ValueError, match=rf"STUDIO_SPARK_CONF: '{text}' is not key=value"):
        extra_conf(f"spark.ok=1 {text}")
