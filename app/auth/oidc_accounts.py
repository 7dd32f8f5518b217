"""The Corral account behind an OpenID Connect sign-in: found by issuer + subject,
created on first sign-in, its role (ADMIN_GROUPS) and profile refreshed at every
sign-in, refused outside ALLOWED_GROUPS or when disabled here."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy.engine import Engine

from app.auth import users
from app.auth.oidc import Claims, OidcError, allowed, role_for
from app.auth.users import User, UserError

_NOT_NAME = re.compile(r"[^a-zA-Z0-9._@-]+")


def sign_in(engine: Engine, claims: Claims, admin_groups: str, allowed_groups: str) -> User:
    """The enabled user for these verified claims; OidcError when refused."""
    if not allowed(claims.groups, allowed_groups):
        raise OidcError("oidc_forbidden", f"{claims.username or claims.subject!r} is in none "
                        "of ALLOWED_GROUPS")
    role = role_for(claims.groups, admin_groups)
    user = users.find_oidc(engine, claims.issuer, claims.subject)
    if user is None:
        user = _create(engine, claims, role)
        user = users.update(engine, user.id, groups=users.stored_groups(claims.groups)) or user
    elif user.disabled:
        raise OidcError("oidc_disabled", f"the account {user.username!r} is disabled here")
    else:
        # The provider is the source of truth for the role: a group removed there is
        # an admin role removed here at the next sign-in.
        user = users.update(engine, user.id, role=role,
                            display_name=claims.display_name or user.display_name,
                            email=claims.email or user.email,
                            groups=users.stored_groups(claims.groups)) or user
    users.touch_login(engine, user.id)
    return user


def _create(engine: Engine, claims: Claims, role: str) -> User:
    for username in _candidates(claims):
        if users.find(engine, username) is not None:
            continue  # taken (a local account, or another provider's user): never merged
        try:
            return users.create(engine, username, role=role, source="oidc",
                                display_name=claims.display_name, email=claims.email,
                                oidc_issuer=claims.issuer, oidc_subject=claims.subject)
        except UserError:
            continue  # taken between the check and the insert
    raise OidcError("oidc_account", "no free username for this identity")


def _candidates(claims: Claims) -> list[str]:
    """preferred_username, the e-mail address, then a name derived from the subject."""
    tag = hashlib.sha256(f"{claims.issuer} {claims.subject}".encode()).hexdigest()[:10]
    names = []
    for raw in (claims.username, claims.email):
        if raw:
            name = _NOT_NAME.sub("-", raw).lstrip("._@-")[:64]
            if name:
                names += [name, f"{name[:53]}-{tag}"]
    return [*names, f"oidc-{tag}"]
