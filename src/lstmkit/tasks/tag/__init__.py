"""Sequence tagging (part of speech): a BiLSTM tagger over words and characters, softmax or CRF.

The task is `task.py`; its loaded run `run.py`; its export `export.py`.
"""
