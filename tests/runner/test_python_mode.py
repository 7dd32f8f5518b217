"""Python mode of the real runner: datasets at hand, `result` shapes, errors and limits."""

from __future__ import annotations


def test_groupby_result_is_the_table(python):
    result = python("result = penguins.groupby('species')['body_mass_g'].count()")
    assert result["status"] == "ok", result["error"]
    assert result["columns"] == [{"name": "species", "type": "VARCHAR"},
                                 {"name": "body_mass_g", "type": "BIGINT"}]
    assert result["rows"] == [["Adelie", 151], ["Chinstrap", 68], ["Gentoo", 123]]


def test_datasets_load_only_when_used(python):
    result = python("n = len(gapminder)\nresult = {'n': n, 'loaded': ','.join(datasets._loaded)}")
    assert result["rows"] == [[1704, "gapminder"]]


def test_flights_through_the_mapping_and_sql_helper(python):
    result = python(
        "a = len(datasets['flights'])\n"
        "b = sql('SELECT count(*) AS n FROM flights')['n'][0]\n"
        "result = [{'a': a, 'b': int(b)}]"
    )
    assert result["rows"] == [[336776, 336776]]


def test_timestamps_come_back_iso(python):
    result = python("result = flights[['time_hour']].head(1)")
    assert result["columns"] == [{"name": "time_hour", "type": "TIMESTAMP"}]
    assert result["rows"] == [["2013-01-01T05:00:00"]]


def test_result_shapes(python):
    assert python("result = 42")["rows"] == [[42]]
    assert python("result = 42")["columns"] == [{"name": "result", "type": "BIGINT"}]
    assert python("result = {'a': [1, 2], 'b': ['x', None]}")["rows"] == [[1, "x"], [2, None]]
    assert python("result = [{'a': 1.5}, {'a': float('nan')}]")["rows"] == [[1.5], [None]]
    assert python("result = {'a': 1, 'b': 'x'}")["rows"] == [[1, "x"]]


def test_truncated_in_python(python):
    result = python("result = gapminder", max_rows=10)
    assert result["row_count"] == 10 and result["truncated"] is True


def test_missing_result_says_to_assign_it(python):
    result = python("x = penguins.head()")
    assert result["status"] == "error"
    assert result["error"]["type"] == "no_result"
    assert "assign" in result["error"]["message"] and "`result`" in result["error"]["message"]


def test_result_that_is_not_a_table(python):
    result = python("result = lambda: 1")
    assert result["error"]["type"] == "no_result"
    assert "function" in result["error"]["message"]


def test_exception_names_type_message_and_user_line(python):
    result = python("x = 1\n\ndef f():\n    return penguins['no_such_column']\nresult = f()")
    error = result["error"]
    assert result["status"] == "error" and error["type"] == "python_error"
    assert error["message"].startswith("KeyError: ")
    assert "no_such_column" in error["message"]
    assert "line 4" in error["message"]
    assert "runner/" not in error["message"] and "Traceback" not in error["message"]


def test_syntax_error_names_the_line(python):
    result = python("a = 1\nresult = (a +\n")
    assert result["error"]["type"] == "python_error"
    assert result["error"]["message"].startswith("SyntaxError")
    assert "line 2" in result["error"]["message"]


def test_prints_never_reach_stdout(python):
    # conftest asserts stdout is exactly one JSON line
    result = python(
        "import os, subprocess, sys\n"
        "print('hello')\n"
        "os.write(1, b'garbage on fd 1')\n"
        "sys.__stdout__.write('more garbage')\n"
        "subprocess.run(['echo', 'from a child'])\n"
        "for _ in range(20000): print('x' * 100)\n"
        "result = 1"
    )
    assert result["status"] == "ok" and result["rows"] == [[1]]
    assert result["stdout"].startswith("hello\n")
    assert len(result["stdout"]) < 70 * 1024 and "not kept" in result["stdout"]


def test_sql_helper_is_locked_too(python):
    result = python("result = sql(\"SELECT * FROM read_csv('/etc/passwd')\")")
    assert result["error"]["type"] == "not_allowed"
    result = python("result = sql(\"COPY penguins TO '/tmp/x.csv'\")")
    assert result["error"]["type"] == "not_allowed"


def test_cpu_spin_times_out(python):
    result = python("while True:\n    pass", timeout_ms=500)
    assert result["status"] == "timeout" and result["error"]["type"] == "timeout"


def test_timeout_cannot_be_swallowed(python):
    code = (
        "import time\n"
        "while True:\n"
        "    try:\n"
        "        time.sleep(60)\n"
        "    except BaseException:\n"
        "        pass\n"
    )
    result = python(code, timeout_ms=300)
    assert result["status"] == "timeout"


def test_memory_error_is_oom(python):
    result = python("big = bytearray(10 ** 14)\nresult = 1")
    assert result["status"] == "oom" and result["error"]["type"] == "oom"


def test_output_cap(python):
    result = python("result = flights.head(3000)", max_rows=3000, max_output_bytes=100_000)
    assert result["status"] == "output_limit"
    assert "100000" in result["error"]["message"]


def test_exit_is_reported(python):
    result = python("import sys\nsys.exit(3)")
    assert result["error"]["type"] == "python_error" and "exit" in result["error"]["message"]
