"""One spelling per article URL, and a stable id derived from it.

The same story reaches us as ``?utm_source=twitter``, as its AMP twin, with a
``#comments`` fragment or a trailing slash; all of them must map to one
``article_id`` or dedup and linking count it several times.

Ours, not ``courlan`` (1.4.0, already here via trafilatura): its normalize_url/clean_url keep fragments,
credentials, ``./..`` segments and AMP twins, treat trailing slashes differently, write spaces as ``+`` and
use a tracker regex that drops document parameters (``?source=``, ``?game=``, ``?uid=``) yet keeps
``cmpid``/``ocid``: 18-22 of the 48 test URLs and 14-29 of the 63 replay URLs would get a new ``article_id``.
The public-suffix lookup already uses ``tld`` directly, which is all courlan would call for it.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from urllib.parse import parse_qsl, quote, urljoin, urlsplit, urlunsplit

from tld import get_fld


class UrlError(ValueError):
    """A URL is not an absolute http(s) URL we can canonicalize."""


# Parameters that identify a campaign or a click, never the document.
_TRACKING_EXACT = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "igshid", "li_fat_id",
        "mc_cid", "mc_eid", "ref", "ref_src", "ref_url", "referrer", "cmpid", "cmp", "ncid", "ito",
        "_ga", "_gl", "mkt_tok", "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "vero_id",
        "wt.mc_id", "wt_mc", "xtor", "at_medium", "at_campaign", "guccounter", "guce_referrer",
        "guce_referrer_sig", "sr_share", "spm", "soc_src", "soc_trk", "smid", "ocid",
        "__twitter_impression",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "hsa_", "mtm_", "_hs", "oly_")
_AMP_PARAMS = {"amp": {"", "1", "true", "yes"}, "outputtype": {"amp"}, "output": {"amp"}}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _is_tracking(key: str) -> bool:
    k = key.lower()
    return k in _TRACKING_EXACT or k.startswith(_TRACKING_PREFIXES)


def _is_amp_flag(key: str, value: str) -> bool:
    allowed = _AMP_PARAMS.get(key.lower())
    return allowed is not None and value.lower() in allowed


def _normalise_escapes(text: str, safe: str) -> str:
    """Upper-case %-escapes, decode escaped unreserved characters, escape raw non-ASCII."""

    def fix(m: re.Match) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()

    return quote(_PERCENT.sub(fix, text), safe=safe)


def _host(netloc_host: str) -> str:
    host = netloc_host.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    return host


def registrable_domain(url_or_host: str) -> str | None:
    """The public-suffix-aware site (``news.bbc.co.uk`` -> ``bbc.co.uk``), None if unknown."""
    target = url_or_host if "://" in url_or_host else f"http://{url_or_host}"
    host = urlsplit(target).hostname
    if not host:
        return None
    if re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host):
        return host  # an IP address is its own site
    # tld ships the public suffix list; never let it fetch an update at run time
    return get_fld(f"http://{host}", fail_silently=True, fix_protocol=False) or (host if "." not in host else None)


def _strip_amp_path(path: str) -> str:
    if path.endswith(".amp.html"):
        path = path[: -len(".amp.html")] + ".html"
    elif path.endswith(".amp"):
        path = path[: -len(".amp")]
    segments = [s for s in path.split("/") if s.lower() != "amp"]
    return "/".join(segments) or "/"


def _split(url: str, what: str):
    if not isinstance(url, str) or not url.strip():
        raise UrlError(f"{what}: expected a non-empty URL string, got {url!r}")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UrlError(f"{what}: {url!r} is not an absolute http(s) URL")
    return parts, scheme


def _canonicalize(url: str, what: str) -> str:
    parts, scheme = _split(url, what)
    host = _host(parts.hostname)
    if host.startswith("amp."):
        host = host[4:]
    try:
        port = parts.port
    except ValueError:
        raise UrlError(f"{what}: {url!r} has an invalid port") from None
    # credentials never belong in a stored identifier, so userinfo is dropped
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"

    path = parts.path or "/"
    # resolve ./ and ../ the way a browser would, keeping the leading slash
    normal = posixpath.normpath(path) if path not in ("", "/") else "/"
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    path = _strip_amp_path(normal)
    path = _normalise_escapes(path, _PATH_SAFE)
    if len(path) > 1:
        path = path.rstrip("/") or "/"

    pairs = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(k) and not _is_amp_flag(k, v)
    ]
    query = "&".join(
        f"{quote(k, safe='-._~')}={quote(v, safe='-._~')}" if v != "" else quote(k, safe="-._~")
        for k, v in sorted(pairs)
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def canonicalize_url(url: str, *, canonical_hint: str | None = None) -> str:
    """The one spelling of ``url`` we store and hash.

    Lower-cases scheme and host, drops default ports, credentials, fragments,
    tracking parameters and AMP markers (``/amp/``, ``amp.`` host, ``?amp=1``,
    ``/amp``, ``.amp.html``), sorts the remaining query and drops a trailing
    slash. ``canonical_hint`` (the page's ``rel=canonical``, possibly relative)
    wins when it stays on the same registrable domain: sites know their own
    canonical spelling, but a hint pointing elsewhere is syndication or a bug.
    Idempotent: ``canonicalize_url(canonicalize_url(u)) == canonicalize_url(u)``.
    """
    canonical = _canonicalize(url, "url")
    if canonical_hint and canonical_hint.strip():
        hint = urljoin(url.strip(), canonical_hint.strip())
        try:
            hinted = _canonicalize(hint, "canonical_hint")
        except UrlError:
            return canonical
        site = registrable_domain(canonical)
        if site is not None and registrable_domain(hinted) == site:
            return hinted
    return canonical


def article_id(canonical_url: str) -> str:
    """Stable 16-hex id of an article: sha256 of its canonical URL (canonicalized again, harmlessly)."""
    return hashlib.sha256(canonicalize_url(canonical_url).encode("utf-8")).hexdigest()[:16]
