"""The accounting review web UI and the actions behind it.

``users`` (people, passwords, lock-out), ``queue`` (the queue's entries and page),
``candidates`` (candidate orders with their evidence), ``views`` (one dataclass per page,
rendered as HTML and as JSON), ``actions`` (match, dismiss, duplicate, proof request,
requeue, undo: the same functions behind the web forms and the CLI), ``pages`` (page images
rendered from the kept original, cached), ``web`` (the FastAPI app).
"""
