"""Documents inside ``.zip`` attachments, read defensively.

A zip is opened only within limits checked *before* anything is decompressed (member count,
declared sizes, compression ratio) and enforced *while* decompressing (bytes actually read), so
a zip bomb that lies in its directory is stopped too. Nested archives are not opened.
"""
from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from core.errors import BadDocument

MAX_MEMBERS = 50
MAX_RATIO = 200  # uncompressed/compressed; PDFs and scans compress far less than this
WANTED_SUFFIXES = {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png", ".eml", ".txt"}


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes


def extract_members(data: bytes, archive_name: str, max_member_bytes: int,
                    max_total_bytes: int) -> list[Member]:
    """The readable members of a zip; raises ``BadDocument`` for a corrupt, encrypted or
    oversized archive or a zip bomb. Members of other types are skipped."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise BadDocument(f"{archive_name}: corrupt zip archive ({exc})") from None
    files = [i for i in infos if not i.is_dir()]
    if len(files) > MAX_MEMBERS:
        raise BadDocument(f"{archive_name}: zip with {len(files)} files (limit {MAX_MEMBERS})")
    declared = sum(i.file_size for i in files)
    if declared > max_total_bytes:
        raise BadDocument(f"{archive_name}: zip bomb or oversized zip ({declared} bytes "
                          f"uncompressed, limit {max_total_bytes})")
    members: list[Member] = []
    total = 0
    for info in files:
        name = PurePosixPath(info.filename.replace("\\", "/")).name
        if PurePosixPath(name).suffix.lower() not in WANTED_SUFFIXES:
            continue
        if info.flag_bits & 0x1:
            raise BadDocument(f"{archive_name}: {name} is encrypted (password protected zip)")
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO \
                and info.file_size > 1024 * 1024:
            raise BadDocument(f"{archive_name}: zip bomb ({name} expands "
                              f"{info.file_size // max(info.compress_size, 1)}x)")
        content = _read_capped(archive, info, min(max_member_bytes, max_total_bytes - total),
                               archive_name)
        total += len(content)
        members.append(Member(name, content))
    return members


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int,
                 archive_name: str) -> bytes:
    """Reads at most ``cap`` bytes: the directory's sizes may lie."""
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(64 * 1024):
                size += len(chunk)
                if size > cap:
                    raise BadDocument(f"{archive_name}: zip bomb ({info.filename} expands "
                                      f"beyond {cap} bytes)")
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError,
            ValueError, zlib.error) as exc:  # offsets before the start, damaged deflate data
        raise BadDocument(f"{archive_name}: {info.filename} cannot be extracted ({exc})") from None
    return b"".join(chunks)
