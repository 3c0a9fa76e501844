"""The Dash State Lab benchmark: every strategy, one workload, a real multi-worker server.

`python -m bench --out DIR` starts its own gunicorn (4 workers), drives every strategy's
page with the requests a browser sends, and writes DIR/report.json, report.csv and
report.html. See bench/cli.py for the options and README "Benchmark" for every field; the
reports themselves (schema, tables, charts, HTML) are the `reports` package.
"""

from reports import SCHEMA

__all__ = ["SCHEMA"]
