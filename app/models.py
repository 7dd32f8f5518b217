"""The HTTP API's request and response bodies: every route declares one of these, so
the OpenAPI document (and docs/api.md, generated from it) describes every answer.

Text inputs share one rule: valid Unicode with no NUL character. A lone surrogate
(`"\\ud800"` escaped in JSON) or a NUL cannot be stored faithfully (PostgreSQL
refuses NUL in text; UTF-8 has no encoding for a lone surrogate), so both are refused
with 422 naming the field. The NUL rule is also a schema pattern; the surrogate rule
cannot be (see TEXT_PATTERN) and is stated in docs/api.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.settings import Settings

ID_PATTERN = r"^[0-9a-f]{32}$"
# Text without NUL. Lone surrogates are refused too, but not by pattern: generators
# such as schemathesis drop a pattern that names the surrogate block.
TEXT_PATTERN = r"^[^\x00]*$"
# The question must also hold at least one character that is not white space.
QUESTION_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
QUESTION_MAX = 2000
CODE_MAX = 100000
# MAX_ROWS's own upper bound, read from the settings so it is declared once; the live
# schema narrows it to this server's MAX_ROWS (app/api/openapi.py).
MAX_ROWS_CAP: int = next(m.le for m in Settings.model_fields["max_rows"].metadata
                         if hasattr(m, "le"))


def _valid_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character (\\u0000)")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("must be valid Unicode: a lone surrogate (\\ud800-\\udfff) is not text")
    return value


def _question(value: str) -> str:
    value = _valid_text(value).strip()
    if not value:
        raise ValueError("must contain a character that is not white space")
    return value


def _json_integer(value: object) -> object:
    # JSON Schema counts 22.0 as an integer, so it is one here too; strict mode then
    # refuses every other non-integer (true, "5", 2.5).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


RowCount = Annotated[int, Field(ge=1, le=MAX_ROWS_CAP), BeforeValidator(_json_integer)]
DatasetName = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={
    "pattern": TEXT_PATTERN}), AfterValidator(_valid_text)]


class Strict(BaseModel):
    """Request bodies: no coercion (`true` is not the integer 1, `"5"` is not 5)."""

    model_config = ConfigDict(strict=True)


class ChatRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"question": "What is the average body mass of penguins by species?"},
        {"question": "Top 5 destinations by number of flights", "dataset": "flights"},
    ]})

    question: Annotated[
        str,
        Field(min_length=1, max_length=QUESTION_MAX, json_schema_extra={
            "pattern": QUESTION_PATTERN}, description="The analyst's question; leading and "
            "trailing white space is dropped."),
        AfterValidator(_question),
    ]
    conversation_id: Annotated[str | None, Field(
        pattern=ID_PATTERN, description="Continue this conversation; omit to start one.")] = None
    dataset: Annotated[DatasetName | None, Field(
        description="The dataset the analyst picked (one of GET /api/datasets).")] = None


class QueryRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"language": "sql", "code": "SELECT island, COUNT(*) AS n FROM penguins GROUP BY 1"},
        {"language": "python", "max_rows": 5,
         "code": "result = gapminder[gapminder.year == 2007].nlargest(5, 'lifeExp')"},
    ]})

    language: Literal["sql", "python"]
    code: Annotated[str, Field(min_length=1, max_length=CODE_MAX, json_schema_extra={
        "pattern": TEXT_PATTERN}), AfterValidator(_valid_text)]
    max_rows: Annotated[RowCount | None, Field(
        description="Rows to return at most (default and upper bound: the server's MAX_ROWS)."
    )] = None


class EditedRun(Strict):
    """Code of an answer, edited by the person, to run again (the guard still decides)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "SELECT species, COUNT(*) AS n FROM penguins GROUP BY 1",
         "message_id": "0123456789abcdef0123456789abcdef"},
    ]})

    language: Literal["sql", "python"] = "sql"
    code: Annotated[str, Field(min_length=1, max_length=CODE_MAX, json_schema_extra={
        "pattern": TEXT_PATTERN}), AfterValidator(_valid_text)]
    message_id: Annotated[str | None, Field(
        pattern=ID_PATTERN, description="The answer whose code was edited (its question "
        "names the new answer); omit for code of one's own.")] = None


# --- errors ---------------------------------------------------------------------------


