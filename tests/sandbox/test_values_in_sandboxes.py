"""The value rule of runner/table.py and the column cap, in each real sandbox: what the
runner image (docker) and the host runner (bwrap) answer is the same JSON."""

from __future__ import annotations

from sandbox_helpers import run, table

AWKWARD = """
import decimal, datetime
result = {
    'nan': float('nan'), 'inf': float('inf'), 'complex': 1+2j, 'bytes': b'\\x01',
    'surrogate': 'a\\ud800b', 'nested': [{'k': float('-inf')}], 'dec': decimal.Decimal('2.5'),
    'big': 2**80, 'when': datetime.date(2020, 1, 2), 'np': np.int16(7),
}
"""


async def test_awkward_values_come_back_by_the_rule(sandbox):
    assert table(await run(sandbox, AWKWARD)) == {
        "nan": None, "inf": None, "complex": "(1+2j)", "bytes": "01", "surrogate": "a\ufffdb",
        "nested": '{"k": null}', "dec": 2.5, "big": "1208925819614629174706176",
        "when": "2020-01-02", "np": 7,
    }


async def test_a_lying_subclass_is_counted_by_the_runner(sandbox):
    code = ("class D(pd.DataFrame):\n  def __len__(self): return 0\n"
            "  def head(self, n=5): return pd.DataFrame({'a': range(10**4)})\n"
            "result = D({'a': range(300)})")
    result = await run(sandbox, code, max_rows=100)
    assert (result["status"], result["row_count"], len(result["rows"]), result["truncated"]) == (
        "ok", 100, 100, True)


async def test_thousands_of_columns_are_refused_not_oom(sandbox):
    result = await run(sandbox, "result = pd.DataFrame(np.zeros((1000, 5000)))", max_columns=500)
    assert result["status"] == "error" and "5000 columns" in result["error"]["message"]
