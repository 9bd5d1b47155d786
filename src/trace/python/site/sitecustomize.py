"""Warden's Python agent entry (docs/trace.md, "The Python agent").

`warden run` puts this folder first on PYTHONPATH, so Python imports this module at startup
(site.py), before any user code: it starts the agent (an audit hook, `sys.addaudithook`, that
judges each file, network, process and named-function event before it happens), then imports
the `sitecustomize` that would have run without Warden (the next one on sys.path), if any.
"""

import sys as _sys


def _chain_next_sitecustomize():
    import importlib.machinery
    import importlib.util
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    saved = _sys.modules.pop("sitecustomize", None)
    path = [p for p in _sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        if saved is not None:
            _sys.modules["sitecustomize"] = saved
        return
    mod = importlib.util.module_from_spec(spec)
    _sys.modules["sitecustomize"] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as e:  # as site.py does for a failing sitecustomize
        _sys.stderr.write(f"Error in sitecustomize; set PYTHONVERBOSE for traceback:\n{type(e).__name__}: {e}\n")


import _warden_trace  # noqa: E402

_warden_trace.start()
_chain_next_sitecustomize()
