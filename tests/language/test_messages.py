# ruff: noqa: E501 - exact messages read better unsplit
"""Error messages as users see them: exact strings for the common mistakes."""

from __future__ import annotations

import pytest

import helicone_filter
from helicone_filter import FilterError

MESSAGES = [
    (
        'modle = "gpt-4o"',
        "line 1, column 1: unknown field 'modle'\n"
        '  modle = "gpt-4o"\n'
        "  ^^^^^\n"
        "  hint: did you mean 'model'?",
    ),
    (
        "usr_cost > 5",
        "line 1, column 1: unknown field 'usr_cost'\n"
        "  usr_cost > 5\n"
        "  ^^^^^^^^\n"
        "  hint: did you mean 'user_cost'?",
    ),
    (
        "user_cost => 5",
        "line 1, column 11: unknown operator '=>'\n"
        "  user_cost => 5\n"
        "            ^^\n"
        "  hint: did you mean '>='?",
    ),
    (
        "user_cost =< 5",
        "line 1, column 11: unknown operator '=<'\n"
        "  user_cost =< 5\n"
        "            ^^\n"
        "  hint: did you mean '<='?",
    ),
    (
        'model lik "gpt%"',
        "line 1, column 7: unknown operator 'lik'\n"
        '  model lik "gpt%"\n'
        "        ^^^\n"
        "  hint: did you mean 'like'?",
    ),
    (
        'model equals "gpt-4o"',
        "line 1, column 7: unknown operator 'equals'\n"
        '  model equals "gpt-4o"\n'
        "        ^^^^^^\n"
        "  hint: did you mean '='?",
    ),
    (
        "user_id = abc",
        "line 1, column 11: unquoted text 'abc' where a value was expected\n"
        "  user_id = abc\n"
        "            ^^^\n"
        '  hint: quote text values: "abc"',
    ),
    (
        "user_id = 42",
        "line 1, column 11: user_id takes a string, not a number\n"
        "  user_id = 42\n"
        "            ^^\n"
        '  hint: quote it: user_id = "42"',
    ),
    (
        'user_cost > "5"',
        "line 1, column 13: user_cost takes a number, not a string\n"
        '  user_cost > "5"\n'
        "              ^^^\n"
        "  hint: write the number without quotes: user_cost > 5",
    ),
    (
        "model = “gpt-4o”",
        "line 1, column 9: typographic quote “ cannot delimit a string\n"
        "  model = “gpt-4o”\n"
        "          ^\n"
        "  hint: use straight quotes: \"...\" or '...'",
    ),
    (
        'model = "gpt-4o',
        "line 1, column 9: this string is never closed\n"
        '  model = "gpt-4o\n'
        "          ^^^^^^^\n"
        '  hint: add the closing "; write \\" for a quote inside the string',
    ),
    (
        "user_cost > 5 and",
        "line 1, column 18: the filter ends too early; expected a condition such as user_cost > 5, 'not' or '('\n"
        "  user_cost > 5 and\n"
        "                   ^",
    ),
    (
        "(user_cost > 5",
        "line 1, column 15: the filter ends too early; expected ')'\n"
        "  (user_cost > 5\n"
        "                ^\n"
        "  hint: close the '(' at column 1 with ')'",
    ),
    (
        "user_cost > 5)",
        "line 1, column 14: ')' has no '(' to close\n"
        "  user_cost > 5)\n"
        "               ^\n"
        "  hint: remove it, or add the '(' it closes",
    ),
    (
        'user_cost > 5 or model = "gpt-4o"',
        "line 1, column 1: 'or' joins a users_view condition (user_cost > 5) with a request_response_rmt condition (model = \"gpt-4o\"); Helicone answers such a filter with every user\n"
        '  user_cost > 5 or model = "gpt-4o"\n'
        "  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "  hint: user conditions are applied after requests are grouped by user, so they cannot be or-ed with request conditions: join them with 'and', or run two queries",
    ),
    (
        'not model like "gpt%"',
        "line 1, column 5: 'not' cannot apply to model like \"gpt%\": Helicone has no opposite of 'like' here\n"
        '  not model like "gpt%"\n'
        "      ^^^^^^^^^^^^^^^^^\n"
        "  hint: Helicone has no 'not like'; for a substring test write model not contains \"...\"",
    ),
    (
        "request_created_at > 1700000000",
        "line 1, column 22: request_created_at takes a timestamp, not a number\n"
        "  request_created_at > 1700000000\n"
        "                       ^^^^^^^^^^\n"
        '  hint: write request_created_at > "2024-01-31T00:00:00Z" or request_created_at > now - 7d (Helicone refuses unix numbers)',
    ),
    (
        'request_created_at > "01/02/2024"',
        'line 1, column 22: "01/02/2024" is not a date or time Helicone accepts\n'
        '  request_created_at > "01/02/2024"\n'
        "                       ^^^^^^^^^^^^\n"
        '  hint: write an ISO 8601 date or date-time, e.g. "2024-01-31", "2024-01-31T12:00:00Z", or a relative time: now - 7d',
    ),
    (
        'cached = "true"',
        "line 1, column 10: cached takes true or false, not a string\n"
        '  cached = "true"\n'
        "           ^^^^^^\n"
        "  hint: write cached = true or cached = false",
    ),
    (
        'model > "a"',
        "line 1, column 1: '>' does not apply to model, a text field\n"
        '  model > "a"\n'
        "  ^^^^^^^^^^^\n"
        "  hint: a text field takes =, !=, like, ilike, contains, not contains, in, not in, is null, is not null, is empty",
    ),
    (
        "user_cost > 5 & cached",
        "line 1, column 15: unexpected character '&'\n"
        "  user_cost > 5 & cached\n"
        "                ^\n"
        "  hint: write 'and' (or &&) and 'or' (or ||)",
    ),
    (
        "model = null",
        "line 1, column 9: unexpected 'null'; expected a value: a number, a \"quoted string\", true, false or now - 7d\n"
        "  model = null\n"
        "          ^^^^\n"
        "  hint: write model is null",
    ),
    (
        "model != null",
        "line 1, column 10: unexpected 'null'; expected a value: a number, a \"quoted string\", true, false or now - 7d\n"
        "  model != null\n"
        "           ^^^^\n"
        "  hint: write model is not null",
    ),
    (
        "latency > null",
        "line 1, column 11: unexpected 'null'; expected a value: a number, a \"quoted string\", true, false or now - 7d\n"
        "  latency > null\n"
        "            ^^^^\n"
        "  hint: 'null' is no value: only text fields are tested with 'is null'",
    ),
    (
        'properties = "prod"',
        "line 1, column 1: properties is a map; say which key to test\n"
        '  properties = "prod"\n'
        "  ^^^^^^^^^^\n"
        '  hint: write properties.environment or properties["my key"]',
    ),
    (
        "request_created_at >= now - 7D",
        "line 1, column 29: '7D' is not a duration\n"
        "  request_created_at >= now - 7D\n"
        "                              ^^\n"
        "  hint: a duration is digits and a lower-case unit, s, m, h, d or w: now - 7d",
    ),
    (
        "all and cached",
        "line 1, column 1: 'all' cannot be combined with other conditions\n"
        "  all and cached\n"
        "  ^^^\n"
        "  hint: 'all' matches everything: remove it, or remove the rest",
    ),
    (
        "status in []",
        "line 1, column 1: 'in []' has no values\n"
        "  status in []\n"
        "  ^^^^^^^^^^^^\n"
        "  hint: put at least one value between the brackets",
    ),
    (
        'model = "C:\\path"',
        "line 1, column 12: unknown escape \\p in a string\n"
        '  model = "C:\\path"\n'
        "             ^^\n"
        "  hint: the escapes are \\\" \\' \\\\ \\/ \\n \\r \\t \\b \\f \\uXXXX; write \\\\ for a backslash",
    ),
    (
        'users_view.model = "x"',
        "line 1, column 1: users_view has no column model; model is in request_response_rmt\n"
        '  users_view.model = "x"\n'
        "  ^^^^^^^^^^^^^^^^\n"
        "  hint: write request_response_rmt.model, or just model",
    ),
    (
        'user_cost > 5\n  and modle = "x"\n  and cached',
        "line 2, column 7: unknown field 'modle'\n"
        '    and modle = "x"\n'
        "        ^^^^^\n"
        "  hint: did you mean 'model'?",
    ),
    (
        'modle = "x" and user_id = 42',
        "line 1, column 1: unknown field 'modle'\n"
        '  modle = "x" and user_id = 42\n'
        "  ^^^^^\n"
        "  hint: did you mean 'model'?\n"
        "\n"
        "line 1, column 27: user_id takes a string, not a number\n"
        '  modle = "x" and user_id = 42\n'
        "                            ^^\n"
        '  hint: quote it: user_id = "42"',
    ),
    (
        'model like "100\\\\"',
        "line 1, column 12: the pattern ends in a lone backslash, which escapes nothing: ClickHouse refuses it\n"
        '  model like "100\\\\"\n'
        "             ^^^^^^^\n"
        "  hint: write two backslashes for a literal one (in filter text: four inside quotes)",
    ),
    (
        "model = '日本' and 모델 = 1",
        "line 1, column 18: unexpected character '모'; expected a condition such as "
        "user_cost > 5, 'not' or '('\n"
        "  model = '日本' and 모델 = 1\n"
        "                     ^^",
    ),
]


