"""fraglib: the thin helper package behind the fragility book.

Training (`train`), the run store (`runs`), embedding extraction (`embed`) and the paper's
measures (`measures`) for "Understanding CNN Fragility When Learning With Imbalanced Data".
"""
__version__ = "0.1.0"

from .config import RunConfig  # noqa: E402,F401
