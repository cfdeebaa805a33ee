"""The leaf package every layer may import: the exception hierarchy (``core.errors``) and the
status names (``core.status``). It imports nothing of the project."""
