"""The one rule that finds the credentials in storage and tracking URLs, to hide or to pass on.

Whatever shows a URL or an error (the panel, the snapshot, text progress, ``%optuna watch``,
``%optuna export``, the messages and tracebacks of the magic, MLflow tags) goes through
:func:`mask_url` or :func:`mask_text`, so one rule decides what a password is.

A hand parse, not ``urllib.parse`` or SQLAlchemy's ``make_url``: both expect a well-formed URL,
and people paste passwords as they are. ``urlsplit`` ends the host part at the first ``/``, so for
it ``u:p/w@h`` has no password at all; SQLAlchemy ends the password at the first ``@``, so
``u:p@ss@h`` connects to a host ``ss@h`` and the driver's error shows ``ss``. Here the user
information runs on to a later ``@`` while no ``/``, ``?`` or ``#`` comes between (a host name
holds none of them), and the same split that hides the password hands it, percent-encoded, to
SQLAlchemy (:func:`connectable_url`): what is hidden is exactly what is sent.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import shlex
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, unquote

__all__ = [
    "MASK",
    "connectable_url",
    "hide_line",
    "mask_text",
    "mask_url",
    "masked_errors",
    "masking",
    "password_parts",
    "reveal_line",
    "secrets_in",
]

MASK = "***"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# key=value pairs of a query string (or a bare ``token=...`` word in a message).
_PAIR = re.compile(r"(?P<pre>(?:^|[?&;])(?P<key>[^=&;?#\s]+)=)(?P<value>[^&;#\s]*)")
# Keys whose value is a credential: password, PWD, passwd, secret_key, access_key, sas token, ...
_SECRET_KEY = re.compile(r"(?i)(pass|pwd|secret|token|credential|signature|key$|sig$)")
# Characters around a URL in a message or an option line that are not part of it.
_LEAD, _TRAIL = "'\"`([{<", "'\"`)]}>.,;:"
# A known secret shorter than this is not replaced in free text: it cannot be told from ordinary
# words there (its URL, the only place it is shown, is still masked by the rule).
_MIN_SECRET = 4


def _userinfo_end(url: str, start: int) -> int | None:
    """The index of the ``@`` that ends the user information of ``url[start:]``, or None."""
    at = url.find("@", start)
    if at < 0:
        return None
    user = url[start:at].split(":", 1)[0]
    if any(c in user for c in "/?#"):
        return None  # the '@' is in a path or a query: there is no user information
    while True:
        # An unencoded '@' in the password: the user information goes on to the next '@' while
        # nothing between them could end a host name.
        nxt = url.find("@", at + 1)
        if nxt < 0 or any(c in url[at + 1 : nxt] for c in "/?#"):
            return at
        at = nxt


def _split(url: str) -> tuple[str, str, str | None, str]:
    """``scheme://user:password@rest`` -> ``("scheme://", "user", "password", "rest")``.

    The password is None when there is none (no user information, or a user name only).
    """
    m = _SCHEME.match(url)
    start = m.end() if m else 0
    if not m and url.startswith("journal:"):
        return "", "", None, url  # a journal file path, never a URL with credentials
    end = _userinfo_end(url, start)
    if end is None:
        return url[:start], "", None, url[start:]
    user, colon, password = url[start:end].partition(":")
    if not colon:
        return url[:start], "", None, url[start:]
    return url[:start], user, password, url[end + 1 :]


def _mask_pairs(text: str) -> str:
    return _PAIR.sub(
        lambda m: m["pre"] + (MASK if _SECRET_KEY.search(m["key"]) else m["value"]), text
    )


def mask_url(url: str | None) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``; None -> "in memory".

    Also hides secret query values (``?password=``, ``&PWD=``, ``token=``, ``secret_key=``...)
    and works without a scheme (``u:pw@host/db``); a user name alone is kept as it is.
    """
    if not url:
        return "in memory"
    core = url.strip("'\"")
    if core != url and core:  # an option value as typed, quotes and all
        start = url.index(core)
        return url[:start] + mask_url(core) + url[start + len(core) :]
    prefix, user, password, rest = _split(url)
    if password is not None:
        url = f"{prefix}{user}:{MASK}@{rest}"
    return _mask_pairs(url)


