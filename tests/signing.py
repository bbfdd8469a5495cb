"""Real SSH signing keys for the people of the tests, and git configured to verify them.

Every test repository verifies signatures against one allowed-signers file that lists the
keys of the known people; ``eve`` and ``mallory`` have keys that no file lists. Nothing
signs unless asked: promoter passes ``-S`` where evidence must be signed, and a test that
acts as someone sets that person's key (``as_signer``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

KNOWN = ("test", "alice", "bob", "carol", "dave", "ci")
UNKNOWN = ("eve", "mallory")


def make_keys(folder: Path) -> Path:
    """An ed25519 key per person in ``folder``, and the allowed-signers file; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for name in (*KNOWN, *UNKNOWN):
        key = folder / name
        if not key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                check=True,
            )
        if name in KNOWN:
            lines.append(f"{name}@example.com {(folder / f'{name}.pub').read_text().strip()}")
    signers = folder / "allowed_signers"
    signers.write_text("\n".join(lines) + "\n")
    return signers


def git_config(folder: Path) -> str:
    """The lines of the tests' global git config that set up SSH signing."""
    return (
        "[gpg]\n\tformat = ssh\n"
        f'[gpg "ssh"]\n\tallowedSignersFile = {folder / "allowed_signers"}\n'
        f"[user]\n\tsigningkey = {folder / 'test'}\n"
    )


def as_signer(folder: Path, email: str) -> dict[str, str]:
    """The environment that makes git sign with the key of the person behind ``email``."""
    name = email.partition("@")[0].lower()
    key = folder / name
    if not key.exists():
        return {}
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "user.signingkey",
        "GIT_CONFIG_VALUE_0": str(key),
    }
