"""The Django studio: stores pipelines, validates, queues runs, streams events, serves the canvas."""
