"""The one error analytics raises for a bad parameter value (the API answers 422 with it)."""

from __future__ import annotations


class ParamError(ValueError):
    """``param`` (the query parameter's name, camelCase) has a value that cannot be answered."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param