def _mask_word(word: str) -> str:
    if "@" not in word and "=" not in word:
        return word
    core = word.lstrip(_LEAD)
    lead = word[: len(word) - len(core)]
    body = core.rstrip(_TRAIL)
    trail = core[len(body) :]
    m = _SCHEME.search(body)
    if m and m.start():
        return lead + body[: m.start()] + mask_url(body[m.start() :]) + trail
    return lead + mask_url(body) + trail


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` (a message, an option line) with every URL in it masked by :func:`mask_url`.

    ``secrets`` (from :func:`secrets_in`) are replaced wherever they appear too, for messages
    that echo a password outside its URL.
    """
    out = re.sub(r"\S+", lambda m: _mask_word(m.group()), text)
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True):
        out = out.replace(secret, MASK)
    return out


def _words(text: str) -> list[str]:
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote: the magic refuses the line; still find what we can
        words = text.split()
    for w in list(words):
        if w.startswith("-") and "=" in w:
            words.append(w.split("=", 1)[1])  # --storage=URL
    return words


def secrets_in(text: str) -> list[str]:
    """The passwords and secret query values of every URL in ``text``, as given and decoded."""
    found: list[str] = []
    for word in _words(text):
        m = _SCHEME.search(word)
        _, _, password, _ = _split(word[m.start() :] if m else word)
        values = [password] if password else []
        values += [p["value"] for p in _PAIR.finditer(word) if _SECRET_KEY.search(p["key"])]
        for v in values:
            found += {v, unquote(v)} - {"", MASK}
    return found


def password_parts(url: str) -> tuple[str, str | None, str]:
    """``url`` as (what comes before its password, the password or None, what follows it).

    Each ``@`` of the password and of the query is percent-encoded: SQLAlchemy reads the user
    information up to the last ``@`` it can match, so an ``@`` left in the password or in a
    ``?password=`` value turns what follows it into the host name (and the driver's error shows
    it). Encoded, the value reaches the database whole: SQLAlchemy decodes both.
    """
    prefix, user, password, rest = _split(url)
    head, q, query = rest.partition("?")
    rest = head + q + query.replace("@", "%40")
    if password is None:
        return prefix + rest, None, ""
    return f"{prefix}{user}:", quote(password, safe=_KEEP), f"@{rest}"


def connectable_url(url: str) -> str:
    """``url`` as SQLAlchemy reads it right (see :func:`password_parts`)."""
    before, password, after = password_parts(url)
    return before + (password or "") + after


# Everything but '@' stays as written: SQLAlchemy reads '/', ':', '?' and '#' in a password as
# they are, and a '%' already there is the user's own encoding.
_KEEP = "".join(chr(c) for c in range(33, 127) if chr(c) != "@")


@contextlib.contextmanager
def masked_errors(line: str) -> Iterator[None]:
    """Re-raise an error that escapes the magic with the credentials of ``line`` masked.

    The magic's own messages mask their URLs already; this catches what other code says about
    the line (argparse echoing an option, a driver echoing a host, an error chained to ours) and
    the traceback, whose first frame shows the cell's source, that is the raw line in a terminal.
    """
    from IPython.core.error import UsageError

    try:
        yield
    except BaseException as e:
        secrets = secrets_in(line)
        if mask_text(line, secrets) == line:
            raise
        clean = _masked(e, secrets) if isinstance(e, Exception) else e
        if not isinstance(clean, UsageError):  # IPython prints a UsageError's message only
            _mask_rendering(clean, secrets)
        if clean is e:
            raise
        raise clean from None


def masking(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a magic method ``(self, line, ...)`` so that its errors show no credential."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(self: Any, line: str, *args: Any, **kwargs: Any) -> Any:
            with masked_errors(line):
                return await fn(self, line, *args, **kwargs)

        return run_async

    @functools.wraps(fn)
    def run(self: Any, line: str, *args: Any, **kwargs: Any) -> Any:
        with masked_errors(line):
            return fn(self, line, *args, **kwargs)

    return run


def _mask_rendering(e: BaseException, secrets: list[str]) -> None:
    """Make IPython show ``e`` (its own rendering, or its traceback) with the secrets masked."""
    own = getattr(e, "_render_traceback_", None)

    def render() -> list[str]:
        if own is not None:
            lines = list(own())
        else:
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None:
                lines = shell.InteractiveTB.structured_traceback(type(e), e, e.__traceback__)
            else:
                lines = traceback.format_exception(e)
        return [mask_text(text, secrets) for text in lines]

    with contextlib.suppress(AttributeError, TypeError):
        e._render_traceback_ = render  # type: ignore[attr-defined]


# Raw option lines that the kernel's transform keeps out of the cell's source, by key, and the key
# of each line, so a line transformed twice (IPython checks cells for completeness) is kept once.
_HIDDEN: dict[int, str] = {}
_KEYS: dict[str, int] = {}
_HIDDEN_MAX = 256


def hide_line(line: str) -> tuple[str, int | None]:
    """``line`` masked for generated source, and the key :func:`reveal_line` reads it back by.

    The key is None when the line holds no credential. IPython caches the source the transform
    writes (tracebacks, debuggers and ``In`` show it), so it must never hold a password.
    """
    shown = mask_text(line, secrets_in(line))
    if shown == line:
        return line, None
    key = _KEYS.get(line)
    if key is None:
        key = _KEYS[line] = max(_HIDDEN, default=0) + 1
        _HIDDEN[key] = line
        while len(_HIDDEN) > _HIDDEN_MAX:
            _KEYS.pop(_HIDDEN.pop(next(iter(_HIDDEN))), None)
    return shown, key


def reveal_line(shown: str, key: int | None) -> str:
    """The raw line that :func:`hide_line` hid under ``key`` (``shown`` when nothing was hidden)."""
    from IPython.core.error import UsageError

    if key is None:
        return shown
    try:
        return _HIDDEN[key]
    except KeyError:
        raise UsageError(
            f"%%optuna {shown}: this copy of the cell no longer knows its options; run the "
            "cell itself again"
        ) from None


def _chain(e: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = e
    while seen is not None:
        yield seen
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


def _masked(e: Exception, secrets: list[str]) -> Exception:
    from IPython.core.error import UsageError

    from optuna_magic.cell.space import OptunaMagicError

    def dirty(text: str | None) -> bool:
        return bool(text) and mask_text(text or "", secrets) != text

    if not any(dirty(str(x)) or dirty(getattr(x, "source", None)) for x in _chain(e)):
        return e
    if isinstance(e, OptunaMagicError):
        source = mask_text(e.source, secrets) if e.source else e.source
        return OptunaMagicError(mask_text(e.message, secrets), e.line, source)
    if isinstance(e, UsageError):
        return UsageError(mask_text(str(e), secrets))
    with contextlib.suppress(Exception):
        # Keep the error itself (its type and traceback) when its text can be masked in place.
        e.args = tuple(mask_text(a, secrets) if isinstance(a, str) else a for a in e.args)
        if not dirty(str(e)):
            e.__cause__, e.__suppress_context__ = None, True  # what it was chained to showed it
            return e
    return OptunaMagicError(f"{type(e).__name__}: {mask_text(str(e), secrets)}")
