"""The OpenAI-compatible planner: any /chat/completions endpoint (OpenAI, Ollama,
vLLM, llama.cpp server) writes the plan from the dataset schemas in the prompt.

Configuration: LLM_BASE_URL (e.g. http://localhost:11434/v1), LLM_MODEL,
LLM_API_KEY (optional for local servers), LLM_TIMEOUT_S. The key is sent only in
the Authorization header and never appears in messages or logs.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.catalog import Catalog, Key, Table
from app.planners.base import CannotPlan, Plan, Planner
from app.planners.coverage import sql_reading, unused_words
from app.planners.suggestions import suggestions_for
from app.settings import Settings

log = logging.getLogger("corral.planner.llm")

HISTORY_TURNS = 3
SAMPLE_VALUES = 8
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.DOTALL)

RULES = """Rules:
- Prefer SQL: exactly ONE read-only DuckDB query (SELECT, optionally WITH) over the views
  named above. Never use CREATE, INSERT, UPDATE, DELETE, COPY, ATTACH, PRAGMA, SET, INSTALL,
  LOAD or EXPORT, and never read files or URLs (no read_csv, read_parquet, glob, ...).
- Quote mixed-case column names with double quotes, e.g. "lifeExp".
- Round averages to 2 decimals, name computed columns clearly, order the rows usefully,
  and return at most {max_rows} rows.
- Use Python only when SQL cannot express the answer. In Python the datasets are pandas
  DataFrames with the same names (also pd, np, and sql(query) -> DataFrame); assign the
  final table (a DataFrame) to a variable named `result`. No network, no files.
