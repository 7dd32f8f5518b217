"""The OpenAI-compatible planner against a small real HTTP server on 127.0.0.1 that
speaks the chat-completions protocol (there is no LLM here, so the test double sits
at the network boundary; everything on our side of the socket is real)."""

from __future__ import annotations

import json

import pytest
from fake_llm_server import FakeLLM, reply

from app.guard import GuardRejection, check_sql
from app.planners.base import CannotPlan, Plan, reading_of
from app.planners.llm import LLMPlanner, parse_plan
from app.settings import load_settings

KEY = "sk-test-secret-123"
GOOD_SQL = "SELECT species, COUNT(*) AS n FROM penguins GROUP BY species ORDER BY species"


@pytest.fixture
def llm():
    fake = FakeLLM()
    yield fake
    fake.close()


def planner_for(fake: FakeLLM, timeout: float = 5.0) -> LLMPlanner:
    settings = load_settings(llm_base_url=fake.url, llm_model="test-model", llm_api_key=KEY,
                             llm_timeout_s=timeout)
    return LLMPlanner(settings)


async def test_good_plan(llm, catalog):
    llm.script.append((200, reply("sql", GOOD_SQL), 0))
    planner = planner_for(llm)
    plan = await planner.plan("How many penguins per species?", catalog, [])
    await planner.close()
    assert plan == Plan("sql", GOOD_SQL, "Counts per species.", "llm", None,
                        reading="Number of rows in penguins per species, ordered by species.")
    sent = llm.requests[0]
    assert sent["model"] == "test-model"
    system = sent["messages"][0]["content"]
    assert "penguins (344 rows)" in system and "lifeExp DOUBLE" in system and "Adelie" in system
    # every table and the declared keys, so the model joins along them
    assert "airports (1458 rows)" in system and "alt INTEGER" in system and "(unit: feet)" in system
    assert "join flights to airlines ON flights.carrier = airlines.carrier" in system
    assert ("join flights to weather ON flights.origin = weather.origin AND "
            "flights.time_hour = weather.time_hour") in system
    assert sent["messages"][-1] == {"role": "user", "content": "How many penguins per species?"}
    assert llm.headers[0]["Authorization"] == f"Bearer {KEY}"


async def test_fenced_json_with_prose(llm, catalog):
    llm.script.append((200, "Sure! Here is the plan:\n```json\n" + reply("sql", GOOD_SQL)
                       + "\n```\nHope it helps.", 0))
    planner = planner_for(llm)
    plan = await planner.plan("penguins per species", catalog, [])
    await planner.close()
    assert isinstance(plan, Plan) and plan.code == GOOD_SQL


def test_parse_plan_variants():
    assert parse_plan('{"language": "sql", "code": "SELECT 1"}')["code"] == "SELECT 1"
    assert parse_plan("```sql\nSELECT 2\n```") == {
        "language": "sql", "code": "SELECT 2", "explanation": ""}
    with pytest.raises(ValueError, match="no JSON object"):
        parse_plan("I cannot help with that.")


async def test_bad_plan_then_retry_with_the_error_succeeds(llm, catalog):
    llm.script.append((200, reply("sql", "ATTACH '/tmp/x.db'"), 0))
    llm.script.append((200, reply("sql", GOOD_SQL), 0))
    planner = planner_for(llm)
    first = await planner.plan("penguins per species", catalog, [])
    with pytest.raises(GuardRejection) as rejected:
        check_sql(first.code, catalog.names)
    second = await planner.revise("penguins per species", catalog, [], first,
                                  str(rejected.value))
    await planner.close()
    assert isinstance(second, Plan) and second.code == GOOD_SQL
    retry_messages = llm.requests[1]["messages"]
    assert "ATTACH" in retry_messages[-2]["content"]  # its own failed plan
    assert "found: ATTACH" in retry_messages[-1]["content"]  # and the guard's message


