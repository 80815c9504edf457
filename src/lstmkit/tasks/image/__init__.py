"""Sequential images: MNIST read as rows (or pixels) by a recurrent classifier.

The task is `task.py`; its loaded run `run.py`; its export `export.py`.
"""