class ErrorMessage(BaseModel):
    """Every error except validation: one sentence a person can act on."""

    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="Where: body/path/query, then the field.")
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationFailed(BaseModel):
    """422: one entry per bad field."""

    detail: list[ValidationIssue]


# --- probes -----------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    executor: str
    isolation: str | None = Field(None, description="Present only when an operator opted in "
                                  "to isolation weaker than intended; says how it is weaker.")


class Unavailable(BaseModel):
    status: Literal["unavailable"]
    executor: str
    detail: str = Field(description="What is down and how to bring it back.")


# --- datasets ---------------------------------------------------------------------------


class ColumnType(BaseModel):
    name: str
    type: str = Field(description="DuckDB type name, e.g. VARCHAR, BIGINT, DOUBLE, DATE")


class DatasetColumn(ColumnType):
    description: str


class Sample(BaseModel):
    columns: list[ColumnType]
    rows: list[list[Any]]


class DatasetTable(BaseModel):
    name: str
    description: str
    row_count: int = Field(ge=0)
    columns: list[DatasetColumn]


class DatasetKey(BaseModel):
    """Columns of one table that join to columns of another (`table.column` each)."""

    from_: list[str] = Field(alias="from")
    to: list[str]


class Dataset(BaseModel):
    name: str
    title: str
    description: str
    row_count: int = Field(ge=0, description="Rows of the main (first) table.")
    license: str
    columns: list[DatasetColumn] = Field(description="The main table's columns.")
    sample: Sample = Field(description="The first rows of the main table.")
    tables: list[DatasetTable] = Field(description="Every table of the dataset, main first.")
    keys: list[DatasetKey] = Field(description="Declared joins between the tables.")


class Suggestion(BaseModel):
    dataset: str
    question: str


# --- runs and answers -------------------------------------------------------------------


class RunError(BaseModel):
    type: Literal[
        "invalid_request", "sql_error", "python_error", "no_result", "not_allowed",
        "timeout", "oom", "output_limit", "crashed", "sandbox_unavailable", "rejected",
    ]
    message: str


class RunResult(BaseModel):
    """A runner result (runner/schema.json #/$defs/result): the server checks each one
    against that schema before it answers, so this model only describes it."""

    version: Literal[1]
    run_id: str
    status: Literal["ok", "error", "timeout", "oom", "output_limit", "crashed",
                    "unavailable", "rejected"]
    columns: list[ColumnType]
    rows: list[list[Any]]
    row_count: int = Field(ge=0, description="Rows in this result (after the max_rows cap).")
    truncated: bool = Field(description="True when the query had more than max_rows rows.")
    elapsed_ms: int = Field(ge=0)
    error: RunError | None
    # Absent (never null) when nothing was printed: the default is left out of answers.
    stdout: str = Field(None, description="What Python code printed (first 64 KiB); "  # type: ignore[assignment]
                        "absent when nothing was printed.")


class PlanOut(BaseModel):
    language: Literal["sql", "python"]
    code: str
    explanation: str
    planner: str = Field(description="offline, llm, or edited (code the person edited "
                         "and ran again through the guard)")


class ClarifyChoice(BaseModel):
    label: str = Field(description="What the choice means, as the data writes it: "
                       "species = 'Gentoo'.")
    question: str = Field(description="The question to ask when it is chosen.")


class Clarification(BaseModel):
    """The planner asks back instead of guessing."""

    question: str = Field(description="Did you mean species = 'Gentoo'?")
    choices: list[ClarifyChoice] = Field(description="Each is answered when asked.")


class Answer(BaseModel):
    id: str
    conversation_id: str
    question: str
    created_at: str = Field(description="ISO 8601, UTC")
    plan: PlanOut | None = Field(description="null when the planner could not plan")
    result: RunResult | None = Field(description="null when nothing ran")
    message: str = Field(description="One line for the chat bubble; when the planner cannot "
                         "answer it says so and lists questions it can answer.")
    reading: str | None = Field(None, description="What the planner understood, in plain "
                                "words, written from the plan (its filters, groups and "
                                "measures), not from the question; null when nothing was "
                                "planned.")
    unread: list[str] = Field([], description="Values, columns or numbers of the question "
                              "that a plan read from its code (an LLM's) does not use; the "
                              "reading says so too. Empty when every one is used.")
    suggestions: list[str]
    clarify: Clarification | None = Field(None, description="When the planner did not "
                                          "read every word: its question back, with "
                                          "choices; null otherwise.")
    follow_ups: list[str] = Field([], description="Questions to ask next, each one the "
                                  "planner answers in this conversation (\"and for "
                                  "1952?\" refers to this answer).")


