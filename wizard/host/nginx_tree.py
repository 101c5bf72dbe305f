"""Reading an nginx config straight into Directives, the way crossplane.parse reads it.

Why: crossplane.parse first builds a dict for every statement of every file (25 MB for
5,000 included server files, all alive until the last file is read) and walks the files
token by token; nginx_config then converted that payload. This module does what
crossplane 0.5.8's parser does, in the same order with the same results: the same include
and glob expansion (each file read once, in the context of its first include), the same
context and argument checks through crossplane's own analyzer, the same errors with the
same file and line, a file whose parse fails left empty. Only the output differs: one
list of Directives per file, include statements as IncludeMarks.

Most files are plain (no quotes, no `${`, no escape of a separator, braces balanced):
those are read a statement at a time with one regular expression, which is where the
time goes. Any other file is lexed by nginx_lexer (itself falling back to crossplane's
lexer) and parsed token by token exactly as crossplane's `_parse` does.
tests/unit/test_nginx_tree.py compares the result with crossplane.parse's.
"""

from __future__ import annotations

import glob
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

import crossplane
import crossplane.lexer
from crossplane.analyzer import analyze, enter_block_ctx
from crossplane.errors import NgxParserDirectiveError
from crossplane.parser import _prepare_if_args

from wizard.host import nginx_lexer
from wizard.host.nginx_directive import Directive, IncludeMark

FOLLOWS = "0.5.8"  # the crossplane whose parser this mirrors; any other: crossplane.parse
Context = tuple[str, ...]
# (directive, args, line, terminator) of a plain file; a closing brace is (None, [], 0, "}")
Statement = tuple[Optional[str], list[str], int, str]  # no X | Y at run time on 3.9
_CLOSE: Statement = (None, [], 0, "}")

# A plain file, piece by piece: each statement with the spaces and whole comments before
# it (comments hold no backslash, which crossplane's lexer would pair with the newline):
# its words up to `{` or `;`, or a closing brace; then the spaces and comments that end
# the file. Words hold no quote, and a backslash only before a character that would not
# end the word or start a quote or comment anyway. Any other character is a piece of its
# own (`odd`), which makes the file not plain; so the pieces cover the whole text and one
# findall reads a file. Written as "normal* (special normal*)*" so that no text can be
# matched two ways: a failed try costs one pass, never a search through ways to split it.
_SKIP = r"\s*(?:\#[^\n\\]*\n\s*)*"
_ESCAPED = r"""\\[^\s{};"'\\\#]"""
_FIRST = rf"""(?:[^\s{{}};"'\\\#]|{_ESCAPED})"""
_REST = rf"""[^{{}};"'\\]*(?:{_ESCAPED}[^{{}};"'\\]*)*"""
_PIECE = re.compile(rf"""({_SKIP})(?:({_FIRST}{_REST})([{{;])|(\}}))  # before, words, term, close
                        | {_SKIP}\Z                                  # the end
                        | ([\s\S])                                   # odd""", re.VERBOSE)
_COMMENT_AMONG_WORDS = re.compile(r"\s\#")


def follows_installed_crossplane() -> bool:
    return str(getattr(crossplane, "__version__", "")) == FOLLOWS


@dataclass
class TreeReading:
    """What a parse found: files in crossplane's order, each file's directives (includes
    as IncludeMarks), crossplane's error dicts, and the folders include patterns name."""

    files: list[str]
    blocks: list[list[Directive]]
    errors: list[dict[str, Any]] = field(default_factory=list)
    folders: dict[str, None] = field(default_factory=dict)


def read_tree(path: str) -> TreeReading:
    """The config at path (an absolute path) and every file it includes."""
    return _Reader(path).read()