Answer with one JSON object and nothing else:
{{"language": "sql" or "python", "code": "...", "explanation": "one short sentence"}}
If the datasets cannot answer the question, answer
{{"language": "none", "code": "", "explanation": "why, in one sentence"}}"""


def _table_lines(table: Table) -> list[str]:
    lines = [f"\n{table.name} ({table.row_count} rows): {table.description}"]
    for c in table.columns:
        line = f"  - {c.name} {c.type}"
        if c.description:
            line += f": {c.description}"
        if c.unit:
            line += f" (unit: {c.unit})"
        values = table.values.get(c.name)
        if values and c.is_text:
            shown = ", ".join(str(v) for v in values[:SAMPLE_VALUES])
            more = f", ... ({len(values)} values)" if len(values) > SAMPLE_VALUES else ""
            line += f" [values: {shown}{more}]"
        lines.append(line)
    if table.sample_rows:
        lines.append("  first row: " + json.dumps(table.sample_rows[0], default=str))
    return lines


def _key_line(key: Key) -> str:
    on = " AND ".join(f"{key.table}.{a} = {key.other}.{b}"
                      for a, b in zip(key.columns, key.other_columns, strict=True))
    return f"  - join {key.table} to {key.other} ON {on}"


def system_prompt(catalog: Catalog, max_rows: int) -> str:
    """The datasets as the model sees them: every table (a DuckDB view) with its columns,
    units and values, and the keys that join tables of one dataset."""
    parts = [("You turn questions about datasets into one small program that runs in a "
              "sandbox. The datasets are DuckDB views:")]
    for ds in catalog.datasets.values():
        if len(ds.tables) > 1:
            parts.append(f"\nDataset {ds.name} ({ds.title}): tables "
                         + ", ".join(t.name for t in ds.tables))
        for table in ds.tables:
            parts.extend(_table_lines(table))
        if ds.keys:
            parts.append(f"Keys of {ds.name} (join only along these):")
            parts.extend(_key_line(k) for k in ds.keys)
    parts.append("\n" + RULES.format(max_rows=max_rows))
    return "\n".join(parts)


def parse_plan(content: str) -> dict[str, Any]:
    """The plan object from a model's reply: bare JSON, JSON in a code fence, JSON
    after some prose, or (last resort) a lone ```sql fence."""
    text = content.strip()
    candidates = [text] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                obj, _ = json.JSONDecoder().raw_decode(candidate[start:])
            except ValueError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(obj, dict) and "code" in obj:
                return obj
            start = candidate.find("{", start + 1)
    sql = re.search(r"```sql\s*\n?(.*?)```", text, re.DOTALL | re.IGNORECASE)
    if sql:
        return {"language": "sql", "code": sql.group(1).strip(), "explanation": ""}
    raise ValueError("the model's answer holds no JSON object with language and code")


class LLMError(Exception):
    """The model could not be asked or answered nonsense; the message is for a person."""


class LLMPlanner(Planner):
    name = "llm"

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.url = settings.llm_base_url.rstrip("/") + "/chat/completions"
        self.where = urlsplit(settings.llm_base_url).netloc or settings.llm_base_url
        headers = {"Content-Type": "application/json"}
        if settings.llm_api_key:
            headers["Authorization"] = f"Bearer {settings.llm_api_key}"
        self.client = httpx.AsyncClient(
            headers=headers, timeout=settings.llm_timeout_s, transport=transport
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def plan(
        self, question: str, catalog: Catalog, history: list[dict[str, Any]],
        dataset: str | None = None,
    ) -> Plan | CannotPlan:
        planned = await self._ask(self._messages(question, catalog, history, dataset), catalog,
                                  dataset)
        return self._read(planned, question, catalog, history, dataset)

    async def revise(
        self, question: str, catalog: Catalog, history: list[dict[str, Any]],
        previous: Plan, error: str, dataset: str | None = None,
    ) -> Plan | CannotPlan | None:
        messages = self._messages(question, catalog, history, dataset)
        messages.append({"role": "assistant", "content": json.dumps(
            {"language": previous.language, "code": previous.code,
             "explanation": previous.explanation})})
        messages.append({"role": "user", "content": (
            f"That plan failed: {error}\nFix it. Answer with the JSON object only.")})
        planned = await self._ask(messages, catalog, dataset)
        if not isinstance(planned, Plan):
            return None
        return self._read(planned, question, catalog, history, dataset)

    def _messages(
        self, question: str, catalog: Catalog, history: list[dict[str, Any]],
        dataset: str | None,
    ) -> list[dict[str, str]]:
        messages = [{"role": "system",
                     "content": system_prompt(catalog, self.settings.max_rows)}]
        for answer in history[-HISTORY_TURNS:]:
            plan = answer.get("plan")
            if not plan:
                continue
            messages.append({"role": "user", "content": answer["question"]})
            messages.append({"role": "assistant", "content": json.dumps(
                {k: plan.get(k) for k in ("language", "code", "explanation")})})
        if dataset:
            question = f"{question}\n(The person picked the dataset {dataset}.)"
        messages.append({"role": "user", "content": question})
        return messages

    async def _ask(
        self, messages: list[dict[str, str]], catalog: Catalog, dataset: str | None
    ) -> Plan | CannotPlan:
        try:
            content = await self._complete(messages)
            data = parse_plan(content)
        except (LLMError, ValueError) as exc:
            log.warning("LLM planner: %s", exc)
            return CannotPlan(str(exc), suggestions_for(catalog, dataset))
        language = str(data.get("language", "sql")).lower()
        code = str(data.get("code") or "").strip()
        explanation = str(data.get("explanation") or "").strip()
        if language == "none" or not code:
            return CannotPlan(
                explanation or "The model says the datasets cannot answer this question.",
                suggestions_for(catalog, dataset),
            )
        if language not in ("sql", "python"):
            return CannotPlan(
                f"The model answered in {language!r}; only sql and python can run.",
                suggestions_for(catalog, dataset),
            )
        return Plan(language, code, explanation or "Plan written by the language model.", "llm",
                    dataset)

    def _read(self, planned: Plan | CannotPlan, question: str, catalog: Catalog,
                    history: list[dict[str, Any]], dataset: str | None) -> Plan | CannotPlan:
        """The plan with its reading written from its code, and the question's words it
        does not use (app/planners/coverage.py): the honesty rule, applied as a flag."""
        if not isinstance(planned, Plan):
            return planned
        reading = sql_reading(planned.code) if planned.language == "sql" else None
        unread = unused_words(question, planned.code, catalog, dataset, history)
        return replace(planned, reading=reading, unread=tuple(unread))

    async def _complete(self, messages: list[dict[str, str]]) -> str:
        body = {"model": self.settings.llm_model, "messages": messages, "temperature": 0}
        try:
            response = await self.client.post(self.url, json=body)
        except httpx.TimeoutException:
            raise LLMError(
                f"The language model at {self.where} did not answer within "
                f"{self.settings.llm_timeout_s:g} s (LLM_TIMEOUT_S); try again or use a "
                "faster model."
            ) from None
        except httpx.HTTPError as exc:
            raise LLMError(
                f"Could not reach the language model at {self.where} "
                f"({type(exc).__name__}); check LLM_BASE_URL."
            ) from None
        if response.status_code in (401, 403):
            raise LLMError(
                f"The language model at {self.where} refused the request "
                f"(HTTP {response.status_code}); check LLM_API_KEY."
            )
        if response.status_code >= 400:
            raise LLMError(
                f"The language model at {self.where} answered HTTP {response.status_code}: "
                f"{self._redact(response.text[:200])}"
            )
        try:
            return response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError(
                f"The language model at {self.where} answered something that is not a "
                "chat completion; check LLM_BASE_URL (it usually ends in /v1)."
            ) from None

    def _redact(self, text: str) -> str:
        key = self.settings.llm_api_key
        return text.replace(key, "***") if key else text
