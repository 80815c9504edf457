"""Text classification (IMDB sentiment and any labelled table): a (Bi)LSTM over word vectors.

The task is `task.py`; its loaded run `run.py`; its export `export.py`.
"""