# --- conversations ----------------------------------------------------------------------


class ConversationSummary(BaseModel):
    id: str
    title: str
    created_at: str
    updated_at: str
    message_count: int = Field(ge=0)


class Conversation(BaseModel):
    id: str
    title: str
    created_at: str
    updated_at: str
    messages: list[Answer]


# --- identity (README "Users and sign-in") ------------------------------------------------

USERNAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,63}$"  # as app/auth/users.py
PASSWORD_MIN = 12  # as app/auth/passwords.py
PASSWORD_MAX = 1024
Username = Annotated[str, Field(pattern=USERNAME_PATTERN, min_length=1, max_length=64)]
NewPassword = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX,
                                   json_schema_extra={"pattern": TEXT_PATTERN}),
                        AfterValidator(_valid_text)]
Role = Literal["analyst", "admin"]
Scope = Literal["query", "admin"]


class AuthConfig(BaseModel):
    """What the sign-in page needs to know before anyone is signed in."""

    modes: list[Literal["local", "oidc", "proxy"]] = Field(
        description="AUTH_MODE; empty when sign-in is off (AUTH_MODE=none).")
    setup_required: bool = Field(description="No admin yet: create one with a setup code "
                                 "(`corral setup-code`) and POST /api/auth/setup.")
    oidc_login_url: str | None


class LoginRequest(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64,
                                   json_schema_extra={"pattern": TEXT_PATTERN}),
                        AfterValidator(_valid_text)]
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX,
                                   json_schema_extra={"pattern": TEXT_PATTERN}),
                        AfterValidator(_valid_text)]


class SetupRequest(Strict):
    code: Annotated[str, Field(min_length=1, max_length=200,
                               json_schema_extra={"pattern": TEXT_PATTERN}),
                    AfterValidator(_valid_text)]
    username: Username
    password: NewPassword


class Me(BaseModel):
    """Who is signed in. `csrf_token` goes in X-CSRF-Token on every POST, PATCH and
    DELETE made with the session cookie; null for token requests (they need none)."""

    id: str | None = Field(description="null only with AUTH_MODE=none")
    username: str
    display_name: str
    role: Role
    source: Literal["local", "oidc", "proxy", "none"] = Field(
        description="Where the account comes from (none: AUTH_MODE=none).")
    csrf_token: str | None


class LogoutAnswer(BaseModel):
    redirect: str | None = Field(description="Where the browser goes next to end the identity "
                                 "provider's session too (OIDC); null otherwise.")


class TokenRequest(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100,
                               json_schema_extra={"pattern": QUESTION_PATTERN}),
                    AfterValidator(_question)]
    scope: Scope = "query"
    expires_in_days: Annotated[int, Field(ge=1, le=3650,
                                          description="At most API_TOKEN_MAX_DAYS."),
                               BeforeValidator(_json_integer)] = 90
    username: Username | None = Field(None, description="Admins only: whose token it is "
                                      "(default: your own).")


class TokenOut(BaseModel):
    id: str
    name: str
    username: str
    scope: Scope
    prefix: str = Field(description="The first 8 characters after `crl_`, to recognise it.")
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedToken(TokenOut):
    token: str = Field(description="The secret, shown this once only: "
                       "`Authorization: Bearer <token>`.")


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    email: str | None
    role: Role
    source: Literal["local", "oidc", "proxy"]
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(Strict):
    username: Username
    role: Role = "analyst"
    password: NewPassword


class UserPatch(Strict):
    role: Role | None = None
    disabled: bool | None = None
    password: NewPassword | None = None


class AuditRow(BaseModel):
    run_id: str
    created_at: str
    username: str | None = Field(description="null: a run from before sign-in existed, "
                                 "or with AUTH_MODE=none")
    question: str | None = Field(description="null for /api/query runs (code as written)")
    language: str
    code: str
    status: str
    error_type: str | None
    duration_ms: int
    row_count: int
    executor: str
