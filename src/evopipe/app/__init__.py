"""The application layer: settings, the one composition root, and the operations every face
(CLI, HTTP server, chat, MCP) calls. Faces import only this package.

One module per area of operations (``runs``, ``pipelines``, ``generate``, ...); this
``__init__`` re-exports the curated names.
"""
