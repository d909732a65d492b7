"""evopipe: pipelines that build pipelines.

The curated public API. Everything else lives in focused modules; a test pins these names.
"""

from evopipe.spec import (
    Diagnostic,
    EvopipeError,
    Pipeline,
    SpecError,
    load_file,
    loads,
    spec_hash,
)

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "EvopipeError",
    "Pipeline",
    "SpecError",
    "__version__",
    "load_file",
    "loads",
    "spec_hash",
]
