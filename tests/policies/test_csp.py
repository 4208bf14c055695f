"""csp.py: the Content-Security-Policy parser and script-source judgement behind the header policies."""

from ara_policies import csp


def test_parse_csp_lowercases_keywords_and_keeps_nonce_case():
    policies = csp.parse_csp("Script-Src 'SELF' 'nonce-AbC'; script-src *; OBJECT-SRC 'none', default-src 'self'")
    assert policies == [{"script-src": ["'self'", "'nonce-AbC'"], "object-src": ["'none'"]},
                        {"default-src": ["'self'"]}]


# --- CSP bypass directives ----------------------------------------------------------------


def test_script_sources_fall_back_to_default_src_and_none_means_unrestricted():
    assert csp.script_sources({"default-src": ["'self'"]}) == ["'self'"]
    assert csp.script_sources({"script-src": ["'none'"], "default-src": ["*"]}) == ["'none'"]
    assert csp.script_sources({"img-src": ["*"]}) is None


def test_script_source_problems_are_fixed_labels_never_header_text():
    problems = csp.script_source_problems(["'unsafe-inline'", "https:", "http://evil.example", "data:"])
    assert problems == ["'unsafe-inline'", "data:", "the broad source https:", "an http:// host source"]
    assert "evil.example" not in " ".join(problems)


def test_enforced_csp_reads_the_lower_cased_header_name():
    assert csp.enforced_csp({"content-security-policy": "default-src 'self'"}) == [{"default-src": ["'self'"]}]
    assert csp.enforced_csp({}) == []
