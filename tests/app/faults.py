"""Fault injection for the pipeline's stages, the way OCRmyPDF tests with plugins that crash:
``install(stage, mode)`` makes one stage raise, hang or kill the process for the *target*
message only (the file ``TARGET_FILE``, paying ``TARGET_CODE``); every other message goes
through untouched. Used in-process (monkeypatching, undone by ``uninstall``) and by
``python -m tests.app.faults STAGE MODE -- CLI ARGS`` for a process that is really killed."""
from __future__ import annotations

import os
import signal
import sys
import threading

STAGES = ("parse", "read", "extract", "decide", "apply", "send")
MODES = ("raise", "hang", "kill")
TARGET_FILE = "00-target.pdf"
TARGET_CODE = "RLM98002"
HANG_SECONDS = 20.0
_undo: list = []


class InjectedFault(RuntimeError):
    pass


def _fault(stage: str, mode: str) -> None:
    if mode == "raise":
        raise InjectedFault(f"injected fault in {stage}")
    if mode == "hang":
        threading.Event().wait(HANG_SECONDS)
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _patch(owner, name: str, wrapper) -> None:  # noqa: ANN001
    original = getattr(owner, name)
    _undo.append((owner, name, original))
    setattr(owner, name, wrapper(original))


def install(stage: str, mode: str) -> None:
    import app.pipeline
    import effects
    import intake.reading
    from notifier.transport import FolderTransport

    def when(test):  # noqa: ANN001, ANN202 - wraps a function, faulting when test(args)
        def wrapper(original):  # noqa: ANN001, ANN202
            def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                if test(*args, **kwargs):
                    _fault(stage, mode)
                return original(*args, **kwargs)
            return wrapped
        return wrapper

    if stage == "parse":
        _patch(app.pipeline, "parse_incoming",
               when(lambda incoming, *a, **k: incoming.filename == TARGET_FILE))
    elif stage == "read":
        _patch(intake.reading, "read_document",
               when(lambda doc, *a, **k: doc.filename == TARGET_FILE))
    elif stage == "extract":
        _patch(intake.reading, "extract_fields", when(lambda text, *a, **k: TARGET_CODE in text))
    elif stage == "decide":
        _patch(app.pipeline, "decide", when(lambda fields, *a, **k: TARGET_CODE in fields.codes))
    elif stage == "apply":
        _patch(effects, "apply_decision",
               when(lambda session, receipt, decision, **k: TARGET_CODE in decision.order_codes))
    elif stage == "send":
        _patch(FolderTransport, "send",
               when(lambda self, message, key: TARGET_CODE in key))
    else:
        raise ValueError(stage)


def uninstall() -> None:
    while _undo:
        owner, name, original = _undo.pop()
        setattr(owner, name, original)


if __name__ == "__main__":
    stage, mode, _sep, *argv = sys.argv[1:]
    install(stage, mode)
    from app.cli import main
    sys.exit(main(argv))
