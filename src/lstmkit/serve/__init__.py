"""Serving trained runs over HTTP: the JSON API (:mod:`~lstmkit.serve.app`), micro-batching
(:mod:`~lstmkit.serve.batching`), gate inspection for the page (:mod:`~lstmkit.serve.inspect`)
and the web page (:mod:`~lstmkit.serve.page`). Needs ``pip install 'lstmkit[serve]'``."""
