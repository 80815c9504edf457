"""Language models, character and word level: truncated BPTT, perplexity, generation.

The task is `task.py`; its loaded run `run.py`; its export `export.py`.
"""
