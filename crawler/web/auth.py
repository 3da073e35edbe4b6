"""Users of the workbench: argon2id password hashes (argon2-cffi), roles, and the checks pages make."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pipelines.errors import UsageError
from pipelines.stores.base import Store, iso, utcnow
from pipelines.stores.workbench import ROLES, AuditEntry, User

_HASHER = PasswordHasher()
# Verified against when a name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _HASHER.hash("netpatrol-no-such-user")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def allowed(role: str, needed: str) -> bool:
    """viewer < reviewer < admin: a role may do what any lower role may."""
    return rank(role) >= rank(needed)


def add_user(store: Store, name: str, role: str, password: str, actor: str) -> bool:
    """Create or reset a user; True when it existed. Audited."""
    if not NAME.match(name):
        raise UsageError(f"user name {name!r}: letters, digits and _ . @ - only (at most 64)")
    if role not in ROLES:
        raise UsageError(f"role {role!r} is not one of {', '.join(ROLES)}")
    existed = store.get_user(name) is not None
    now = iso(utcnow()) or ""
    store.put_user(User(name, role, _HASHER.hash(password), now))
    store.add_audit([AuditEntry(now, actor, "user.update" if existed else "user.add", name, {"role": role})])
    return existed


def authenticate(store: Store, name: str, password: str) -> User | None:
    user = store.get_user(name) if NAME.match(name or "") else None
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    return user