async def test_server_error_is_a_clear_message_without_the_key(llm, catalog):
    llm.script.append((500, json.dumps({"error": f"boom for key {KEY}"}), 0))
    planner = planner_for(llm)
    answer = await planner.plan("penguins per species", catalog, [], "penguins")
    await planner.close()
    assert isinstance(answer, CannotPlan)
    assert "answered HTTP 500" in answer.message and "127.0.0.1" in answer.message
    assert KEY not in answer.message
    assert answer.suggestions  # questions the offline catalog knows work


async def test_wrong_key_names_the_variable(llm, catalog):
    llm.script.append((401, json.dumps({"error": "invalid api key"}), 0))
    planner = planner_for(llm)
    answer = await planner.plan("penguins per species", catalog, [])
    await planner.close()
    assert isinstance(answer, CannotPlan) and "LLM_API_KEY" in answer.message


async def test_timeout_is_a_clear_message(llm, catalog, caplog):
    llm.script.append((200, reply("sql", GOOD_SQL), 2.0))
    planner = planner_for(llm, timeout=0.3)
    answer = await planner.plan("penguins per species", catalog, [])
    await planner.close()
    assert isinstance(answer, CannotPlan)
    assert "did not answer within 0.3 s (LLM_TIMEOUT_S)" in answer.message
    assert KEY not in caplog.text


async def test_unreachable_server_names_llm_base_url(catalog):
    settings = load_settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="m",
                             llm_api_key=KEY)
    planner = LLMPlanner(settings)
    answer = await planner.plan("penguins per species", catalog, [])
    await planner.close()
    assert isinstance(answer, CannotPlan) and "LLM_BASE_URL" in answer.message
    assert KEY not in answer.message


async def test_model_says_it_cannot(llm, catalog):
    llm.script.append((200, reply("none", "", "The datasets hold no weather data."), 0))
    planner = planner_for(llm)
    answer = await planner.plan("weather tomorrow?", catalog, [])
    await planner.close()
    assert isinstance(answer, CannotPlan)
    assert answer.message == "The datasets hold no weather data."


async def test_history_goes_into_the_prompt(llm, catalog):
    llm.script.append((200, reply("sql", GOOD_SQL), 0))
    history = [{"question": "How many penguins?", "plan": {
        "language": "sql", "code": "SELECT COUNT(*) FROM penguins", "explanation": "count",
        "planner": "llm"}}]
    planner = planner_for(llm)
    await planner.plan("and per species?", catalog, history)
    await planner.close()
    roles = [m["role"] for m in llm.requests[0]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert "SELECT COUNT(*) FROM penguins" in llm.requests[0]["messages"][2]["content"]


# The stand-in endpoint below is FakeLLM (a real HTTP server speaking the chat-completions
# protocol with a scripted reply): no real LLM is reachable on these machines, and the
# point here is what Corral does with a plan that ignores a condition, whoever wrote it.
IGNORES_GENTOO = "SELECT ROUND(AVG(body_mass_g), 2) AS m FROM penguins WHERE island = 'Biscoe'"


async def test_a_plan_that_ignores_a_condition_is_flagged_in_its_reading(llm, catalog):
    llm.script.append((200, reply("sql", IGNORES_GENTOO, "Average body mass on Biscoe."), 0))
    planner = planner_for(llm)
    question = "average body mass of gentoo penguins on biscoe"
    plan = await planner.plan(question, catalog, [])
    await planner.close()
    assert plan.reading == "Average of body_mass_g in penguins where island = 'Biscoe'."
    assert plan.unread == ("gentoo",)
    stored = plan.public()
    assert stored["unread"] == ["gentoo"]
    assert reading_of(stored) == (
        "Average of body_mass_g in penguins where island = 'Biscoe'. (in the llm planner's "
        "own words: Average body mass on Biscoe.) This plan does not use 'gentoo' of the "
        "question: check the answer before you trust it.")


async def test_a_plan_that_uses_every_condition_is_not_flagged(llm, catalog):
    covers = IGNORES_GENTOO + " AND species = 'Gentoo'"
    llm.script.append((200, reply("sql", covers, "Average body mass."), 0))
    planner = planner_for(llm)
    plan = await planner.plan("average body mass of gentoo penguins on biscoe", catalog, [])
    await planner.close()
    assert plan.unread == ()
    assert "does not use" not in reading_of(plan.public())
