"""Time series: forecasting from a CSV (ETTh1) and the sine-to-cosine stream with carried state.

The task is `task.py`; its loaded run `run.py`; its export `export.py`.
"""
