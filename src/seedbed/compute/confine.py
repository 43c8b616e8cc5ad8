"""Confine a local job's files with Linux Landlock, so it cannot read what its user cannot.

A job acts as its submitter through its token; without this it would also run as the
server's operating-system user and could read the workspace's internals directly (the
metadata DB, the warehouse, the artifact store, the keys and the admin's token). Landlock
lets an unprivileged process give up file access for itself and its children, for good.
The shim applies it in the job's process just before the job's program starts:

- read (and execute) everything outside the workspace folder, as before;
- inside it, read `lib/`, `notebooks/` and `features/` and the Python environment only;
- write only to the job's own work folder (its HOME and TMPDIR too) and /dev.

Standard library only (it runs in the shim, which imports nothing else): the three Landlock
system calls through ctypes. `available()` says whether the kernel has Landlock.

Run by path it confines a command: `python -P confine.py RULES.json -- COMMAND...` applies
the rules in RULES.json ({"read": [...], "write": [...]}) and then becomes COMMAND (the way
notebook kernels are started).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from collections.abc import Iterable
from pathlib import Path

SCRIPT = Path(__file__)
_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH = 1
_CREATE_RULESET_VERSION = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
_DIRECTORY_WRITES = sum(1 << bit for bit in range(4, 13))  # remove, make (dir, file, …)
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 where there is none."""
    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None or not sys.platform.startswith("linux"):
        return 0
    version = _libc().syscall(numbers[0], None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(0, int(version))


def available() -> bool:
    return abi_version() >= 1


def handled(abi: int) -> int:
    rights = EXECUTE | WRITE_FILE | READ_FILE | READ_DIR | _DIRECTORY_WRITES
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict(read: Iterable[str], write: Iterable[str]) -> None:
    """Give up every file access but reading `read` and reading and writing `write` (and what
    lies beneath them). For this process and its children, irreversibly."""
    abi = abi_version()
    if abi < 1:
        raise OSError("This kernel has no Landlock: jobs cannot be confined.")
    create, add_rule, restrict_self = _SYSCALLS[platform.machine()]
    libc = _libc()
    rights = handled(abi)
    attr = _RulesetAttr(rights)
    ruleset = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        reading = EXECUTE | READ_FILE | READ_DIR
        for paths, allowed in ((read, reading), (write, rights)):
            for path in paths:
                _allow(libc, add_rule, ruleset, path, allowed)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(restrict_self, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


def _allow(libc: ctypes.CDLL, add_rule: int, ruleset: int, path: str, allowed: int) -> None:
    try:
        descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # gone since the list was made: nothing to allow
    try:
        if not os.path.isdir(path):
            allowed &= FILE_RIGHTS  # a rule on a file may only grant file rights
        rule = _PathBeneath(allowed, descriptor)
        if libc.syscall(add_rule, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(descriptor)


def outside(folder: Path) -> list[str]:
    """Every path that is not `folder` nor below it: at each level from / down to it, the
    entries beside the way there (so the rest of the machine stays readable)."""
    target = folder.resolve()
    found: list[str] = []
    for ancestor in reversed(target.parents):
        on_the_way = (
            target
            if ancestor == target.parent
            else next(p for p in target.parents if p.parent == ancestor)
        )
        try:
            entries = list(os.scandir(ancestor))
        except OSError:
            continue
        found.extend(entry.path for entry in entries if Path(entry.path) != on_the_way)
    return found


def _holds(path: Path, root: Path) -> bool:
    """Whether a rule on `path` would reach `root` (it is `root`, or a folder above it)."""
    try:
        return root.is_relative_to(path.resolve())
    except OSError:
        return True


def rules_for(workspace: Path, work: Path, readable: Iterable[Path]) -> dict[str, list[str]]:
    """The read and write rules of a job of `workspace` whose own folder is `work`."""
    root = workspace.resolve()
    python = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent}
    python |= {Path(entry) for entry in sys.path if entry}
    # a folder holding the workspace would open all of it: those are read beside it instead
    python = {p.resolve() for p in python if p.exists() and not root.is_relative_to(p.resolve())}
    read = outside(root) + [str(p) for p in sorted(python | set(readable)) if p.exists()]
    # a link beside the way (such as pytest's "pytest-current") may lead back above the
    # workspace: a rule follows it, so such links are left out
    read = [p for p in read if not _holds(Path(p), root)]
    # not /tmp: a workspace may live there (tests' do); jobs get TMPDIR in their own folder
    write = [str(work), "/dev", "/dev/shm"]
    return {"read": read, "write": [p for p in write if os.path.exists(p)]}


def main(arguments: list[str]) -> None:
    """`confine.py RULES.json -- COMMAND...`: restrict, then exec the command."""
    import json

    if len(arguments) < 3 or arguments[1] != "--":
        sys.exit("usage: confine.py RULES.json -- COMMAND [ARGS...]")
    with open(arguments[0], encoding="utf-8") as handle:
        rules = json.load(handle)
    restrict(rules["read"], rules["write"])
    os.execvp(arguments[2], arguments[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
