"""Completion: what may stand at the cursor, at many cursor positions, and never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import any_filter_text

import helicone_filter
from helicone_filter.facts.schema import ALLOWED_OPERATORS, FIELDS
from helicone_filter.frontends.completion import Completion, complete

KEYS = {"properties": ["environment", "my key", 'say "hi"']}
# Not node_id, job_id, total_tokens, assets, search_properties: Helicone's query fails on them.
REFUSED = {"node_id", "job_id", "total_tokens", "assets", "search_properties"}
ALL_FIELDS = [f for f in FIELDS if f not in REFUSED]
NUMBER_OPS = list(ALLOWED_OPERATORS["number"])
TEXT_OPS = list(ALLOWED_OPERATORS["text"])


def labels(text: str, cursor: int | None = None) -> list[str]:
    return [c.label for c in complete(text, cursor, map_keys=KEYS)]


# (text, cursor or None for the end, what the labels start with or equal)
CASES: list[tuple[str, int | None, list[str], bool]] = [
    # the start, and names being typed
    ("", None, [*ALL_FIELDS, "users_view", "request_response_rmt", "not", "all", "("], True),
    ("   ", None, [*ALL_FIELDS, "users_view", "request_response_rmt", "not", "all", "("], True),
    ("us", None, ["user_user_id", "user_active_for"], False),
    ("user_c", None, ["user_cost"], False),
    ("ucost", None, ["user_cost"], True),
    ("modl", None, ["model"], True),
    ("mod = 'x'", 2, ["model"], False),
    ("cost > 1 and lat", None, ["latency", "user_last_active"], True),
    ("cost > 1 and (", None, ALL_FIELDS[:3], False),
    ("not ", None, ALL_FIELDS[:3], False),
    ("!", None, ALL_FIELDS[:3], False),
    ("zzzz", None, [], True),
    # after a field of each type: only its operators
    ("user_cost ", None, NUMBER_OPS, True),
    ("cost ", None, NUMBER_OPS, True),
    ("model ", None, TEXT_OPS, True),
    ("user_user_id ", None, TEXT_OPS, True),
    ("request_created_at ", None, list(ALLOWED_OPERATORS["timestamp"]), True),
    ("cached ", None, ["=", "!=", "and", "or"], True),
    ("property_key ", None, ["="], True),
    ("properties ", None, ["["], True),
    # UUID columns take no patterns; scores are whole numbers, compared for (in)equality
    ("request_id ", None, ["=", "!=", "in", "not in", "is null", "is not null", "is empty"], True),
    ("scores.k ", None, ["=", "!=", "in", "not in"], True),
    ("scores_column ", None, ["=", "!="], True),
    ("node_", None, [], True),
    ("properties.environment ", None, list(ALLOWED_OPERATORS["map"]), True),
    ('properties["my key"] ', None, list(ALLOWED_OPERATORS["map"]), True),
    ("users_view.user_cost ", None, NUMBER_OPS, True),
    ("model i", None, ["ilike", "in", "is null", "is not null", "is empty", "like"], False),
    ("model no", None, ["not contains", "not in", "is not null"], True),
    ("cost >", None, [">", ">="], True),
    ("model !", None, ["!="], True),
    ("model is ", None, ["not", "null", "empty"], True),
    ("model is not ", None, ["null"], True),
    # after an operator: a value of the field's type
    ("model = ", None, ['"..."'], True),
    ("cached = ", None, ["true", "false"], True),
    ("cached = t", None, ["true"], True),
    ("cost >= ", None, ["0"], True),
    ("request_created_at >= ", None, ["now - 7d", "now", '"2024-01-31T00:00:00Z"'], True),
    ("request_created_at >= now ", None, ["and", "or", "- 7d"], True),
    ("properties.environment = ", None, ['"..."'], True),
    ("user_id in ", None, ['["..."]', "["], True),
    ("model not in ", None, ['["..."]', "["], True),
    ("cost in ", None, ["["], True),
    ("user_id in [", None, ['"..."', "]"], True),
    ('user_id in ["a", ', None, ['"..."', "]"], True),
    ("cost in [1", None, [], True),
    # after a whole condition
    ("cost > 5 ", None, ["and", "or"], True),
    ("cost > 5 a", None, ["and"], True),
    ("(cost > 5 ", None, ["and", "or", ")"], True),
    ("(cost > 5) ", None, ["and", "or"], True),
    ("cost > 5 and ", None, ALL_FIELDS[:3], False),
    # inside a string, a map, or a table
    ('model = "ab', None, [], True),
    ("properties.", None, ["environment", "my key", 'say "hi"'], True),
    ("properties.env", None, ["environment"], True),
    ('properties["', None, ["environment", "my key", 'say "hi"'], True),
    ('properties["my', None, ["my key"], True),
    ("scores.", None, [], True),
    ("users_view.", None, [n for n, f in FIELDS.items() if f.table == "users_view"], True),
    ("users_view.user_co", None, ["user_cost"], False),
    # after an error: a syntax error before the cursor still gets a fresh condition
    ("cost > > 5 and ", None, ALL_FIELDS[:3], False),
    ("modle = 1 and ", None, ALL_FIELDS[:3], False),
]


@pytest.mark.parametrize(("text", "cursor", "expected", "exact"), CASES)
def test_completion_table(text: str, cursor: int | None, expected: list[str], exact: bool) -> None:
    found = labels(text, cursor)
    if exact:
        assert found == expected
    else:
        assert found[: len(expected)] == expected


def test_there_are_forty_or_more_positions() -> None:
    assert len(CASES) >= 40


def test_replace_range_is_the_word_under_the_cursor() -> None:
    first = complete("user_co > 5", 7)[0]
    assert (first.label, first.replace_start, first.replace_end) == ("user_cost", 0, 7)
    # Mid-word: ranked by what stands before the cursor, replacing the whole word.
    first = complete("user_co > 5", 4)[0]
    assert (first.label, first.replace_start, first.replace_end) == ("user_user_id", 0, 7)
    # A key that is no plain name goes in brackets, in place of the dot
    text = "properties.my"
    (c,) = complete(text, map_keys={"properties": ["my key"]})
    assert (c.insert_text, c.replace_start, c.replace_end) == ('["my key"]', 10, 13)
    done = text[: c.replace_start] + c.insert_text + text[c.replace_end :] + ' = "x"'
    assert helicone_filter.compile(done) == {
        "request_response_rmt": {"properties": {"my key": {"equals": "x"}}}
    }
    (c,) = complete("properties.envi", map_keys={"properties": ["environment"]})
    assert (c.insert_text, c.replace_start, c.replace_end) == ("environment", 11, 15)
    (c,) = complete('properties["my', map_keys={"properties": ["my key"]})
    assert (c.insert_text, c.replace_start, c.replace_end) == ('"my key"', 11, 14)
    op = complete("cost >")[0]
    assert (op.insert_text, op.replace_start, op.replace_end) == ("> ", 5, 6)


def test_details() -> None:
    field = complete("user_cost")[0]
    assert (field.kind, field.detail) == ("field", "number · users_view")
    op = complete("model like")[0]
    assert (op.kind, op.detail) == (
        "operator",
        "matches a pattern: % any run, _ one character (case-sensitive)",
    )
    assert isinstance(op, Completion)


@given(any_filter_text() | st.text(max_size=40), st.integers(-5, 200))
def test_complete_never_raises(text: str, cursor: int) -> None:
    for c in complete(text, cursor, map_keys=KEYS):
        assert 0 <= c.replace_start <= c.replace_end <= len(text)


# -- where the cursor goes, and known values ---------------------------------------------------

VALUES = {
    "model": ["gpt-4o", "gpt-4o-mini", "mistral-large", "gpt-4o"],
    "status": [200, "404", "not a number", 2.5, float("nan")],
    "properties.environment": ["prod", 'say "hi"'],
    'properties["my key"]': ["x"],
    "cached": [True, "yes"],
    "request_created_at": ["2025-01-01"],
}


def accepted(text: str, c: Completion, typed: str = "") -> str:
    """The text once `c` is accepted and `typed` is typed where its cursor goes."""
    at = c.replace_start + c.cursor_offset
    done = text[: c.replace_start] + c.insert_text + text[c.replace_end :]
    return done[:at] + typed + done[at:]


def test_the_cursor_goes_between_the_quotes_of_a_template() -> None:
    (template,) = complete("model = ")
    assert (template.insert_text, template.cursor_offset) == ('""', 1)
    assert accepted("model = ", template, "gpt-4o") == 'model = "gpt-4o"'
    listed = complete("model in ")[0]
    assert (listed.insert_text, listed.cursor_offset) == ('[""]', 2)
    assert accepted("model in ", listed, "a") == 'model in ["a"]'
    # everything else: after what it inserts
    for text in ("mod", "model ", "cached = ", "cost > 1 ", "properties.", "request_created_at > "):
        for c in complete(text, map_keys=KEYS):
            if c.insert_text not in ('""', '[""]'):
                assert c.cursor_offset == len(c.insert_text), (text, c)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("model = ", ['"gpt-4o"', '"gpt-4o-mini"', '"mistral-large"', '"..."']),
        ("model != ", ['"gpt-4o"', '"gpt-4o-mini"', '"mistral-large"', '"..."']),
        ("model = gp", ['"gpt-4o"', '"gpt-4o-mini"']),
        ("model = 4o", ['"gpt-4o"', '"gpt-4o-mini"']),  # holding it, after those starting with it
        ("model = MI", ['"mistral-large"', '"gpt-4o-mini"']),
        ("model in [", ['"gpt-4o"', '"gpt-4o-mini"', '"mistral-large"', '"..."', "]"]),
        ('model in ["a", ', ['"gpt-4o"', '"gpt-4o-mini"', '"mistral-large"', '"..."', "]"]),
        (
            "request_response_rmt.model = ",
            ['"gpt-4o"', '"gpt-4o-mini"', '"mistral-large"', '"..."'],
        ),
        ("status = ", ["200", "404", "2.5", "0"]),  # numbers as they are; text is no number
        ("status >= 4", ["404"]),
        ("properties.environment = ", ['"prod"', '"say \\"hi\\""', '"..."']),
        ('properties["environment"] = p', ['"prod"']),
        ('properties["my key"] = ', ['"x"', '"..."']),
        ("cached = ", ["true", "false"]),  # a known true is the template's true
        ("request_created_at > ", ['"2025-01-01"', "now - 7d", "now", '"2024-01-31T00:00:00Z"']),
        ("model ", TEXT_OPS),  # after the field: still its operators
        ("provider = ", ['"..."']),  # no values known
    ],
)
def test_known_values(text: str, expected: list[str]) -> None:
    assert [c.label for c in complete(text, values=VALUES)] == expected


def test_a_known_value_in_an_open_string_replaces_the_string() -> None:
    text = 'model = "gp'
    found = complete(text, values=VALUES)
    assert [c.insert_text for c in found] == ['"gpt-4o"', '"gpt-4o-mini"']
    assert (found[0].replace_start, found[0].replace_end) == (8, 11)
    assert accepted(text, found[0]) == 'model = "gpt-4o"'
    # the closing quote already there is replaced too; a single quote stays single
    (c,) = complete('model = "mi" and cached', 10, values=VALUES)
    assert accepted('model = "mi" and cached', c) == 'model = "mistral-large" and cached'
    (c,) = complete("model = 'mi", values=VALUES)
    assert c.insert_text == "'mistral-large'"


def test_accepting_a_known_value_compiles_to_it() -> None:
    for text, value in (("model = gp", "gpt-4o"), ("properties.environment = ", "prod")):
        c = complete(text, values=VALUES)[0]
        done = accepted(text, c)
        assert helicone_filter.compile(done) == helicone_filter.compile(
            text[: c.replace_start] + f'"{value}"'
        )
