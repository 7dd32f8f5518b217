"""Every value type a Python result can hold is converted or refused by the rule in
runner/table.py, the table is counted on the runner's own copy, and width is capped."""

from __future__ import annotations

import pytest

CONVERTED = [
    ("[float('nan'), float('inf'), -float('inf')]", "DOUBLE", [None, None, None]),
    ("[1+2j, 3j]", "VARCHAR", ["(1+2j)", "3j"]),
    ("[np.complex128(1-1j)]", "VARCHAR", ["(1-1j)"]),
    ("[b'\\x00\\xff', bytearray(b'ab')]", "VARCHAR", ["00ff", "6162"]),
    ("['\\ud800x', 'ok']", "VARCHAR", ["\ufffdx", "ok"]),
    ("[{'x': 1, 'y': [1, float('nan')]}, [1, {2, 3}][:1]]", "VARCHAR",
     ['{"x": 1, "y": [1, null]}', "[1]"]),
    (("[__import__('decimal').Decimal('1.5'), __import__('decimal').Decimal('NaN'),"
     " __import__('decimal').Decimal('1e999')]"), "DOUBLE", [1.5, None, None]),
    ("[__import__('datetime').date(2024, 2, 29)]", "DATE", ["2024-02-29"]),
    ("[__import__('datetime').timedelta(days=1, hours=2)]", "INTERVAL", ["P1DT2H0M0S"]),
    ("[2**70, 1]", "VARCHAR", ["1180591620717411303424", "1"]),
    ("[np.int8(3), np.int64(4)]", "INTEGER", [3, 4]),
    ("[np.float32(0.5), np.nan]", "DOUBLE", [0.5, None]),
    ("[pd.NaT, pd.Timestamp('2024-01-01 10:00')]", "TIMESTAMP", [None, "2024-01-01T10:00:00"]),
    ("[pd.NA, 1]", "INTEGER", [None, 1]),
    ("[1, 'one', None]", "VARCHAR", ["1", "one", None]),
    ("[pd.Period('2024-01', 'M'), pd.Interval(0, 1)]", "VARCHAR", ["2024-01", "(0, 1]"]),
    ("[type('Odd', (), {'__str__': lambda self: 'odd!'})()]", "VARCHAR", ["odd!"]),
    ("[type('Bad', (), {'__str__': lambda self: 1/0})()]", "VARCHAR", ["<Bad object>"]),
]


@pytest.mark.parametrize("values, kind, cells", CONVERTED, ids=[c[0][:40] for c in CONVERTED])
def test_each_value_type_becomes_a_json_scalar(python, values, kind, cells):
    result = python(f"result = pd.DataFrame({{'v': pd.Series({values}, dtype=object)}})")
    assert result["status"] == "ok", result["error"]
    assert result["columns"] == [{"name": "v", "type": kind}]
    assert [row[0] for row in result["rows"]] == cells


def test_numpy_complex_column_and_bytes_column(python):
    result = python("result = pd.DataFrame({'c': np.array([1+1j]), 'b': np.array([b'hi'])})")
    assert result["rows"] == [["(1+1j)", "6869"]]


def test_surrogates_in_column_names_and_deep_nesting(python):
    result = python("x = []\nfor _ in range(100): x = [x]\n"
                    "result = {'\\udcff name': [x]}")
    assert result["status"] == "ok"
    assert result["columns"][0]["name"] == "\ufffd name"
    assert "nested deeper than 32 levels" in result["rows"][0][0]


def test_huge_text_and_names_are_cut_with_a_note(python):
    result = python("result = {'n' * 1000: ['x' * 200_000]}", max_output_bytes=1024 * 1024)
    assert len(result["columns"][0]["name"]) <= 256
    assert result["rows"][0][0].endswith("more characters]")


LIARS = [
    # __len__ and head() that disagree with the data
    ("class D(pd.DataFrame):\n  def __len__(self): return 1\n"
    "  def head(self, n=5): return pd.DataFrame({'a': range(5000)})\n"
    "result = D({'a': range(300)})"),
    # iloc and shape that lie
    ("class D(pd.DataFrame):\n  @property\n  def shape(self): return (1, 1)\n"
    "  @property\n  def iloc(self): raise RuntimeError('no')\nresult = D({'a': range(300)})"),
    # a list that says it is short
    "class L(list):\n  def __len__(self): return 1\nresult = L(range(300))",
    # a Series subclass
    "class S(pd.Series):\n  def __len__(self): return 0\nresult = S(range(300), name='a')",
]


@pytest.mark.parametrize("code", LIARS, ids=["head", "iloc-shape", "list", "series"])
def test_row_count_and_truncation_come_from_the_runners_copy(python, code):
    result = python(code, max_rows=200)
    assert result["status"] == "ok", result["error"]
    assert result["row_count"] == len(result["rows"]) == 200
    assert result["truncated"] is True
    assert [r[0] for r in result["rows"]] == list(range(200))


def test_exactly_max_rows_is_not_truncated(python):
    result = python("class L(list):\n  def __len__(self): return 10**6\nresult = L(range(200))",
                    max_rows=200)
    assert (result["row_count"], result["truncated"]) == (200, False)


@pytest.mark.parametrize("code", [
    "result = pd.DataFrame([[1] * 3000])",
    "result = [{f'c{i}': i for i in range(3000)}]",
    "result = np.zeros((2, 3000))",
])
def test_a_wide_result_is_refused_by_name_of_the_setting(python, code):
    result = python(code, max_columns=500)
    assert result["status"] == "error" and result["error"]["type"] == "no_result"
    assert "3000 columns" in result["error"]["message"]
    assert "MAX_COLUMNS" in result["error"]["message"]


def test_the_width_cap_counts_the_index_too(python):
    assert python("result = pd.DataFrame({'a': [1], 'b': [2]}).set_index('a')",
                  max_columns=1)["status"] == "error"
    assert python("result = pd.DataFrame({'a': [1], 'b': [2]})", max_columns=2)["status"] == "ok"


def test_sql_width_is_capped_before_rows_are_fetched(sql):
    cols = ", ".join(f"{i} AS c{i}" for i in range(600))
    result = sql(f"SELECT {cols}", max_columns=500)
    assert result["status"] == "error" and "600 columns" in result["error"]["message"]


def test_an_object_that_cannot_be_read_is_a_clear_error(python):
    code = ("class D(pd.DataFrame):\n  pass\nd = D({'a': [1]})\n"
            "object.__setattr__(d, '_mgr', None)\nresult = d")
    result = python(code)
    assert result["status"] == "error" and result["error"]["type"] == "no_result"
    assert "could not be read as a table" in result["error"]["message"]


def test_a_huge_exception_message_is_cut(python):
    result = python("raise ValueError('x' * 100_000)")
    assert result["error"]["type"] == "python_error"
    assert len(result["error"]["message"]) <= 2000
