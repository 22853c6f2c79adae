"""Paths that hold secrets: keys, tokens, saved passwords, other programs' environments."""

from __future__ import annotations

import re

_B = r"""(?:^|[/\s=:@'"(<>])"""  # start of a path component
_E = r"""(?=$|[\s'";|)&<>])"""  # end of a word
_ETC = r"""(?:^|[\s=:'"])/etc/"""
_SENSITIVE = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (rf"{_B}id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?{_E}", "a private key"),
        (rf"{_B}[^/\s]*\.(?:pem|key|p12|pfx|ppk|jks|keystore){_E}", "a key file"),
        (rf"{_B}\.ssh(?:/|{_E})", "SSH keys or settings"),
        (rf"{_B}\.gnupg(?:/|{_E})", "GPG keys"),
        (rf"{_B}(?:\.aws|\.azure|\.config/gcloud|\.kube)(?:/|{_E})", "cloud credentials"),
        (rf"{_B}\.docker/config\.json{_E}", "saved registry logins"),
        (
            rf"{_B}(?:\.netrc|\.git-credentials|\.pgpass|\.pypirc|\.npmrc|\.vault-token"
            rf"|\.config/gh/hosts\.yml){_E}",
            "saved passwords or tokens",
        ),
        (rf"{_ETC}g?shadow-?{_E}", "the system's password hashes"),
        (rf"{_ETC}sudoers(?:\.d)?(?:/|{_E})", "the sudo settings"),
        (rf"{_ETC}ssh/ssh_host_\w+_key{_E}", "a private key"),
        (
            rf"{_B}\.env(?!\.(?:example|sample|template|dist){_E})(?:\.[\w.-]+)?{_E}",
            "a .env file with secrets",
        ),
        (rf"{_B}\.config/\S*(?:token|secret|credential|password)", "a saved token"),
        (
            rf"Keychains/|\.keychain(?:-db)?{_E}|\.password-store|/keyrings(?:/|{_E})",
            "a keychain",
        ),
        (rf"{_B}credentials(?:\.json)?{_E}", "saved credentials"),
        (r"/proc/(?:\d+|self|\$\$|\*)/environ", "another program's environment"),
    )
)


def sensitive_kind(text: str) -> str | None:
    """What secret a path names ("a private key", "SSH keys or settings"), or None."""
    if not text or len(text) > 4096:
        return None
    for pattern, kind in _SENSITIVE:
        if pattern.search(text):
            return kind
    return None
