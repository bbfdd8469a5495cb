"""Whose evidence counts: people and their identities, and signatures bound to them.

An identity in a commit (``Promoter-Actor``, ``user.email``) is a claim anyone can type.
Where the pipeline asks for it (protected environments, or ``trust.signedEvidence:
all``), an approval or a check result counts only when git verifies its commit's
signature (SSH allowed-signers or GPG) and the signer is the person the commit claims.
People are named once in the pipeline (``people:``), with their emails and logins, so
an email from git, a login from CI and a principal from an allowed-signers file all
resolve to the same person.
"""

from __future__ import annotations

from collections.abc import Mapping

from promoter.git import Signature
from promoter.model import Person


class Directory:
    """Every identity of every person, folded to the person; anything else stands alone."""

    def __init__(self, people: Mapping[str, Person]) -> None:
        self.people = people
        self._index: dict[str, str] = {}
        for person in people.values():
            for identity in person.identities:
                self._index.setdefault(identity.casefold(), person.key)

    def key(self, identity: str) -> str:
        """The person behind ``identity`` (a key, email or login), else the identity."""
        folded = identity.strip().casefold()
        return self._index.get(folded, folded)

    def same(self, one: str, other: str) -> bool:
        """Whether two identities name the same person."""
        return self.key(one) == self.key(other)

    def allowed(self, identity: str, allowed: tuple[str, ...]) -> bool:
        """Whether ``identity`` is one of ``allowed`` (people, emails or logins)."""
        mine = self.key(identity)
        return any(self.key(entry) == mine for entry in allowed)


def signer_identities(signature: Signature) -> list[str]:
    """The identities a verified signature names: the principals of an allowed-signers
    line (comma-separated), or the email in a GPG user ID (``Name <email>``)."""
    signer = signature.signer.strip()
    if "<" in signer and signer.endswith(">"):
        return [signer[signer.rindex("<") + 1 : -1].strip()]
    return [part.strip() for part in signer.split(",") if part.strip()]


def binding(claimed: str, signature: Signature | None, people: Directory) -> str | None:
    """None when the commit is signed by the identity it claims; else why it does not count
    (unsigned, signed by someone else, unknown key, a bad, expired or revoked signature)."""
    if signature is None or signature.status == "N":
        return "unsigned"
    status = signature.status
    if status == "B":
        return "bad signature"
    if status in ("X", "Y"):
        return "expired signature" if status == "X" else "signed with an expired key"
    if status == "R":
        return "signed with a revoked key"
    if status != "G":  # U, E: a key git cannot tie to anyone it trusts
        return "signed with an unknown key"
    signers = signer_identities(signature)
    if any(people.same(signer, claimed) for signer in signers):
        return None
    return f"signed by {', '.join(signers) or 'someone else'}, not {claimed}"
