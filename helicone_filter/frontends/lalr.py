"""The LALR engine: lark's tables for grammar/filter.lark, made ahead of time, run by a small
loop.

lark turns the grammar into LALR(1) parse tables, per-state terminal sets (its contextual
lexer) and rules. Parsing with those tables needs none of lark's machinery: at build time,
`grammar/build_tables.py` extracts them (in an order that does not change from run to run)
and writes them as a module of plain data, `parse_tables.py`, shipped in the package; a test
fails while it is out of date with the grammar. This module is the run-time half: nothing is
built, written or read from disk at run time, and lark is not imported.
The loop: a compiled regular expression per parser state built from the grammar's own
terminal definitions, tuples for the tables, a slotted token, and one callback per rule that
does what lark's tree builder would (drop filtered tokens, splice `_rule`s, inline a `?rule`
with one child, call the transformer method named by the rule or its alias).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import itemgetter
from typing import Any

END = "$END"


class Tok(tuple):  # type: ignore[type-arg]
    """A token: its terminal's name, its text and its offsets.

    A tuple underneath, built by `tok(...)` with one C call: the parser builds one per token.
    """

    __slots__ = ()

    type = property(itemgetter(0))
    value = property(itemgetter(1))
    start_pos = property(itemgetter(2))
    end_pos = property(itemgetter(3))

    def __str__(self) -> str:
        return str(self[1])

    def __repr__(self) -> str:
        return f"Tok({self[0]!r}, {self[1]!r}, {self[2]}, {self[3]})"


_new_tuple = tuple.__new__


def tok(type_: str, value: str, start: int, end: int) -> Tok:
    """A new token."""
    return _new_tuple(Tok, (type_, value, start, end))


class ParseFailure(Exception):
    """Where and why parsing stopped: an unexpected token, or a character no token starts with.

    `expected` holds the names of the terminals that could have stood there (exactly: each was
    tried against the parser's stack).
    """

    def __init__(self, pos: int, token: Tok | None, expected: set[str]) -> None:
        super().__init__(f"parse failure at {pos}")
        self.pos = pos
        self.token = token  # None: no terminal matches at pos
        self.expected = expected


# What the loop does to reduce by a rule (see Engine.reducers).
PASS, ONE, THREE, APPEND, STAR, LIST, ACCEPT = range(7)

# Rule: (origin, size, keep, expand1, callback name). `keep` lists the kept child positions,
# each with whether it is a `_rule` to splice.
Rule = tuple[str, int, tuple[tuple[int, bool], ...], bool, str | None]


class Tables:
    """Everything the loop needs, as plain data (what parse_tables.py holds)."""

    def __init__(
        self,
        states: list[dict[str, tuple[bool, int]]],
        rules: list[Rule],
        start: int,
        end: int,
        lexer_of_state: list[int],
        lexers: list[str],
        root_lexer: str,
        skip: str,
        terminals: frozenset[str],
        dropped: frozenset[str],
    ) -> None:
        self.states = states
        self.rules = rules
        self.start = start
        self.end = end
        self.lexer_of_state = lexer_of_state
        self.lexers = lexers
        self.root_lexer = root_lexer
        self.skip = skip
        self.terminals = terminals
        self.dropped = dropped  # terminals that no rule keeps


FIELDS = (
    "states",
    "rules",
    "start",
    "end",
    "lexer_of_state",
    "lexers",
    "root_lexer",
    "skip",
    "terminals",
    "dropped",
)


def load_tables() -> Tables:
    """The tables of the grammar, from the module generated ahead of time."""
    from helicone_filter.frontends import parse_tables as t

    return Tables(*(getattr(t, name.upper()) for name in FIELDS))


class Engine:
    """Parses text with the tables, calling `transformer`'s methods as rules reduce."""

    def __init__(self, tables: Tables, transformer: object) -> None:
        self.tables = tables
        terminals = tables.terminals | {END}
        self._lexers: list[re.Pattern[str] | None] = [None] * len(tables.lexers)
        self._matchers: list[Callable[[str, int], re.Match[str] | None] | None] = [None] * len(
            tables.states
        )
        # The tables in the loop's shape: an action is a state to shift to (>= 0) or the
        # complement of a rule to reduce by; gotos are apart.
        self._actions: list[dict[str, int]] = [
            {k: (arg if shift else ~arg) for k, (shift, arg) in row.items() if k in terminals}
            for row in tables.states
        ]
        self._gotos: list[dict[str, int]] = [
            {k: arg for k, (_shift, arg) in row.items() if k not in terminals}
            for row in tables.states
        ]
        self._root: re.Pattern[str] | None = None
        # One reducer per rule: (origin, size, how, function). `how` says what the loop does:
        # PASS a `?rule` passing its one child through (only the state on top changes), ONE and
        # THREE a method of the one or three children (called with plain arguments, which
        # Python calls fastest), APPEND the step of a repetition (the item joins its list in
        # place), STAR a method of every child, LIST a function of the children as one list;
        # ACCEPT ends the parse.
        # The last item is the goto table of the rule's origin, a list indexed by state.
        self.reducers: list[tuple[int, int, Callable[..., Any] | None, list[int]]] = []
        goto_lists: dict[str, list[int]] = {}
        for origin, size, keep, expand1, cb in tables.rules:
            goto = goto_lists.get(origin)
            if goto is None:
                goto = goto_lists[origin] = [row.get(origin, -1) for row in self._gotos]
            method = getattr(transformer, cb, None) if cb else None
            every = keep == tuple((i, False) for i in range(size))
            if size == 1 and expand1 and method is None and every:
                self.reducers.append((size, PASS, None, goto))
            elif method is not None and not expand1 and every:
                how = {1: ONE, 3: THREE}.get(size, STAR)
                self.reducers.append((size, how, method, goto))
            elif method is None and not expand1 and _is_append(keep, size):
                self.reducers.append((size, APPEND, None, goto))
            else:
                self.reducers.append((size, LIST, _reducer(keep, expand1, method), goto))
        # The end of the input in the end state accepts: a pseudo-rule, so that the loop's hot
        # path needs no test for the end.
        self._actions[tables.end] = {END: ~len(self.reducers)}
        self.reducers.append((0, ACCEPT, None, []))

    def _matcher(self, state: int) -> Callable[[str, int], re.Match[str] | None]:
        index = self.tables.lexer_of_state[state]
        compiled = self._lexers[index]
        if compiled is None:  # compiled on first use: most filters visit a few states
            compiled = self._lexers[index] = re.compile(self.tables.lexers[index])
        self._matchers[state] = compiled.match
        return compiled.match

    def parse(
        self,
        text: str,
        stack: list[int] | None = None,
        follow: list[set[str]] | None = None,
        tail: list[Any] | None = None,
    ) -> Any:
        """The transformer's result for the whole text, or ParseFailure.

        With `stack`, its first item is set to the deepest the parser's stack went: at least
        the nesting depth of the input, so a shallow stack proves a shallow input. With
        `follow`, parsing stops at the end of the text and appends the terminals that could
        come next there (what completion offers); the result is then None, and `tail` gets
        what the parser holds at that point: the tokens and nodes not yet reduced into a
        whole (the field and operator being written, say).
        """
        actions, reducers = self._actions, self.reducers
        matchers = self._matchers
        dropped = self.tables.dropped
        new = _new_tuple
        state_stack = [self.tables.start]
        values: list[Any] = []
        push_state, push_value = state_stack.append, values.append
        pos, length = 0, len(text)
        deepest = 1
        while True:
            state = state_stack[-1]
            m = (matchers[state] or self._matcher(state))(text, pos)
            if m is None:
                raise self._no_token(text, pos, state_stack)
            kind = m.lastgroup
            token: Tok | None
            if kind is None:  # only ignored text was left
                if follow is not None:
                    follow.append(self.accepts(state_stack))
                    if tail is not None:
                        tail.extend(values)
                    return None
                kind = END
                token = tok(END, "", length, length)
            elif kind in dropped:
                pos = m.end()  # a token no rule keeps (`and`, `,`): nothing to build
                token = None
            else:
                start, pos = m.span(kind)
                token = new(Tok, (kind, text[start:pos], start, pos))
            # Reduce as long as the table says so, then shift the token (or accept at the end).
            row = actions[state]
            while True:
                try:
                    action = row[kind]
                except KeyError:
                    if token is None:
                        start, end = m.span(kind)
                        token = tok(kind, text[start:end], start, end)
                    raise ParseFailure(token.start_pos, token, self.accepts(state_stack)) from None
                if action >= 0:
                    push_state(action)
                    push_value(token)
                    if len(state_stack) > deepest:
                        deepest = len(state_stack)
                    break
                size, how, reduce, goto = reducers[~action]
                if how == PASS:  # only the state on top changes
                    state = state_stack[-1] = goto[state_stack[-2]]
                elif how == ONE:
                    values[-1] = reduce(values[-1])  # type: ignore[misc]
                    state = state_stack[-1] = goto[state_stack[-2]]
                elif how == THREE:
                    node = reduce(values[-3], values[-2], values[-1])  # type: ignore[misc]
                    del values[-2:], state_stack[-2:]
                    values[-1] = node
                    state = state_stack[-1] = goto[state_stack[-2]]
                elif how == APPEND:  # `_items: _items SEP item`: the list stays where it is
                    values[-size].append(values[-1])
                    del values[1 - size :], state_stack[1 - size :]
                    state = state_stack[-1] = goto[state_stack[-2]]
                else:
                    if how == ACCEPT:
                        if stack is not None:
                            stack[:1] = [deepest]
                        return values[-1]
                    if size:
                        children = values[-size:]
                        del values[-size:], state_stack[-size:]
                    else:
                        children = []
                    push_value(reduce(*children) if how == STAR else reduce(children))  # type: ignore[misc]
                    state = goto[state_stack[-1]]
                    push_state(state)
                row = actions[state]

    def accepts(self, state_stack: list[int]) -> set[str]:
        """The terminals that the parser, with this stack, could take next."""
        states = self.tables.states
        rules = self.tables.rules
        found: set[str] = set()
        for kind in states[state_stack[-1]]:
            if kind not in self.tables.terminals and kind != END:
                continue
            stack = list(state_stack)
            while True:
                action = states[stack[-1]].get(kind)
                if action is None:
                    break
                if action[0]:
                    found.add(kind)
                    break
                origin, size = rules[action[1]][:2]
                if size:
                    del stack[-size:]
                stack.append(states[stack[-1]][origin][1])
                if kind == END and stack[-1] == self.tables.end:
                    found.add(kind)
                    break
        return found

    def _no_token(self, text: str, pos: int, state_stack: list[int]) -> ParseFailure:
        """No terminal of this state matches: a token of another state, or no token at all."""
        if self._root is None:
            self._root = re.compile(self.tables.root_lexer)
        skipped = re.match(self.tables.skip, text[pos:]) if self.tables.skip else None
        pos += skipped.end() if skipped else 0
        m = self._root.match(text, pos)
        if m is not None and m.lastgroup is not None:
            token = tok(m.lastgroup, m.group(), pos, m.end())
            return ParseFailure(pos, token, self.accepts(state_stack))
        allowed = {t for t in self.tables.states[state_stack[-1]] if t in self.tables.terminals}
        return ParseFailure(pos, None, allowed)


def _reducer(
    keep: tuple[tuple[int, bool], ...], expand1: bool, method: Callable[..., Any] | None
) -> Callable[[list[Any]], Any]:
    """What lark's tree builder does for one rule, as one function of the children."""
    indices = tuple(i for i, _ in keep)
    splice = any(expand for _, expand in keep)

    def children_of(children: list[Any]) -> list[Any]:
        out: list[Any] | None = None
        for i, expand in keep:
            if expand:
                if out is None:
                    out = children[i]  # reuse the spliced list: chains stay linear
                else:
                    out.extend(children[i])
            elif out is None:
                out = [children[i]]
            else:
                out.append(children[i])
        return out if out is not None else []

    if method is None:
        if expand1:
            return lambda children: _single(children_of(children))
        return children_of  # a `_rule`: its parent splices the list
    call = method
    if splice:
        if expand1:
            return lambda children: _maybe_single(children_of(children), call)
        return lambda children: call(*children_of(children))
    if expand1:
        return lambda children: _maybe_single([children[i] for i in indices], call)
    if indices == tuple(range(len(indices))):
        return lambda children: call(*children)  # every child kept: the common case
    if len(indices) == 1:
        (only,) = indices
        return lambda children: call(children[only])
    pick = itemgetter(*indices)
    return lambda children: call(*pick(children))


def _is_append(keep: tuple[tuple[int, bool], ...], size: int) -> bool:
    """Whether the rule is the step of a repetition, `_items: _items [SEP] item`: the spliced
    list first, the item last, and at most a dropped separator between."""
    return size in (2, 3) and keep == ((0, True), (size - 1, False))


def _maybe_single(kept: list[Any], method: Callable[..., Any]) -> Any:
    return kept[0] if len(kept) == 1 else method(*kept)


def _single(kept: list[Any]) -> Any:
    if len(kept) != 1:  # pragma: no cover - a ?rule with several children has a method
        raise RuntimeError("a ?rule with several children needs a transformer method")
    return kept[0]
