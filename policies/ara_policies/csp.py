"""A Content-Security-Policy parser and the script-source judgement, as MDN HTTP Observatory does it.

Mirrors `src/analyzer/tests/csp.js` of mdn/mdn-http-observatory: several policies in one header are
comma-separated and each is enforced; script-src falls back to default-src; a nonce or hash
neutralises 'unsafe-inline'; 'strict-dynamic' (with a nonce or hash) neutralises host and scheme
sources. Pure functions of strings: no policy or engine types here.
"""

from __future__ import annotations

from collections.abc import Mapping

NONCE_HASH_PREFIXES = ("'nonce-", "'sha256-", "'sha384-", "'sha512-")
DANGEROUSLY_BROAD = frozenset({"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*",
                               "https://*.*"})


def parse_csp(value: str) -> list[dict[str, list[str]]]:
    """Parse a CSP header into policies (comma-separated) of directive → sources.

    Directive names and keyword sources are lower-cased; nonces and hashes keep their case.
    A repeated directive is ignored, as browsers do (first one wins).
    """
    policies = []
    for text in value.split(","):
        directives: dict[str, list[str]] = {}
        for part in text.split(";"):
            tokens = part.split()
            if not tokens:
                continue
            name = tokens[0].lower()
            if name not in directives:
                directives[name] = [t if t.lower().startswith(NONCE_HASH_PREFIXES) else t.lower()
                                    for t in tokens[1:]]
        if directives:
            policies.append(directives)
    return policies


def script_sources(policy: Mapping[str, list[str]]) -> list[str] | None:
    """Effective script sources: script-src, else default-src, else None (unrestricted)."""
    if "script-src" in policy:
        return policy["script-src"]
    return policy.get("default-src")


def script_source_problems(sources: list[str], allow_unsafe_eval: bool = False) -> list[str]:
    """Unsafe script sources as fixed labels (never raw header text)."""
    lowered = [s.lower() for s in sources]
    nonce_or_hash = any(s.startswith(NONCE_HASH_PREFIXES) for s in lowered)
    strict_dynamic = "'strict-dynamic'" in lowered
    problems = []
    if strict_dynamic and not nonce_or_hash:
        problems.append("'strict-dynamic' without a nonce or hash")
    if "'unsafe-inline'" in lowered and not nonce_or_hash:
        problems.append("'unsafe-inline'")
    if "'unsafe-eval'" in lowered and not allow_unsafe_eval:
        problems.append("'unsafe-eval'")
    if not (strict_dynamic and nonce_or_hash):
        if "data:" in lowered:
            problems.append("data:")
        for broad in sorted(DANGEROUSLY_BROAD & set(lowered)):
            problems.append(f"the broad source {broad}")
        if any(s.startswith("http://") and s not in DANGEROUSLY_BROAD for s in lowered):
            problems.append("an http:// host source")
    return problems


def enforced_csp(headers: Mapping[str, str]) -> list[dict[str, list[str]]]:
    return parse_csp(headers.get("content-security-policy", ""))
