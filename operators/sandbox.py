"""Confinement of a child process that runs a user's code (operators.library.script), beyond the limits of
operators.isolation: the filesystem shrinks to Python's own files and one working directory, the network goes
away, and the process may not signal the studio's processes.

- Filesystem: Landlock (Linux 5.13+, unprivileged): after `restrict_filesystem`, the process reads only
  Python's installation, the `operators` package and the system libraries, and reads and writes only its
  working directory. The studio's data dir (its SQLite database, secret key, artifacts, uploads) and
  /proc (another process's environment) are out of reach. Landlock ABI 4+ also refuses TCP bind / connect,
  ABI 6+ signals to processes outside the sandbox.
- Network: a new network namespace (as root, or in a new user namespace where the OS allows it) has only a
  loopback device that is down: no packet leaves, UDP included.

Each step says whether the OS allowed it (`confine` returns the list); a kernel without Landlock leaves the
filesystem open, so `confine(required=("filesystem",))` refuses to go on rather than run unconfined.
"""
from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # the same on x86-64 and arm64
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH = 1
_CREATE_RULESET_VERSION = 1
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_WRITE_TREE = sum(1 << bit for bit in range(4, 13))  # remove dir/file, make char/dir/reg/sock/fifo/block/sym
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

_READ = _EXECUTE | _READ_FILE | _READ_DIR
_FILE_READ = _EXECUTE | _READ_FILE  # a rule on a file (not a directory) takes file rights only
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/dev/urandom", "/dev/random")
_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 without Landlock."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc().syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(0, version)


def python_paths() -> list[Path]:
    """What the Python interpreter and its packages are read from: the prefixes, the standard library and
    site-packages, and the `operators` package (never the repository around it, which may hold ./var)."""
    import operators

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(os.path.realpath(sys.executable)).parent.parent, Path(operators.__file__).parent}
    return sorted(p for p in paths if p.exists())


def restrict_filesystem(workdirs: list[Path], abi: int) -> None:
    """Landlock: read Python's files and the system libraries, read and write `workdirs`, nothing else."""
    libc = _libc()
    handled = _READ | _WRITE_FILE | _WRITE_TREE | (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0) \
        | (_IOCTL_DEV if abi >= 5 else 0)
    attr = _RulesetAttr(handled, _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0,
                        _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules = [(p, _READ) for p in (*python_paths(), *map(Path, _SYSTEM_DIRS))]
        rules += [(Path(f), _FILE_READ) for f in _SYSTEM_FILES] + [(Path("/dev/null"), _READ_FILE | _WRITE_FILE)]
        rules += [(w, handled & ~_EXECUTE & ~(_IOCTL_DEV if abi >= 5 else 0)) for w in workdirs]
        for path, access in rules:
            if path.exists():
                _add_rule(libc, ruleset, path, access & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


def _add_rule(libc, ruleset: int, path: Path, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rule = _PathBeneathAttr(access, fd)
        if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def leave_network() -> bool:
    """A network namespace of its own (no interface up); False where the OS refuses one."""
    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    if libc.unshare(_CLONE_NEWNET) == 0:
        return True
    return libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0


def confine(workdir: Path, *, also_writable: tuple[Path, ...] = (),
            required: tuple[str, ...] = ("filesystem",)) -> list[str]:
    """Confine this process (call in the child, before the user's code) to read and write `workdir` (and
    `also_writable`) besides reading Python's files; returns what was confined:
    "network", "filesystem", "tcp", "signals". A `required` step the OS does not allow raises OSError."""
    done = ["network"] if leave_network() else []
    abi = landlock_abi()
    if abi:
        restrict_filesystem([workdir, *also_writable], abi)
        done += ["filesystem"] + (["tcp"] if abi >= 4 else []) + (["signals"] if abi >= 6 else [])
    missing = [step for step in required if step not in done]
    if missing:
        raise OSError(f"this system cannot confine a script's {', '.join(missing)} (Landlock needs Linux 5.13+)")
    return done
