"""The HTTP face: a FastAPI application that calls :mod:`evopipe.app` and nothing else.

>>> from evopipe.app import App, Settings
>>> from evopipe.server import create_server
>>> api = create_server(App(Settings.load(persist=False)), keyless=True)  # doctest: +SKIP
"""

from evopipe.server.api import PREFIX, create_server

__all__ = ["PREFIX", "create_server"]