def test_there_are_at_least_twenty() -> None:
    assert len(MESSAGES) >= 20


@pytest.mark.parametrize(("text", "expected"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_message(text: str, expected: str) -> None:
    with pytest.raises(FilterError) as info:
        helicone_filter.compile(text)
    assert str(info.value) == expected


# Where people stumble: each hint shows the text that mends it.
STUMBLES = [
    (
        'model not like "%gpt%"',
        "line 1, column 7: Helicone has no 'not like'\n"
        '  model not like "%gpt%"\n'
        "        ^^^^^^^^\n"
        '  hint: for a substring test write model not contains "gpt" (Helicone\'s contains ignores case); a pattern cannot be negated',
    ),
    (
        'model NOT ILIKE "gpt%"',
        "line 1, column 7: Helicone has no 'not ilike'\n"
        '  model NOT ILIKE "gpt%"\n'
        "        ^^^^^^^^^\n"
        '  hint: for a substring test write model not contains "..." (Helicone\'s contains ignores case); a pattern cannot be negated',
    ),
    (
        "cost between 1 and 5 and cached",
        "line 1, column 6: unknown operator 'between'\n"
        "  cost between 1 and 5 and cached\n"
        "       ^^^^^^^^^^^^^^^\n"
        "  hint: write (cost >= 1 and cost <= 5): both ends included, as SQL's BETWEEN",
    ),
    (
        '{"users_view": {"user_cost": {"gt": 5}}}',
        "line 1, column 1: this looks like FilterNode JSON, not filter text; expected a condition such as user_cost > 5, 'not' or '('\n"
        '  {"users_view": {"user_cost": {"gt": 5}}}\n'
        "  ^\n"
        "  hint: compile reads filter text such as user_cost > 5; for FilterNode JSON use check(json.loads(text)) or normalize(...) in Python, or the command line's helicone-filter check or fmt, which read JSON",
    ),
    (
        '  [{"users_view": {}}]',
        "line 1, column 3: this looks like FilterNode JSON, not filter text; expected a condition such as user_cost > 5, 'not' or '('\n"
        '    [{"users_view": {}}]\n'
        "    ^\n"
        "  hint: compile reads filter text such as user_cost > 5; for FilterNode JSON use check(json.loads(text)) or normalize(...) in Python, or the command line's helicone-filter check or fmt, which read JSON",
    ),
    (
        "request_created_at > 2025-01-01",
        "line 1, column 22: unquoted timestamp '2025-01-01' where a value was expected\n"
        "  request_created_at > 2025-01-01\n"
        "                       ^^^^^^^^^^\n"
        '  hint: quote timestamps: "2025-01-01"',
    ),
    (
        'properties.my key = "x"',
        "line 1, column 12: unexpected 'key': a map key with a space cannot follow a dot\n"
        '  properties.my key = "x"\n'
        "             ^^^^^^\n"
        '  hint: put the key in brackets: properties["my key"]',
    ),
    (
        "model = 'it's'",
        "line 1, column 9: the ' in 'it's' ends the string it is in\n"
        "  model = 'it's'\n"
        "          ^^^^^^\n"
        "  hint: write \"it's\", or escape the quote: 'it\\'s'",
    ),
]


@pytest.mark.parametrize(("text", "expected"), STUMBLES, ids=[m[0] for m in STUMBLES])
def test_where_people_stumble(text: str, expected: str) -> None:
    with pytest.raises(FilterError) as e:
        helicone_filter.compile(text)
    assert str(e.value) == expected


@pytest.mark.parametrize("text", [m[0] for m in STUMBLES])
def test_a_stumble_is_one_error(text: str) -> None:
    from helicone_filter.api.diagnosis import diagnose

    assert len([d for d in diagnose(text) if d.severity == "error"]) == 1