def plain_statements(text: str) -> list[Statement] | None:
    """A plain file's statements, or None when the file is not plain: one with quotes,
    `${` (crossplane lexes it oddly), a comment among a directive's words (crossplane
    makes a statement of it), unbalanced braces or words the end of the file cuts off."""
    if "${" in text or _has_external_lexer(text):
        return None
    found: list[Statement] = []
    append = found.append
    intern = sys.intern
    line, depth = 1, 0
    for before, words, term, close, odd in _PIECE.findall(text):
        line += before.count("\n")
        if words:
            if "#" in words and _COMMENT_AMONG_WORDS.search(words):
                return None
            names = list(map(intern, words.split()))
            depth += term == "{"
            append((names[0], names[1:], line, term))
            line += words.count("\n")
        elif close:
            depth -= 1
            if depth < 0:
                return None
            append(_CLOSE)
        elif odd:
            return None
    return None if depth else found


def _has_external_lexer(text: str) -> bool:
    return any(name in text for name in crossplane.lexer.EXTERNAL_LEXERS)


class _Reader:
    """One parse of a config and its includes, file after file, as crossplane.parse."""

    def __init__(self, path: str) -> None:
        self.config_dir = os.path.dirname(path)
        self.includes: list[tuple[str, Context]] = [(path, ())]
        self.included = {path: 0}
        self.errors: list[dict[str, Any]] = []
        self.folders: dict[str, None] = {}
        # (ctx, directive, terminator, argument count, on/off) the analyzer accepted: it
        # looks at nothing else, so one check answers for thousands of servers.
        self.accepted: set[tuple[Any, ...]] = set()
        self.file = path
        self.refused_unterminated = False  # the last refusal: a block where none may be

    def read(self) -> TreeReading:
        blocks: list[list[Directive]] = []
        folders: dict[str, None] = {}
        for fname, ctx in self.includes:  # grows as include statements are read
            self.file, self.folders = fname, {}
            try:
                block = self._read_file(fname, ctx)
            except Exception as exc:  # crossplane records any failure and leaves the file empty
                self._error(exc)
                block = []
            else:
                folders.update(self.folders)
            blocks.append(block)
        return TreeReading([f for f, _ in self.includes], blocks, self.errors, folders)

    def _read_file(self, fname: str, ctx: Context) -> list[Directive]:
        with open(fname, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        statements = plain_statements(text)
        if statements is not None:
            return self._parse_plain(iter(statements), ctx)
        return self._parse_tokens(nginx_lexer.tokens_for(fname, text), ctx)

    def _error(self, exc: BaseException) -> None:
        self.errors.append({"file": self.file, "error": str(exc),
                            "line": getattr(exc, "lineno", None)})

    # -- the two parsers: crossplane's _parse, over statements or over tokens -------------
    def _parse_plain(self, statements: Iterator[Statement], ctx: Context = (),
                     consume: bool = False) -> list[Directive]:
        parsed: list[Directive] = []
        named = self.file  # the file crossplane's messages name (see _named_after)
        for directive, args, line, term in statements:
            if directive is None:  # the block's closing brace
                break
            if consume:
                if term == "{":
                    self._parse_plain(statements, consume=True)
                continue
            made = self._statement(directive, args, line, term, ctx, named)
            if made is None:
                if self.refused_unterminated:  # a block where none may be: skip it
                    self._parse_plain(statements, consume=True)
                continue
            if directive == "include":
                named = self._named_after(made, named)
            if term == "{":
                self._open_block(made, ctx, self._parse_plain, statements)
            parsed.append(made)
        return parsed

    def _parse_tokens(self, tokens: Iterator[nginx_lexer.Token], ctx: Context = (),
                      consume: bool = False) -> list[Directive]:
        parsed: list[Directive] = []
        named = self.file
        for token, line, quoted in tokens:
            if token == "}" and not quoted:
                break
            if consume:
                if token == "{" and not quoted:
                    self._parse_tokens(tokens, consume=True)
                continue
            directive = token
            if directive.startswith("#") and not quoted:
                continue
            args: list[str] = []
            comments = 0  # among the args: each becomes a `#` statement after this one
            token, _, quoted = next(tokens)  # crossplane disregards the args' lines
            while token not in ("{", ";", "}") or quoted:
                if token.startswith("#") and not quoted:
                    comments += 1
                else:
                    args.append(token)
                token, _, quoted = next(tokens)
            made = self._statement(directive, args, line, token, ctx, named)
            if made is None:
                if self.refused_unterminated:
                    if token != "}" and not quoted:
                        self._parse_tokens(tokens, consume=True)
                    else:
                        break
                continue
            if directive == "include":
                named = self._named_after(made, named)
            if token == "{" and not quoted:
                self._open_block(made, ctx, self._parse_tokens, tokens)
            parsed.append(made)
            parsed.extend(Directive("#", [], self.file, line) for _ in range(comments))
        return parsed

    # -- one statement ----------------------------------------------------------------------
    def _statement(self, directive: str, args: list[str], line: int, term: str,
                   ctx: Context, named: str) -> Directive | None:
        """The statement's Directive (an IncludeMark for an include), or None when the
        analyzer refused it (the error recorded)."""
        if directive == "if":
            _prepare_if_args({"args": args})
        try:
            self._analyze(directive, args, line, term, ctx, named)
        except NgxParserDirectiveError as exc:
            self._error(exc)
            self.refused_unterminated = exc.strerror.endswith(' is not terminated by ";"')
            return None
        if directive == "include":
            return self._include(args, line, ctx)
        return Directive(directive, args, self.file, line)

    def _named_after(self, made: Directive, named: str) -> str:
        """crossplane's parse loops over an include's files with the variable that holds
        the file its messages name, so the rest of that block's messages name the last
        file included; kept, as the messages must be crossplane's."""
        if isinstance(made, IncludeMark) and made.indices:
            return self.includes[made.indices[-1]][0]
        return named

    def _analyze(self, directive: str, args: list[str], line: int, term: str,
                 ctx: Context, named: str) -> None:
        n_args = len(args)
        key = (ctx, directive, term, n_args,
               n_args == 1 and args[0].lower() in ("on", "off"))
        if key in self.accepted:
            return
        analyze(fname=named, stmt={"directive": directive, "line": line, "args": args},
                term=term, ctx=ctx, strict=False, check_ctx=True, check_args=True)
        self.accepted.add(key)

    def _include(self, args: list[str], line: int, ctx: Context) -> IncludeMark:
        """crossplane's include: the files the pattern names, each read once."""
        pattern = args[0]
        if not os.path.isabs(args[0]):
            pattern = os.path.join(self.config_dir, args[0])
        self.folders[os.path.dirname(os.path.join(self.config_dir, args[0]))] = None
        if glob.has_magic(pattern):
            fnames = sorted(glob.glob(pattern))
        else:
            try:
                # an explicit name must be readable, as nginx checks
                open(str(pattern)).close()
                fnames = [pattern]
            except Exception as exc:
                fnames = []
                exc.lineno = line  # type: ignore[attr-defined]
                self._error(exc)
        indices: list[int] = []
        for fname in fnames:
            if fname not in self.included:
                self.included[fname] = len(self.includes)
                self.includes.append((fname, ctx))
            indices.append(self.included[fname])
        return IncludeMark(indices, self.file, line)

    def _open_block(self, made: Directive, ctx: Context,
                    parse: Callable[..., list[Directive]], source: Iterator[Any]) -> None:
        """The block after a statement's `{`, read by the parser of its file. An include's
        block is read and dropped: its includes still count, but neither it nor the
        folders it names stay, as the conversion of crossplane's payload did."""
        inner = enter_block_ctx({"directive": made.name}, ctx)
        if made.name != "include":
            made.block = parse(source, ctx=inner)
            return
        kept, self.folders = self.folders, {}
        parse(source, ctx=inner)
        self.folders = kept
